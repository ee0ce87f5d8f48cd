"""Self-organizing maps for scikit-learn.

:class:`SelfOrganizingMap` is the estimator; :class:`Grid` is the geometry of
a map (unit coordinates, grid distances, neighbours) that training, the
metrics and the plots share. Quality measures live in
:mod:`sklearn_som.metrics`, pictures in :mod:`sklearn_som.plotting`.
"""

from ._grid import Grid
from ._som import SelfOrganizingMap

__all__ = ["Grid", "SelfOrganizingMap"]
__version__ = "0.1.0"
