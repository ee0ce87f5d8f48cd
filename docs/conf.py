"""Sphinx configuration: builds offline, warnings are errors (see README)."""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "examples"))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("SKLEARN_SOM_OUTPUT", str(HERE / "_build" / "example_output"))

import sklearn_som  # noqa: E402

project = "sklearn_som"
author = "the sklearn_som developers"
release = version = sklearn_som.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    # scikit-learn's metadata-routing setters link into its own glossary.
    "exclude-members": "set_fit_request, set_partial_fit_request, set_score_request",
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
plot_include_source = True
plot_html_show_source_link = False
plot_formats = [("png", 90)]
exclude_patterns = ["_build", "images"]
html_theme = "alabaster"
html_static_path = []

_shared_data = HERE.parents[1] / "shared" / "data" / "credit_card_applications.csv"
sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # The fraud example reads ../shared/data; without it the gallery leaves it out.
    "ignore_pattern": r"_paths\.py" + ("" if _shared_data.exists() else r"|plot_fraud_detection"),
    "download_all_examples": False,
    "abort_on_example_error": True,
    "reset_modules": ("matplotlib",),
}
