"""Where the examples save their figures: $SKLEARN_SOM_OUTPUT or examples/output/."""

import os
from pathlib import Path


def output_path(name):
    folder = Path(os.environ.get("SKLEARN_SOM_OUTPUT", Path(__file__).parent / "output"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name
