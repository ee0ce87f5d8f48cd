"""sklearn_som.metrics against hand computation."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_som import SelfOrganizingMap
from sklearn_som._neighborhood import NEIGHBORHOODS
from sklearn_som.metrics import (
    bmu_purity,
    combined_scorer,
    distortion,
    hit_map,
    quantization_error,
    topographic_error,
    u_matrix,
)


def _map_with(prototypes, n_rows, n_columns, **params):
    """A fitted map whose prototypes are set to ``prototypes``."""
    prototypes = np.asarray(prototypes, dtype=float)
    som = SelfOrganizingMap(n_rows, n_columns, max_iter=1, **params).fit(prototypes)
    som.cluster_centers_ = prototypes
    return som


def test_u_matrix_by_hand_on_a_2x2_map():
    som = _map_with([[0.0], [1.0], [3.0], [7.0]], 2, 2)
    # Neighbours: 0-1, 0-2, 1-3, 2-3.
    expected = [[(1 + 3) / 2, (1 + 6) / 2], [(3 + 4) / 2, (6 + 4) / 2]]
    assert_allclose(u_matrix(som), expected)


def test_u_matrix_on_a_hexagonal_map_uses_six_neighbours():
    som = _map_with(np.arange(9.0)[:, None], 3, 3, topology="hexagonal")
    # Unit 4 (row 1, column 1, shifted right) touches 1, 2, 3, 5, 7, 8.
    assert u_matrix(som)[1, 1] == pytest.approx(np.mean([3, 2, 1, 1, 3, 4]))


def test_one_by_one_and_one_by_n_maps():
    X = np.array([[0.0], [1.0], [2.0]])
    single = SelfOrganizingMap(1, 1).fit(X)
    assert_allclose(single.cluster_centers_, [[1.0]])
    assert topographic_error(single, X) == 0.0 and single.topographic_error_ == 0.0
    assert_array_equal(u_matrix(single), [[0.0]])
    line = _map_with([[0.0], [1.0], [2.0], [5.0]], 1, 4)
    assert_allclose(u_matrix(line), [[1.0, 1.0, 2.0, 3.0]])
    # 0.9 is nearest 1 then 0 (neighbours); 3.4 nearest 2 then 5 (neighbours);
    # 3.6 nearest 5 then 2 (neighbours); 1.6 nearest 2 then 1.
    assert topographic_error(line, np.array([[0.9], [3.4], [3.6], [1.6]])) == 0.0
    far = _map_with([[0.0], [5.0], [1.0], [6.0]], 1, 4)
    # 0.4 is nearest unit 0, then unit 2: not neighbours. 3.2 is nearest
    # unit 1 (at 5), then unit 2 (at 1): neighbours.
    assert topographic_error(far, np.array([[0.4], [3.2]])) == 0.5


def test_hit_map_counts_and_weights():
    som = _map_with([[0.0], [10.0]], 1, 2)
    X = np.array([[1.0], [2.0], [9.0]])
    assert_array_equal(hit_map(som, X), [[2, 1]])
    assert_allclose(hit_map(som, X, sample_weight=[1.0, 0.5, 3.0]), [[1.5, 3.0]])


def test_quantization_error_by_hand():
    som = _map_with([[0.0, 0.0], [3.0, 4.0]], 1, 2)
    X = np.array([[0.0, 1.0], [3.0, 0.0]])  # distances 1 and 3 (to unit 0)
    assert quantization_error(som, X) == pytest.approx(2.0)
    assert quantization_error(som, X, sample_weight=[3, 1]) == pytest.approx(1.5)


def test_distortion_by_hand():
    som = _map_with([[0.0], [2.0]], 1, 2, sigma=1.0)
    h = np.exp(-1 / 2)
    # Row 0.5: BMU 0, errors 0.25 (unit 0) and 2.25 * h (unit 1).
    assert distortion(som, np.array([[0.5]]), sigma=1.0) == pytest.approx(0.25 + 2.25 * h)


@pytest.mark.parametrize(
    "case",
    [
        "dense",
        "float32",
        "csr",
        "weights",
        "mexican hat",
        "hexagonal",
        "hexagonal by axis",
        "shifted",
        "huge",
        "csr huge",
    ],
)
def test_distortion_equals_its_definition(case):
    # mean_i sum_j h(d(b(i), j), sigma) |x_i - w_j|^2, from every row's
    # difference to every prototype, in float64.
    from sklearn.datasets import load_digits

    X = load_digits().data[:400] / 16.0
    params, weights = dict(n_rows=6, n_columns=7, max_iter=3, random_state=0), None
    if case == "mexican hat":
        params["neighborhood"] = "mexican_hat"  # negative weights: rows may count negative
    elif case == "hexagonal":
        params["topology"] = "hexagonal"
    elif case == "hexagonal by axis":  # 150 units: the Gaussian's sums go by grid axis
        params.update(n_rows=15, n_columns=10, topology="hexagonal")
    elif case == "weights":
        weights = np.random.RandomState(0).choice([0.0, 0.5, 1.0, 3.0], size=len(X))
    elif case == "shifted":
        X = X + 1e4  # far from 0 next to the spread: sums of large terms cancel
    elif case.endswith("huge"):
        # Distortion about 4e307: from unshifted, unscaled rows its terms
        # (|x|^2 c_b) would overflow float64.
        X = X * 1e153
    som = SelfOrganizingMap(**params).fit(X)
    if case.endswith("huge"):
        assert som._scale != 1
    data = X.astype(np.float32) if case == "float32" else X
    data = sp.csr_matrix(data) if case.startswith("csr") else data
    W = som.cluster_centers_.astype(np.float64)
    sigma = 1.7
    H = NEIGHBORHOODS[som.neighborhood](som._grid.squared_distances(), sigma)
    rows = np.asarray(data.todense() if case.startswith("csr") else data, dtype=np.float64)
    unit = som._scale  # the definition, in the map's scale, then scaled back
    squared = (((rows[:, None, :] - W[None, :, :]) / unit) ** 2).sum(axis=2)
    per_row = (H[som.predict(data)] * squared).sum(axis=1)
    expected = np.average(per_row, weights=weights) * unit**2
    got = distortion(som, data, sigma=sigma, sample_weight=weights)
    assert got == pytest.approx(expected, rel=1e-9)


def test_bmu_purity_and_metrics_through_a_pipeline():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), SelfOrganizingMap(6, 6, random_state=0)).fit(X)
    som, X_scaled = pipe[-1], pipe[0].transform(X)
    assert bmu_purity(pipe, X, y) == bmu_purity(som, X_scaled, y) > 0.9
    assert quantization_error(pipe, X) == pytest.approx(som.quantization_error_)
    assert topographic_error(pipe, X) == pytest.approx(som.topographic_error_)
    assert hit_map(pipe, X).sum() == 150
    assert combined_scorer(pipe, X) < 0


def test_combined_scorer_by_hand_and_on_sparse_input():
    from scipy import sparse

    X, _ = load_iris(return_X_y=True)
    som = SelfOrganizingMap(5, 5, random_state=0).fit(X)
    spread = np.linalg.norm(X - X.mean(axis=0), axis=1).mean()
    expected = -(quantization_error(som, X) / spread + topographic_error(som, X))
    assert combined_scorer(som, X) == pytest.approx(expected)
    X_sparse = sparse.csr_matrix(np.where(X < 1.5, 0.0, X))
    som_sparse = SelfOrganizingMap(5, 5, random_state=0).fit(X_sparse)
    assert combined_scorer(som_sparse, X_sparse) == pytest.approx(
        combined_scorer(som_sparse, X_sparse.toarray())
    )
