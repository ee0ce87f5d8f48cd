"""Behaviour of the estimator: predict/transform, persistence, determinism, errors."""

import importlib
import inspect
import pickle
import re

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_som import SelfOrganizingMap, _bmu
from sklearn_som._grid import Grid
from sklearn_som._init import pca_init

ALL_OPTIONS = [
    dict(topology="hexagonal"),
    dict(topology="hexagonal", periodic=True),
    dict(periodic=True),
    dict(neighborhood="bubble"),
    dict(neighborhood="triangle"),
    dict(neighborhood="mexican_hat"),
    dict(decay="linear"),
    dict(decay="inverse"),
    dict(init="random"),
    dict(init="sample"),
    dict(algorithm="online"),
    dict(algorithm="online", neighborhood="mexican_hat", topology="hexagonal"),
    dict(learning_rate=0.3, learning_rate_final=0.01, sigma=3.0, sigma_final=0.3),
    dict(batch_size=7),
]


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return MinMaxScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def fitted(iris):
    return SelfOrganizingMap(5, 6, random_state=0).fit(iris[0])


@pytest.mark.parametrize(
    "params", ALL_OPTIONS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items())
)
def test_every_option_trains_a_finite_ordered_map(iris, params):
    X, y = iris
    som = SelfOrganizingMap(6, 6, random_state=0, max_iter=10, **params).fit(X)
    assert np.all(np.isfinite(som.cluster_centers_))
    assert som.cluster_centers_.shape == (36, 4)
    assert som.labels_.shape == (150,) and som.n_iter_ == 10
    assert 0 < som.quantization_error_ < 0.25
    assert 0 <= som.topographic_error_ <= 1
    assert_array_equal(som.predict(X), som.labels_)


@pytest.mark.parametrize("params", [{}, dict(algorithm="online", topology="hexagonal")])
def test_predict_on_new_rows_equals_argmin_of_transform(iris, params):
    X, _ = iris
    som = SelfOrganizingMap(8, 8, random_state=0, **params).fit(X[::2])
    new = X[1::2] + np.random.RandomState(0).normal(scale=0.05, size=X[1::2].shape)
    assert_array_equal(som.predict(new), som.transform(new).argmin(axis=1))
    brute = np.linalg.norm(new[:, None, :] - som.cluster_centers_[None], axis=-1)
    assert_allclose(som.transform(new), brute, atol=1e-7)


def test_score_is_minus_the_quantization_error(iris, fitted):
    X, _ = iris
    assert fitted.score(X) == pytest.approx(-fitted.quantization_error_)
    assert isinstance(fitted.score(X), float)


def test_unit_coordinates(fitted):
    assert fitted.unit_coordinates_.shape == (30, 2)
    assert_array_equal(fitted.unit_coordinates_[7], [1, 1])  # row 1, column 1


@pytest.mark.parametrize(
    "case",
    ["iris", "ties", "float32", "csr", "weights", "rescaled", "shifted", "one unit", "online"],
)
def test_fit_transform_equals_fit_then_transform_to_the_bit(iris, case):
    # fit_transform reads labels_ and the errors from the distances it
    # returns, made once; fit finds them with the compiled search. Both must
    # give the same map, the same fitted attributes and the same distances,
    # ties between units included (integer data and a 4 x 4 map of repeated
    # prototypes), in float32, from sparse input, with weights, with data
    # rescaled by a power of two (float32 beyond 2**32), with data searched
    # from their centre (float32 around 1000) and on one unit.
    X = iris[0]
    params, weights = dict(n_rows=4, n_columns=4, random_state=0), None
    if case == "ties":
        X = np.random.RandomState(0).randint(0, 3, size=(300, 2)).astype(float)
        params["init"] = np.repeat(np.eye(2)[[0, 1, 0, 1]], 4, axis=0)
        params["max_iter"] = 1
    elif case == "float32":
        X = X.astype(np.float32)
    elif case == "csr":
        X = sp.csr_matrix(np.where(X > 0.5, X, 0.0))
    elif case == "weights":
        weights = np.random.RandomState(1).choice([0.0, 0.5, 1.0, 3.0], size=X.shape[0])
    elif case == "rescaled":
        X = (X * 1e12).astype(np.float32)
    elif case == "shifted":
        X = (X + 1000).astype(np.float32)
    elif case == "one unit":
        params.update(n_rows=1, n_columns=1)
    elif case == "online":
        params["algorithm"] = "online"
    a = SelfOrganizingMap(**params)
    distances = a.fit_transform(X, sample_weight=weights)
    b = SelfOrganizingMap(**params).fit(X, sample_weight=weights)
    if case == "rescaled":
        assert a._scale != 1
    assert (a._origin is not None) == (case == "shifted")
    assert_array_equal(distances, b.transform(X))
    assert distances.dtype == b.transform(X).dtype
    assert_array_equal(a.transform(X), distances)
    assert_array_equal(a.labels_, b.labels_)
    assert_array_equal(a.labels_, distances.argmin(axis=1))
    assert a.labels_.dtype == b.labels_.dtype == np.int64
    assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.quantization_error_ == b.quantization_error_
    assert a.topographic_error_ == b.topographic_error_
    if case == "ties":
        ordered = np.sort(distances, axis=1)
        assert np.any(ordered[:, 0] == ordered[:, 1])  # ties did occur


def test_pickle_round_trip(iris, fitted):
    X, _ = iris
    restored = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(restored.predict(X), fitted.predict(X))
    assert_array_equal(restored.transform(X), fitted.transform(X))
    restored.partial_fit(X)  # and it keeps training


@pytest.mark.parametrize(
    "params", [dict(init="random"), dict(algorithm="online"), dict(init="sample")]
)
def test_same_random_state_gives_identical_maps(iris, params):
    X, _ = iris
    a = SelfOrganizingMap(5, 5, random_state=3, **params).fit(X)
    b = SelfOrganizingMap(5, 5, random_state=3, **params).fit(X)
    c = SelfOrganizingMap(5, 5, random_state=4, **params).fit(X)
    assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert not np.array_equal(a.cluster_centers_, c.cluster_centers_)


@pytest.mark.parametrize("algorithm", ["batch", "online"])
def test_float32_stays_float32(iris, algorithm):
    X = iris[0].astype(np.float32)
    som = SelfOrganizingMap(4, 4, algorithm=algorithm, random_state=0).fit(X)
    assert som.cluster_centers_.dtype == np.float32
    assert som.transform(X).dtype == np.float32
    assert som.fit_transform(X).dtype == np.float32
    # A float64 model answers float32 questions in float32 too.
    som64 = SelfOrganizingMap(4, 4, random_state=0).fit(iris[0])
    assert som64.transform(X).dtype == np.float32


def test_partial_fit_continues_the_schedule(iris):
    X, _ = iris
    # Each call is one epoch of the schedule: max_iter calls on the whole data
    # are the batch fit, epoch for epoch.
    streamed = SelfOrganizingMap(5, 5, max_iter=4, random_state=0)
    for _ in range(4):
        streamed.partial_fit(X)
    fitted = SelfOrganizingMap(5, 5, max_iter=4, random_state=0).fit(X)
    assert streamed.n_iter_ == 4
    assert_allclose(streamed.cluster_centers_, fitted.cluster_centers_, atol=1e-12)
    assert_allclose(streamed.quantization_errors_, fitted.quantization_errors_)
    # After the schedule ends, training goes on at the final values: a fitted
    # map is near its fixed point and moves little.
    before = fitted.cluster_centers_.copy()
    fitted.partial_fit(X)
    assert fitted.n_iter_ == 5 and fitted.quantization_errors_.shape == (5,)
    change = np.abs(fitted.cluster_centers_ - before).max()
    assert 0 < change < 0.1


def test_verbose_prints_one_line_per_epoch(iris, capsys):
    SelfOrganizingMap(3, 3, max_iter=4, verbose=1).fit(iris[0])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4
    assert re.match(r"Epoch 1/4: \d+\.\d+ s, quantization error \d", lines[0])


def test_parameter_names_are_those_of_init_for_subclasses_too():
    # The names are read once per class (see SelfOrganizingMap._get_param_names).
    class WithExtra(SelfOrganizingMap):
        def __init__(self, n_rows=10, n_columns=10, *, extra=1, sigma=None):
            super().__init__(n_rows, n_columns, sigma=sigma)
            self.extra = extra

    assert sorted(SelfOrganizingMap().get_params()) == sorted(
        inspect.signature(SelfOrganizingMap.__init__).parameters.keys() - {"self"}
    )
    assert WithExtra(extra=3).get_params() == {
        "extra": 3,
        "n_columns": 10,
        "n_rows": 10,
        "sigma": None,
    }
    assert "extra" not in SelfOrganizingMap().get_params()
    assert clone(WithExtra(4, extra=2)).get_params()["extra"] == 2


def test_get_feature_names_out(fitted):
    names = fitted.get_feature_names_out()
    assert names.shape == (30,) and names[0] == "selforganizingmap0"


def test_sparse_input_gives_the_dense_answer(iris):
    from scipy import sparse

    X = iris[0].copy()
    X[X < 0.3] = 0
    dense = SelfOrganizingMap(4, 4, random_state=0).fit(X)
    sparse_fit = SelfOrganizingMap(4, 4, random_state=0).fit(sparse.csr_matrix(X))
    assert_allclose(sparse_fit.cluster_centers_, dense.cluster_centers_, atol=1e-10)
    assert_array_equal(sparse_fit.predict(sparse.csr_matrix(X)), dense.predict(X))


# ---------------------------------------------------------------- errors

BAD_INPUTS = [
    ("nan", lambda X: np.where(X > 0.9, np.nan, X), ValueError, "NaN"),
    ("infinity", lambda X: np.where(X > 0.9, np.inf, X), ValueError, "infinity"),
    ("empty", lambda X: X[:0], ValueError, "0 sample"),
    ("no features", lambda X: X[:, :0], ValueError, "0 feature"),
    ("1-D", lambda X: X[:, 0], ValueError, "Expected 2D array"),
    ("strings", lambda X: np.array([["a", "b"]] * 5), ValueError, "could not convert"),
    ("complex", lambda X: X + 1j, ValueError, "[Cc]omplex"),
    ("objects", lambda X: np.array([[object()] * 4] * 5), TypeError, "float"),
]


@pytest.mark.parametrize(
    "case, make_bad, error, message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS]
)
@pytest.mark.parametrize("method", ["fit", "partial_fit", "predict", "transform", "score"])
def test_bad_input_raises_and_changes_nothing(iris, case, make_bad, error, message, method):
    X, _ = iris
    som = SelfOrganizingMap(3, 3, random_state=0).fit(X)
    before = pickle.dumps(som)
    bad = make_bad(X)
    bad_copy = bad.copy()
    with pytest.raises(error, match=message):
        getattr(som, method)(bad)
    assert pickle.dumps(som) == before
    assert_array_equal(bad, bad_copy)


@pytest.mark.parametrize("method", ["predict", "transform", "partial_fit", "score"])
def test_wrong_number_of_features(iris, fitted, method):
    with pytest.raises(ValueError, match="X has 3 features, but SelfOrganizingMap is expecting 4"):
        getattr(fitted, method)(iris[0][:, :3])


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(n_rows=0), "n_rows"),
        (dict(n_columns=2.5), "n_columns"),
        (dict(topology="square"), "topology"),
        (dict(neighborhood="cone"), "neighborhood"),
        (dict(sigma=0), "sigma"),
        (dict(sigma_final=-1.0), "sigma_final"),
        (dict(learning_rate="fast"), "learning_rate"),
        (dict(learning_rate_final=0), "learning_rate_final"),
        (dict(decay="cosine"), "decay"),
        (dict(algorithm="som"), "algorithm"),
        (dict(max_iter=0), "max_iter"),
        (dict(batch_size=0), "batch_size"),
        (dict(init="kmeans++"), "init"),
        (dict(random_state="seed"), "random_state"),
    ],
)
def test_bad_parameters_raise_invalid_parameter_error(iris, fitted, params, match):
    som = pickle.loads(pickle.dumps(fitted)).set_params(**params)
    before = pickle.dumps(som)
    with pytest.raises(InvalidParameterError, match=match):
        som.fit(iris[0])
    assert pickle.dumps(som) == before


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_init_array_of_the_wrong_shape(iris, fitted, method):
    X, _ = iris
    som = pickle.loads(pickle.dumps(fitted)).set_params(init=np.zeros((30, 3)))
    if method == "partial_fit":
        som = SelfOrganizingMap(5, 6, init=np.zeros((30, 3)))
    before = pickle.dumps(som)
    with pytest.raises(
        ValueError, match=re.escape("init has shape (30, 3)") + ".*" + re.escape("(30, 4)")
    ):
        getattr(som, method)(X)
    assert pickle.dumps(som) == before


def test_init_array_is_used_and_not_modified(iris):
    X, _ = iris
    init = np.random.RandomState(0).uniform(size=(9, 4))
    init_copy = init.copy()
    som = SelfOrganizingMap(3, 3, init=init, max_iter=1, learning_rate=1e-9).fit(X)
    assert_allclose(som.cluster_centers_, init, atol=1e-8)
    assert_array_equal(init, init_copy)


def test_init_array_with_nan_is_rejected(iris):
    init = np.full((9, 4), np.nan)
    with pytest.raises(ValueError, match="init contains NaN"):
        SelfOrganizingMap(3, 3, init=init).fit(iris[0])


@pytest.mark.parametrize("method", ["predict", "transform", "score", "get_feature_names_out"])
def test_methods_before_fit_raise_not_fitted(iris, method):
    args = () if method == "get_feature_names_out" else (iris[0],)
    with pytest.raises(NotFittedError):
        getattr(SelfOrganizingMap(), method)(*args)


@pytest.mark.parametrize(
    "weights, match",
    [
        (-np.ones(150), "Negative values in data passed to `sample_weight`"),
        (np.ones(149), r"sample_weight.shape == \(149,\), expected \(150,\)"),
        (np.ones((150, 2)), "Sample weights must be 1D"),
        (np.zeros(150), "Sample weights must contain at least one non-zero number"),
    ],
)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_bad_sample_weight(iris, fitted, weights, match, method):
    som = pickle.loads(pickle.dumps(fitted))
    before = pickle.dumps(som)
    with pytest.raises(ValueError, match=match):
        getattr(som, method)(iris[0], sample_weight=weights)
    assert pickle.dumps(som) == before


@pytest.mark.parametrize("batch_size", [None, 256])
def test_the_pca_start_searched_through_its_plane_gives_the_map_of_its_prototypes(
    batch_size, monkeypatch
):
    # A PCA start's first epoch searches the plane its prototypes lie in
    # (few columns instead of every feature): the map is the one the same
    # prototypes give when passed as an array, searched directly.
    X = load_digits().data / 16.0
    params = dict(n_rows=12, n_columns=15, max_iter=3, batch_size=batch_size, random_state=0)
    searched, chunks = _bmu._assign_and_sum_factored, []
    monkeypatch.setattr(
        _bmu, "_assign_and_sum_factored", lambda *args: chunks.append(1) or searched(*args)
    )
    pca = SelfOrganizingMap(**params).fit(X)
    assert len(chunks) == -(-X.shape[0] // pca._batch_size_for(X))  # the first epoch's only
    monkeypatch.undo()
    start = pca_init(X, np.ones(X.shape[0]), Grid(12, 15), None)
    given = SelfOrganizingMap(**params, init=start).fit(X)
    assert_allclose(pca.cluster_centers_, given.cluster_centers_, rtol=1e-12, atol=1e-12)
    assert_array_equal(pca.labels_, given.labels_)
    assert_allclose(pca.quantization_errors_, given.quantization_errors_, rtol=1e-12)


def test_a_map_searched_from_the_data_centre_keeps_it(iris):
    # Data far from zero next to their spread are searched from their centre
    # (search_origin): partial_fit continues from that origin, a given init
    # array moves with the data, and sparse rows (searched from zero, as they
    # are never centred) find the same units.
    X = iris[0] + 1000.0
    params = dict(n_rows=5, n_columns=5, max_iter=4, random_state=0)
    fitted = SelfOrganizingMap(**params).fit(X)
    assert fitted._origin is not None
    streamed = SelfOrganizingMap(**params)
    for _ in range(4):
        streamed.partial_fit(X)
    assert_array_equal(streamed._origin, fitted._origin)
    assert_allclose(streamed.cluster_centers_, fitted.cluster_centers_, rtol=0, atol=1e-9)
    assert_array_equal(streamed.labels_, fitted.labels_)

    init = np.random.RandomState(0).uniform(size=(25, 4))
    near = SelfOrganizingMap(**params, init=init).fit(iris[0])
    far = SelfOrganizingMap(**params, init=init + 1000.0).fit(X)
    assert_allclose(far.cluster_centers_ - 1000.0, near.cluster_centers_, rtol=0, atol=1e-9)
    assert_array_equal(far.labels_, near.labels_)

    assert_array_equal(fitted.predict(sp.csr_matrix(X)), fitted.labels_)
    # From zero, these rows keep 23 of float64's 53 bits: distances to 1e-7.
    assert_allclose(fitted.transform(sp.csr_matrix(X)), fitted.transform(X), rtol=1e-5)
    fitted.partial_fit(sp.csr_matrix(X))  # a sparse chunk: trained from zero
    assert_allclose(fitted.cluster_centers_, streamed.partial_fit(X).cluster_centers_, rtol=1e-9)


def test_partial_fit_after_the_grid_changed(iris, fitted):
    som = pickle.loads(pickle.dumps(fitted)).set_params(n_rows=7)
    with pytest.raises(ValueError, match="grid parameters changed"):
        som.partial_fit(iris[0])


@pytest.mark.parametrize(
    "module, function, batch_size",
    [
        ("_batch_step", "batch_update", 16),  # chunked path: interrupted in its third epoch
        ("_small_batch", "batch_epochs", None),  # compiled path: interrupted once it returns
    ],
)
def test_interrupted_fit_leaves_the_previous_map(
    iris, fitted, monkeypatch, module, function, batch_size
):
    som = pickle.loads(pickle.dumps(fitted)).set_params(batch_size=batch_size)
    before = pickle.dumps(som)
    calls = []
    kernels = importlib.import_module(f"sklearn_som.{module}")
    original = getattr(kernels, function)

    def interrupt(*args, **kwargs):
        calls.append(1)
        result = original(*args, **kwargs)
        if len(calls) == 3 or function == "batch_epochs":
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(kernels, function, interrupt)
    with pytest.raises(KeyboardInterrupt):
        som.fit(iris[0][:100, :3])
    assert calls and pickle.dumps(som) == before
    unfitted = SelfOrganizingMap(3, 3, batch_size=batch_size)
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        unfitted.fit(iris[0])
    assert not hasattr(unfitted, "n_features_in_") and not hasattr(unfitted, "cluster_centers_")
