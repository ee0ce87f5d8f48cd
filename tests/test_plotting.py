"""Displays: drawn with Agg, checked through their artists and data."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris
from sklearn.preprocessing import MinMaxScaler

from sklearn_som import SelfOrganizingMap
from sklearn_som.metrics import hit_map, u_matrix
from sklearn_som.plotting import (
    ComponentPlanesDisplay,
    HitMapDisplay,
    LabelMapDisplay,
    PrototypeColorsDisplay,
    TrainingCurveDisplay,
    UMatrixDisplay,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True, as_frame=True)
    return pd.DataFrame(MinMaxScaler().fit_transform(X), columns=X.columns), y.to_numpy()


@pytest.fixture(scope="module", params=["rectangular", "hexagonal"])
def som(request, iris):
    return SelfOrganizingMap(6, 7, topology=request.param, random_state=0).fit(iris[0])


def _cell_sides(collection):
    return {len(path.vertices) for path in collection.get_paths()}


def test_u_matrix_display(som):
    display = UMatrixDisplay.from_estimator(som)
    assert_allclose(display.u_matrix, u_matrix(som))
    assert_allclose(display.collection_.get_array(), u_matrix(som).ravel())
    assert len(display.collection_.get_paths()) == 42
    # Hexagons on a hexagonal map, squares on a rectangular one (closed paths).
    expected_sides = 6 if som.topology == "hexagonal" else 4
    assert _cell_sides(display.collection_) <= {expected_sides, expected_sides + 1}
    assert display.colorbar_.ax.get_ylabel() == "mean distance to neighbours"
    assert display.ax_.get_title() == "U-matrix"
    assert display.figure_ is display.ax_.figure


def test_hexagon_cells_of_neighbours_share_an_edge():
    som = SelfOrganizingMap(3, 3, topology="hexagonal").fit(np.random.RandomState(0).rand(30, 2))
    paths = UMatrixDisplay.from_estimator(som).collection_.get_paths()
    a, b = paths[4].vertices[:6], paths[5].vertices[:6]  # units 4 and 5 touch
    shared = [v for v in a if np.min(np.linalg.norm(b - v, axis=1)) < 1e-9]
    assert len(shared) == 2


def test_plot_on_given_axes(som):
    figure, axes = plt.subplots(1, 2)
    display = UMatrixDisplay.from_estimator(som, ax=axes[1], colorbar=False)
    assert display.ax_ is axes[1] and display.colorbar_ is None
    display.plot(ax=axes[0])
    assert display.ax_ is axes[0]


def test_hit_map_display(som, iris):
    X, _ = iris
    display = HitMapDisplay.from_estimator(som, X)
    assert_array_equal(display.hits, hit_map(som, X))
    assert display.collection_.get_array().sum() == 150
    assert display.colorbar_.ax.get_ylabel() == "rows per unit"


def test_component_planes_named_by_feature_names_in(som):
    display = ComponentPlanesDisplay.from_estimator(som)
    titles = [ax.get_title() for ax in display.axes_]
    assert titles == list(som.feature_names_in_)
    for k, collection in enumerate(display.collections_):
        assert_allclose(collection.get_array(), som.cluster_centers_[:, k])
    with pytest.raises(ValueError, match="2 names for 4 features"):
        ComponentPlanesDisplay.from_estimator(som, feature_names=["a", "b"])


def test_component_planes_without_names():
    X = np.random.RandomState(0).rand(50, 3)
    display = ComponentPlanesDisplay.from_estimator(SelfOrganizingMap(3, 3).fit(X))
    assert [ax.get_title() for ax in display.axes_] == ["feature 0", "feature 1", "feature 2"]


def test_label_map_display(som, iris):
    X, y = iris
    display = LabelMapDisplay.from_estimator(som, X, y, jitter=0.2, class_names=["a", "b", "c"])
    assert set(display.scatters_) == {0, 1, 2}
    offsets = display.scatters_[0].get_offsets()
    assert offsets.shape == ((y == 0).sum(), 2)
    # Every marker is within the jitter of its unit's centre.
    centres = som.unit_coordinates_[som.predict(X)]
    assert np.abs(display.positions - centres).max() <= 0.2
    legend = [text.get_text() for text in display.ax_.get_legend().get_texts()]
    assert legend == ["a", "b", "c"]
    text = LabelMapDisplay.from_estimator(som, X, y, text=True)
    assert len(text.ax_.texts) == 150
    with pytest.raises(ValueError, match="150 rows but y has 3"):
        LabelMapDisplay.from_estimator(som, X, y[:3])


def test_prototype_colours_display():
    colours = np.random.RandomState(0).rand(500, 3)
    som = SelfOrganizingMap(5, 5, random_state=0).fit(colours)
    display = PrototypeColorsDisplay.from_estimator(som)
    assert_allclose(display.collection_.get_facecolor()[:, :3], som.cluster_centers_)
    with pytest.raises(ValueError, match="3 features; this one has 2"):
        PrototypeColorsDisplay.from_estimator(SelfOrganizingMap(2, 2).fit(colours[:, :2]))


def test_training_curve_display(som):
    display = TrainingCurveDisplay.from_estimator(som)
    assert_allclose(display.line_.get_ydata(), som.quantization_errors_)
    assert display.ax_.get_xlabel() == "epoch"


def test_displays_accept_a_pipeline(iris):
    from sklearn.pipeline import make_pipeline

    X, y = iris
    pipe = make_pipeline(MinMaxScaler(), SelfOrganizingMap(4, 4, random_state=0)).fit(X)
    assert HitMapDisplay.from_estimator(pipe, X).hits.sum() == 150
    LabelMapDisplay.from_estimator(pipe, X, y)


def test_importing_the_package_does_not_import_matplotlib():
    import subprocess
    import sys

    code = "import sys, sklearn_som, sklearn_som.metrics; print('matplotlib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
