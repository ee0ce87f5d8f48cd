"""Self-organizing maps for scikit-learn."""

from ._som import SelfOrganizingMap

__all__ = ["SelfOrganizingMap"]
__version__ = "0.1.0"
