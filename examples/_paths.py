"""Paths of the examples: where figures go, and the project's shared data.

Figures go to ``$SKLEARN_SOM_OUTPUT``, or ``examples/output/`` by default.
Shared data sit in ``../shared/data`` beside the repository.
"""

import os
from pathlib import Path

_EXAMPLES = Path(__file__).resolve().parent


def output_path(name):
    folder = Path(os.environ.get("SKLEARN_SOM_OUTPUT", _EXAMPLES / "output"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def shared_data_path(name):
    return _EXAMPLES.parents[1] / "shared" / "data" / name
