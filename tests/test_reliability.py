"""Reliability: edge cases with defined answers, inputs never modified, determinism,
persistence, interruption and concurrency."""

import importlib
import pickle
import subprocess
import sys
import threading
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn.datasets import load_iris
from sklearn.exceptions import InconsistentVersionWarning
from sklearn.preprocessing import MinMaxScaler

from sklearn_som import SelfOrganizingMap
from sklearn_som.metrics import topographic_error, u_matrix


@pytest.fixture(scope="module")
def iris():
    return MinMaxScaler().fit_transform(load_iris().data)


# ---------------------------------------------------------------- edge cases


def test_one_sample_gives_every_prototype_that_sample():
    x = np.array([[1.0, -2.0, 3.0]])
    som = SelfOrganizingMap(3, 3).fit(x)
    assert_allclose(som.cluster_centers_, np.repeat(x, 9, axis=0))
    assert som.quantization_error_ == 0 and som.labels_.tolist() == [0]


def test_fewer_samples_than_units(iris):
    som = SelfOrganizingMap(10, 10, random_state=0).fit(iris[:7])
    assert np.all(np.isfinite(som.cluster_centers_))
    assert len(np.unique(som.labels_)) == 7  # each row its own unit


def test_one_feature_orders_the_line():
    x = np.linspace(0, 1, 50)[:, None]
    som = SelfOrganizingMap(1, 6, random_state=0).fit(x)
    assert np.all(np.diff(som.cluster_centers_.ravel()) > 0)  # a monotone 1-D map


def test_constant_features_stay_constant(iris):
    X = np.column_stack([iris, np.full(150, 7.0)])
    som = SelfOrganizingMap(4, 4, random_state=0).fit(X)
    assert_allclose(som.cluster_centers_[:, -1], 7.0)
    constant = SelfOrganizingMap(3, 3, init="random", random_state=0).fit(np.full((20, 2), 5.0))
    assert_allclose(constant.cluster_centers_, 5.0)
    assert constant.quantization_error_ == 0


def test_duplicate_rows_equal_weights(iris):
    doubled = SelfOrganizingMap(4, 4).fit(np.vstack([iris, iris]))
    weighted = SelfOrganizingMap(4, 4).fit(iris, sample_weight=np.full(150, 2.0))
    assert_allclose(doubled.cluster_centers_, weighted.cluster_centers_, atol=1e-12)


def test_one_by_one_and_one_by_n_maps(iris):
    single = SelfOrganizingMap(1, 1).fit(iris)
    assert_allclose(single.cluster_centers_[0], iris.mean(axis=0))
    assert topographic_error(single, iris) == 0.0 and u_matrix(single).tolist() == [[0.0]]
    line = SelfOrganizingMap(1, 5, random_state=0).fit(iris)
    assert u_matrix(line).shape == (1, 5) and np.all(u_matrix(line) > 0)
    assert 0 <= topographic_error(line, iris) < 0.2


def test_all_zero_sample_weight_is_an_error(iris):
    with pytest.raises(ValueError, match="at least one non-zero"):
        SelfOrganizingMap(3, 3).fit(iris, sample_weight=np.zeros(150))


def test_zero_weight_rows_are_ignored(iris):
    weights = np.r_[np.ones(100), np.zeros(50)]
    weighted = SelfOrganizingMap(4, 4).fit(iris, sample_weight=weights)
    dropped = SelfOrganizingMap(4, 4).fit(iris[:100])
    assert_allclose(weighted.cluster_centers_, dropped.cluster_centers_, atol=1e-12)


@pytest.mark.parametrize("magnitude", [1e150, 1e-150, 1e300, 1e-300])
@pytest.mark.parametrize("algorithm", ["batch", "online"])
def test_huge_and_tiny_magnitudes_give_the_same_map_scaled(iris, magnitude, algorithm):
    params = dict(n_rows=4, n_columns=4, algorithm=algorithm, random_state=0, max_iter=5)
    unit = SelfOrganizingMap(**params).fit(iris)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or underflow warnings either
        scaled = SelfOrganizingMap(**params).fit(iris * magnitude)
        assert np.all(np.isfinite(scaled.cluster_centers_))
        assert_allclose(scaled.cluster_centers_ / magnitude, unit.cluster_centers_, rtol=1e-9)
        assert_array_equal(scaled.predict(iris * magnitude), unit.predict(iris))
        assert scaled.score(iris * magnitude) / magnitude == pytest.approx(unit.score(iris))
        assert_allclose(
            scaled.quantization_errors_ / magnitude, unit.quantization_errors_, rtol=1e-9
        )
        assert np.all(np.isfinite(scaled.transform(iris * magnitude)))
        assert np.all(np.isfinite(u_matrix(scaled)))


@pytest.mark.parametrize("magnitude", [1e20, 1e-20])
def test_float32_outside_its_comfortable_range(iris, magnitude):
    X = (iris * magnitude).astype(np.float32)
    som = SelfOrganizingMap(4, 4, random_state=0).fit(X)
    assert som.cluster_centers_.dtype == np.float32
    assert np.all(np.isfinite(som.transform(X)))
    unit = SelfOrganizingMap(4, 4, random_state=0).fit(iris.astype(np.float32))
    assert som.quantization_error_ / magnitude == pytest.approx(unit.quantization_error_, rel=1e-4)


@pytest.mark.parametrize(
    "dtype, shift", [(np.float32, 1e3), (np.float32, 1e5), (np.float64, 1e9)], ids=str
)
@pytest.mark.parametrize("algorithm", ["batch", "online"])
def test_data_far_from_zero_give_the_map_of_the_same_data_near_it(iris, dtype, shift, algorithm):
    # |x|^2 - 2 x.w + |w|^2 cancels for data far from zero next to their
    # spread (float32 iris around 1000 kept none of its bits); the map
    # measures from the data's centre instead (search_origin).
    params = dict(n_rows=6, n_columns=6, algorithm=algorithm, random_state=0)
    near = SelfOrganizingMap(**params).fit(iris.astype(dtype))
    X = (iris + shift).astype(dtype)
    X_before = X.copy()
    far = SelfOrganizingMap(**params).fit(X)
    assert_array_equal(X, X_before)
    assert far.cluster_centers_.dtype == dtype
    # Every row's exact distances, from differences in float64.
    exact = np.linalg.norm(
        X.astype(np.float64)[:, None] - far.cluster_centers_.astype(np.float64)[None], axis=2
    )
    nearest = exact.min(axis=1)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(exact[np.arange(X.shape[0]), far.predict(X)], nearest, rtol=0, atol=tolerance)
    assert_array_equal(far.predict(X), far.labels_)
    assert_array_equal(far.transform(X).argmin(axis=1), far.labels_)
    assert_allclose(far.transform(X), exact, rtol=0, atol=tolerance)
    assert far.quantization_error_ == pytest.approx(nearest.mean(), rel=tolerance)
    assert -far.score(X) == pytest.approx(nearest.mean(), rel=tolerance)
    assert far.quantization_errors_[-1] == pytest.approx(near.quantization_errors_[-1], rel=0.02)
    assert far.quantization_error_ == pytest.approx(near.quantization_error_, rel=0.02)
    assert abs(far.topographic_error_ - near.topographic_error_) <= 0.02


@pytest.mark.parametrize(
    "convert",
    [
        lambda X: (X * 10).astype(np.int64),
        lambda X: X > 0.5,
        lambda X: np.asfortranarray(X),
        lambda X: np.hstack([X, X])[:, ::2],  # non-contiguous view
        lambda X: pd.DataFrame(X, columns=list("abcd")),
        lambda X: X.tolist(),
    ],
    ids=["int", "bool", "fortran", "strided", "dataframe", "list"],
)
def test_input_kinds_are_accepted(iris, convert):
    X = convert(iris)
    som = SelfOrganizingMap(3, 3, random_state=0).fit(X)
    assert som.cluster_centers_.dtype == np.float64
    assert_array_equal(som.predict(X), som.labels_)


def test_int_and_bool_inputs_match_their_float_values(iris):
    X = (iris * 10).astype(np.int64)
    assert_allclose(
        SelfOrganizingMap(3, 3).fit(X).cluster_centers_,
        SelfOrganizingMap(3, 3).fit(X.astype(float)).cluster_centers_,
    )


def test_series_as_sample_weight_and_as_x(iris):
    som = SelfOrganizingMap(3, 3).fit(iris, sample_weight=pd.Series(np.ones(150)))
    assert som.n_features_in_ == 4
    with pytest.raises(ValueError, match="Expected a 2-dimensional container"):
        SelfOrganizingMap(3, 3).fit(pd.Series(iris[:, 0]))


@pytest.mark.parametrize("container", [sparse.csr_matrix, sparse.csc_matrix, sparse.csr_array])
@pytest.mark.parametrize("algorithm", ["batch", "online"])
def test_sparse_input_matches_dense(iris, container, algorithm):
    X = np.where(iris < 0.4, 0.0, iris)
    params = dict(n_rows=4, n_columns=4, algorithm=algorithm, random_state=0, max_iter=5)
    dense = SelfOrganizingMap(**params).fit(X)
    from_sparse = SelfOrganizingMap(**params).fit(container(X))
    assert_allclose(from_sparse.cluster_centers_, dense.cluster_centers_, atol=1e-10)
    assert_allclose(from_sparse.transform(container(X)), dense.transform(X), atol=1e-10)
    assert_array_equal(from_sparse.predict(container(X)), dense.predict(X))


def test_sparse_float32_stays_float32(iris):
    X = sparse.csr_matrix(np.where(iris < 0.4, 0.0, iris).astype(np.float32))
    som = SelfOrganizingMap(3, 3).fit(X)
    assert som.cluster_centers_.dtype == np.float32 and som.transform(X).dtype == np.float32


# ---------------------------------------------------------------- inputs never modified


@pytest.mark.parametrize("algorithm", ["batch", "online"])
def test_read_only_and_memory_mapped_inputs(iris, tmp_path, algorithm):
    path = tmp_path / "X.dat"
    mapped = np.memmap(path, dtype=np.float64, mode="w+", shape=iris.shape)
    mapped[:] = iris
    mapped.flush()
    read_only = np.memmap(path, dtype=np.float64, mode="r", shape=iris.shape)
    weights = np.linspace(0.5, 2, 150)
    weights.flags.writeable = False
    som = SelfOrganizingMap(3, 3, algorithm=algorithm, random_state=0)
    som.fit(read_only, sample_weight=weights)
    som.partial_fit(read_only)
    som.predict(read_only), som.transform(read_only), som.score(read_only)
    assert_array_equal(np.asarray(read_only), iris)
    assert_array_equal(weights, np.linspace(0.5, 2, 150))


# ---------------------------------------------------------------- determinism


SCRIPT = """
import sys, numpy as np
from sklearn.datasets import load_iris
from sklearn_som import SelfOrganizingMap
X = load_iris().data
som = SelfOrganizingMap(5, 5, algorithm=sys.argv[1], init="random", random_state=7).fit(X)
sys.stdout.write(som.cluster_centers_.tobytes().hex())
"""


@pytest.mark.parametrize("algorithm", ["batch", "online"])
def test_bit_identical_maps_across_processes(algorithm):
    runs = [
        subprocess.run(
            [sys.executable, "-c", SCRIPT, algorithm], capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    ]
    assert runs[0] == runs[1] and len(runs[0]) == 2 * 25 * 4 * 8


def test_batch_map_does_not_depend_on_batch_size(iris):
    reference = SelfOrganizingMap(5, 5, random_state=0).fit(iris)
    for batch_size in [1, 7, 64, 1000]:
        other = SelfOrganizingMap(5, 5, random_state=0, batch_size=batch_size).fit(iris)
        assert_allclose(other.cluster_centers_, reference.cluster_centers_, atol=1e-12)


# ---------------------------------------------------------------- persistence

LOAD_SCRIPT = """
import pickle, sys, numpy as np
som = pickle.load(open(sys.argv[1], "rb"))
X = np.load(sys.argv[2])
np.save(sys.argv[3], np.column_stack([som.predict(X), som.transform(X)]))
"""


def test_pickled_model_predicts_identically_in_a_fresh_process(iris, tmp_path):
    som = SelfOrganizingMap(5, 5, topology="hexagonal", random_state=0).fit(iris)
    (tmp_path / "som.pkl").write_bytes(pickle.dumps(som))
    np.save(tmp_path / "X.npy", iris)
    subprocess.run(
        [
            sys.executable,
            "-c",
            LOAD_SCRIPT,
            str(tmp_path / "som.pkl"),
            str(tmp_path / "X.npy"),
            str(tmp_path / "out.npy"),
        ],
        check=True,
    )
    out = np.load(tmp_path / "out.npy")
    assert_array_equal(out[:, 0], som.predict(iris))
    assert_array_equal(out[:, 1:], som.transform(iris))


def test_skops_round_trip(iris, tmp_path):
    skops_io = pytest.importorskip("skops.io")
    som = SelfOrganizingMap(4, 4, random_state=0).fit(iris)
    path = tmp_path / "som.skops"
    skops_io.dump(som, path)
    loaded = skops_io.load(path, trusted=skops_io.get_untrusted_types(file=path))
    assert_array_equal(loaded.predict(iris), som.predict(iris))


def test_loading_a_model_from_another_version_warns(iris):
    som = SelfOrganizingMap(3, 3).fit(iris)
    state = som.__getstate__()
    assert state["_sklearn_som_version"] == __import__("sklearn_som").__version__
    state["_sklearn_som_version"] = "0.0.1"
    restored = SelfOrganizingMap.__new__(SelfOrganizingMap)
    with pytest.warns(InconsistentVersionWarning, match="from version 0.0.1"):
        restored.__setstate__(state)
    assert_array_equal(restored.predict(iris), som.predict(iris))


# ---------------------------------------------------------------- interruption


@pytest.mark.parametrize(
    "module, function, batch_size",
    [("_batch_step", "batch_update", 16), ("_small_batch", "batch_epochs", None)],
)
def test_keyboard_interrupt_in_partial_fit_keeps_the_last_complete_call(
    iris, monkeypatch, module, function, batch_size
):
    som = SelfOrganizingMap(3, 3, random_state=0, batch_size=batch_size)
    som.partial_fit(iris)
    before = pickle.dumps(som)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib.import_module(f"sklearn_som.{module}"), function, interrupt)
    with pytest.raises(KeyboardInterrupt):
        som.partial_fit(iris)
    assert pickle.dumps(som) == before


def _interrupt_the_online_rule(monkeypatch):
    """Make every online epoch ruin its working copy of the prototypes, then raise."""
    import sklearn_som._som as som_module

    def interrupt(name):
        def kernel(*args):
            args[2][:] = np.nan  # half-way through: the working copy is ruined
            raise KeyboardInterrupt

        return kernel

    monkeypatch.setattr(som_module, "compiled_online_epoch", interrupt)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_keyboard_interrupt_in_the_online_rule_restores_the_map(iris, monkeypatch, method):
    # partial_fit continues the fit's random generator, which the epoch's
    # shuffle consumes before the interrupt: its state must come back too.
    som = SelfOrganizingMap(3, 3, algorithm="online", random_state=0).fit(iris)
    before = pickle.dumps(som)
    _interrupt_the_online_rule(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        getattr(som, method)(iris)
    assert pickle.dumps(som) == before
    monkeypatch.undo()
    # The restored generator draws what it would have drawn: the interrupted
    # call leaves no trace on the next one.
    fresh = pickle.loads(before)
    assert_array_equal(
        getattr(som, method)(iris).cluster_centers_, getattr(fresh, method)(iris).cluster_centers_
    )


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("given", ["constructor", "set_params"])
def test_interrupted_call_leaves_a_given_random_state_as_it_was(iris, monkeypatch, method, given):
    # A RandomState passed as random_state is the caller's: a call that
    # fails after drawing from it (random initialisation, then the epoch's
    # shuffle) puts its state back, as it does for the map's own generator.
    # (partial_fit on a fitted map continues the map's own generator, so
    # there the given one is never drawn from; the pickle holds the map's.)
    rng = np.random.RandomState(7)
    params = dict(algorithm="online", init="random")
    if given == "constructor":
        som = SelfOrganizingMap(3, 3, random_state=rng, **params)
    else:
        som = SelfOrganizingMap(3, 3, random_state=0, **params).fit(iris)
        som.set_params(random_state=rng)
    before = pickle.dumps(som)
    _interrupt_the_online_rule(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        getattr(som, method)(iris)
    assert pickle.dumps(som) == before
    assert_array_equal(rng.uniform(size=5), np.random.RandomState(7).uniform(size=5))


# ---------------------------------------------------------------- concurrency


def test_prediction_from_several_threads_matches_serial(iris):
    from threadpoolctl import threadpool_info

    X = np.vstack([iris] * 40)
    som = SelfOrganizingMap(6, 6, random_state=0).fit(X)
    expected_labels, expected_distances = som.predict(X), som.transform(X)
    blas_before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    results = [None] * 8

    def work(k):
        results[k] = (som.predict(X), som.transform(X), som.score(X))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for labels, distances, score in results:
        assert_array_equal(labels, expected_labels)
        assert_array_equal(distances, expected_distances)
        assert score == som.score(X)
    # The BLAS thread limit the predictions set is undone once they are all done.
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == blas_before


@pytest.mark.parametrize(
    "n_samples, n_features, expect_limit",
    [
        (150, 4, False),  # iris-sized: one chunk of products OpenBLAS never threads
        (200, 64, True),  # one chunk, but products large enough to be threaded
        # One chunk (too little work for two threads), searched a block of
        # rows at a time: products OpenBLAS never threads, then ones it would.
        (3000, 3, False),
        (3000, 32, True),
        (20_000, 3, True),  # several chunks on the thread pool
    ],
)
def test_blas_is_limited_while_a_fit_could_use_more_than_one_thread(
    monkeypatch, n_samples, n_features, expect_limit
):
    from threadpoolctl import threadpool_info

    import sklearn_som._som as som_module

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    if max(before, default=1) < 2:
        pytest.skip("BLAS runs on one thread here: no limit to observe")
    seen = []

    def spying(original):
        def spy(*args, **kwargs):
            seen.append(blas_threads())
            return original(*args, **kwargs)

        return spy

    # The final pass of every fit: the exact search, or on one chunk of
    # blocked rows the compiled pass that makes it with the errors.
    for owner, name in [
        (som_module, "best_matching_units"),
        (som_module._final_pass, "fitted_labels_and_errors"),
    ]:
        monkeypatch.setattr(owner, name, spying(getattr(owner, name)))
    X = np.random.RandomState(0).rand(n_samples, n_features)
    SelfOrganizingMap(10, 10, max_iter=2, random_state=0).fit(X)
    expected = [1] * len(before) if expect_limit else before
    assert seen == [expected]
    assert blas_threads() == before
