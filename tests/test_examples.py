"""Every example runs headless and writes its figures."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SHARED_DATA = EXAMPLES.parents[1] / "shared" / "data" / "credit_card_applications.csv"

FIGURES = {
    "plot_iris_digits.py": ["iris_map.png", "iris_component_planes.png", "digits_map.png"],
    "plot_colour_map.py": ["colour_map.png", "colour_map_learning_rate_sigma.png"],
    "plot_fraud_detection.py": ["fraud_detection.png"],
    "plot_grid_search.py": ["grid_search.png"],
    "plot_streaming.py": ["streaming_hit_map.png"],
}


def test_every_example_is_listed():
    assert sorted(p.name for p in EXAMPLES.glob("plot_*.py")) == sorted(FIGURES)


@pytest.mark.parametrize("script", sorted(FIGURES))
def test_example_runs_and_saves_its_figures(script, tmp_path):
    if script == "plot_fraud_detection.py" and not SHARED_DATA.exists():
        pytest.skip("the shared data folder is not beside the project")
    env = dict(os.environ, MPLBACKEND="Agg", SKLEARN_SOM_OUTPUT=str(tmp_path))
    result = subprocess.run(
        [sys.executable, script],
        cwd=EXAMPLES,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    for figure in FIGURES[script]:
        assert (tmp_path / figure).stat().st_size > 10_000, figure
    if script == "plot_iris_digits.py":
        assert "BMU purity 0.9" in result.stdout
    if script == "plot_fraud_detection.py":
        assert "customers mapped to them" in result.stdout
