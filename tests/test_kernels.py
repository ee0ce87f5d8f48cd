"""The numeric kernels against hand computation on tiny maps."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.datasets import load_digits, load_iris
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.extmath import row_norms

from sklearn_som import (
    SelfOrganizingMap,
    _batch_step,
    _bmu,
    _final_pass,
    _grid,
    _init,
    _online,
    _parallel,
    _small_batch,
    _som,
)
from sklearn_som._bmu import best_matching_units, distances
from sklearn_som._grid import Grid
from sklearn_som._init import pca_init, principal_axes
from sklearn_som._neighborhood import NEIGHBORHOODS, SIGNED
from sklearn_som._online import compiled_online_epoch
from sklearn_som._schedules import SCHEDULES, epoch_progress, sample_progress
from sklearn_som._train import (
    _repeated_step,
    batch_statistics,
    batch_update,
    negligible_step,
    online_epoch,
)

# ---------------------------------------------------------------- neighbourhoods


@pytest.mark.parametrize(
    "name, expected",
    [
        # d2 = 0, 1, 4, 9 with sigma = 2
        ("gaussian", [1.0, np.exp(-1 / 8), np.exp(-4 / 8), np.exp(-9 / 8)]),
        ("bubble", [1.0, 1.0, 1.0, 0.0]),
        ("triangle", [1.0, 0.5, 0.0, 0.0]),
        ("mexican_hat", [1.0, 0.75 * np.exp(-1 / 8), 0.0, -1.25 * np.exp(-9 / 8)]),
    ],
)
def test_neighborhood_functions_by_hand(name, expected):
    assert_allclose(NEIGHBORHOODS[name](np.array([0.0, 1.0, 4.0, 9.0]), 2.0), expected)


# ---------------------------------------------------------------- schedules


@pytest.mark.parametrize("name", ["exponential", "linear", "inverse"])
def test_schedules_start_and_end_where_asked(name):
    schedule = SCHEDULES[name]
    assert schedule(5.0, 0.5, 0.0) == pytest.approx(5.0)
    assert schedule(5.0, 0.5, 1.0) == pytest.approx(0.5)
    values = schedule(5.0, 0.5, np.linspace(0, 1, 11))
    assert np.all(np.diff(values) < 0)


def test_schedule_midpoints_by_hand():
    assert SCHEDULES["exponential"](4.0, 1.0, 0.5) == pytest.approx(2.0)
    assert SCHEDULES["linear"](4.0, 1.0, 0.5) == pytest.approx(2.5)
    assert SCHEDULES["inverse"](4.0, 1.0, 0.5) == pytest.approx(4.0 / 2.5)


def test_progress_runs_from_zero_to_one():
    assert [epoch_progress(e, 5) for e in range(5)] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert epoch_progress(7, 5) == 1.0  # partial_fit past the end
    assert epoch_progress(0, 1) == 0.0
    steps = sample_progress(range(3), 4, 3)
    assert_allclose(steps, np.arange(12) / 11)
    assert_array_equal(np.concatenate([sample_progress([e], 4, 3) for e in range(3)]), steps)
    assert_array_equal(sample_progress([3, 4], 4, 3), np.ones(8))  # partial_fit past the end
    assert_array_equal(sample_progress([0, 1], 1, 1), np.zeros(2))


def test_estimator_schedule_first_and_last_values():
    som = SelfOrganizingMap(6, 4, learning_rate=0.8, algorithm="online")
    sigma, rate = som._schedule(np.array([0.0, 1.0]))
    assert_allclose(sigma, [3.0, 1.0])  # max(6, 4) / 2, then min(1, 3 / 3)
    assert_allclose(rate, [0.8, 0.8 / 50])
    sigma, rate = SelfOrganizingMap(2, 3)._schedule(np.array([0.0, 1.0]))
    assert_allclose(sigma, [1.5, 0.5])
    assert_allclose(rate, [1.0, 1.0])  # the batch map keeps lr = 1


# ---------------------------------------------------------------- BMU search


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize(
    "n_samples, n_units, n_features",
    [(150, 100, 4), (3000, 900, 3), (100_000, 400, 50), (70_000, 400, 784), (600, 100, 64)],
)
def test_automatic_chunks_are_equal_bounded_and_shared_by_the_threads(
    monkeypatch, threads, n_samples, n_units, n_features
):
    monkeypatch.setattr(_bmu, "n_threads", lambda: threads)
    rows = _bmu.auto_batch_size(n_samples, n_units, n_features)
    chunks = _bmu.chunk_slices(n_samples, rows)
    sizes = [chunk.stop - chunk.start for chunk in chunks]
    assert rows * n_units <= _bmu._CHUNK_ELEMENTS  # the memory bound
    # The threads that have enough work each (see the next test).
    work = n_samples * n_units * (n_features + _bmu._SCAN_MULTIPLY_ADDS)
    threads = max(1, min(threads, work // _bmu._THREAD_MIN_WORK))
    if n_samples >= threads * _bmu._MIN_CHUNK_ROWS:
        assert len(chunks) % threads == 0  # every thread gets as many chunks...
        assert max(sizes) - min(sizes) <= len(chunks)  # ... of (nearly) equal size
    else:  # small data: chunks of at least _MIN_CHUNK_ROWS rows, or one chunk
        assert rows == min(n_samples, _bmu._MIN_CHUNK_ROWS) or len(chunks) == 1


def test_blocked_searches_take_chunks_bounded_by_their_data(monkeypatch):
    # Searches that go by blocks of rows never hold a chunk's distances, so
    # their chunks are bounded by the chunk's data: on 4000 units, one chunk
    # per thread instead of 78 of 257 rows.
    monkeypatch.setattr(_bmu, "n_threads", lambda: 2)
    for n_samples, n_units, n_features in [(20_000, 4000, 20), (100_000, 400, 50), (3000, 900, 3)]:
        rows = _bmu.auto_batch_size(n_samples, n_units, n_features, blocked=True)
        assert rows * n_features <= _bmu._CHUNK_ELEMENTS
        assert len(_bmu.chunk_slices(n_samples, rows)) % 2 == 0
    assert len(_bmu.chunk_slices(20_000, _bmu.auto_batch_size(20_000, 4000, 20))) == 78
    assert _bmu.auto_batch_size(20_000, 4000, 20, blocked=True) == 10_000
    # The estimator asks for it where its searches go by blocks: dense data
    # with few features under numba; not sparse data nor many features.
    rng = np.random.RandomState(0)
    som = SelfOrganizingMap(40, 100)
    few = rng.rand(20_000, 20)
    expected = 10_000 if _bmu.numba is not None else _bmu.auto_batch_size(20_000, 4000, 20)
    assert som._batch_size_for(few) == expected
    for X in [sp.csr_matrix(few), rng.rand(20_000, 100)]:
        assert som._batch_size_for(X) == _bmu.auto_batch_size(20_000, 4000, X.shape[1])


@pytest.mark.parametrize("threads", [2, 3])
def test_a_pass_with_too_little_work_for_the_threads_stays_in_one_chunk(monkeypatch, threads):
    monkeypatch.setattr(_bmu, "n_threads", lambda: threads)
    # RGB colours on 10x10: about 7e6 multiply-adds a pass, scan included.
    assert _bmu.auto_batch_size(3000, 100, 3) == 3000
    # The same rows on a 30x30 map, or with 64 features, are worth splitting.
    for n_units, n_features in [(900, 3), (100, 64)]:
        rows = _bmu.auto_batch_size(3000, n_units, n_features)
        assert len(_bmu.chunk_slices(3000, rows)) % threads == 0
        assert rows < 3000
    # Enough work for two threads but not three: two chunks.
    work = 2 * _bmu._THREAD_MIN_WORK
    n_samples = -(-work // (100 * (3 + _bmu._SCAN_MULTIPLY_ADDS)))
    assert len(_bmu.chunk_slices(n_samples, _bmu.auto_batch_size(n_samples, 100, 3))) == 2


def test_bmu_search_matches_brute_force_in_any_chunking():
    rng = np.random.RandomState(0)
    X, W = rng.rand(103, 5), rng.rand(12, 5)
    brute = np.sqrt(((X[:, None, :] - W[None, :, :]) ** 2).sum(-1))
    for batch_size in [1, 7, 103, 1000]:
        bmu, dist, bmu2 = best_matching_units(X, W, batch_size, second=True)
        assert_array_equal(bmu, brute.argmin(axis=1))
        assert_array_equal(bmu2, np.argsort(brute, axis=1)[:, 1])
        assert_allclose(dist, brute.min(axis=1))
        # The training search, fused with the batch map's per-unit sums.
        bmu, dist, S, n = batch_statistics(X, np.ones(103), W, batch_size)
        assert_array_equal(bmu, brute.argmin(axis=1))
        assert_allclose(dist, brute.min(axis=1))
        assert_allclose(S, np.stack([X[bmu == j].sum(axis=0) for j in range(12)]))
        assert_allclose(n, np.bincount(bmu, minlength=12))
    assert_allclose(distances(X, W), brute)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_bmu_search_picks_what_argmin_of_transform_picks_ties_included(
    dtype, monkeypatch
):
    # Integer data and prototypes make exact ties, between the best and the
    # second and among the rest; the first of equal distances wins, as in
    # numpy's argmin over the distances that ``distances`` returns.
    rng = np.random.RandomState(0)
    X = rng.randint(0, 4, size=(400, 2)).astype(dtype)
    W = rng.randint(0, 4, size=(9, 2)).astype(dtype)
    W[6] = W[2]
    d = distances(X, W)
    bmu, dist, bmu2 = best_matching_units(X, W, 64, second=True)
    assert_array_equal(bmu, d.argmin(axis=1))
    assert_array_equal(dist, d.min(axis=1))  # the same bits
    d[np.arange(400), bmu] = np.inf
    assert_array_equal(bmu2, d.argmin(axis=1))
    assert dist.dtype == dtype
    assert np.any(d.min(axis=1) == dist)  # ties between best and second did occur
    assert_array_equal(best_matching_units(X, W[:1], 64, second=True)[2], -1)
    # The numpy fallback (no numba) agrees bit for bit.
    monkeypatch.setattr(_bmu, "numba", None)
    for ours, fallback in zip(
        (bmu, dist, bmu2), best_matching_units(X, W, 64, second=True), strict=True
    ):
        assert_array_equal(ours, fallback)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exact_search_in_blocks_sees_the_products_transform_sees(dtype, monkeypatch):
    # With few features the exact search and ``distances`` make ``X @ W.T``
    # a block of rows at a time, here 16 rows of a 1000-row chunk (the last
    # block short). On this machine's OpenBLAS a 16-row block's products
    # differ in their last bits from the whole chunk's (float64, RGB colours
    # on 900 units), so the search and ``distances`` must take the same
    # blocks for predict to stay transform's argmin; the numpy fallback
    # takes them too.
    rng = np.random.RandomState(0)
    X = rng.rand(3000, 3).astype(dtype)
    W = rng.rand(900, 3).astype(dtype)
    assert _bmu.product_block_rows(X, 900) == 16
    chunks = _bmu.chunk_slices(3000, 1000)
    d = np.vstack([distances(X[chunk], W) for chunk in chunks])
    bmu, dist, bmu2 = best_matching_units(X, W, 1000, second=True)
    assert_array_equal(bmu, d.argmin(axis=1))
    assert_array_equal(dist, d.min(axis=1))
    d_rest = d.copy()
    d_rest[np.arange(3000), bmu] = np.inf
    assert_array_equal(bmu2, d_rest.argmin(axis=1))
    som = SelfOrganizingMap(30, 30, max_iter=2, batch_size=1000, random_state=0)
    transformed = som.fit_transform(X)
    assert_array_equal(som.transform(X), transformed)
    assert_array_equal(som.predict(X), transformed.argmin(axis=1))
    assert_array_equal(som.labels_, transformed.argmin(axis=1))
    monkeypatch.setattr(_bmu, "numba", None)
    assert_array_equal(np.vstack([distances(X[chunk], W) for chunk in chunks]), d)
    for ours, fallback in zip(
        (bmu, dist, bmu2), best_matching_units(X, W, 1000, second=True), strict=True
    ):
        assert_array_equal(ours, fallback)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exact_search_compares_square_roots(dtype):
    # Neighbouring squared distances can have the same square root: then
    # ``transform`` shows equal distances and the first unit wins, even where
    # its squared distance is the larger.
    if _bmu.numba is None:
        pytest.skip("numba is not installed")
    q = next(
        v
        for v in np.linspace(2, 3, 101, dtype=dtype)
        if v != np.nextafter(v, dtype(4)) and np.sqrt(v) == np.sqrt(np.nextafter(v, dtype(4)))
    )
    above = np.nextafter(q, dtype(4))
    # XW = 0 and |x|^2 = 0: the squared distances are |w|^2 themselves.
    w_sq = np.array([5.0, above, q, 7.0, above, q], dtype=dtype)
    rows = 3
    best, dist, second = (
        np.empty(rows, np.int64),
        np.empty(rows, dtype),
        np.empty(rows, np.int64),
    )
    _bmu._best_two(np.zeros((rows, 6), dtype), np.zeros(rows, dtype), w_sq, best, dist, second)
    roots = np.sqrt(w_sq)
    assert_array_equal(best, roots.argmin())  # unit 1, though unit 2's square is smaller
    assert_array_equal(best, 1)
    assert_array_equal(dist, np.sqrt(above))
    assert_array_equal(second, 2)  # the first of the rest with the same root


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exact_search_on_neighbouring_squares_is_numpys_argmin_of_roots(dtype):
    # Squared distances a few floats apart, in random order: some share a
    # root, some have neighbouring roots, and a unit whose square is within
    # a few floats of the smallest can come first with a larger root. The
    # best and second units must be numpy's first argmin of the roots, and
    # of the roots with the best masked.
    if _bmu.numba is None:
        pytest.skip("numba is not installed")
    rng = np.random.RandomState(0)
    rows, n_units = 400, 12
    base = dtype(2.5)
    steps = np.cumsum(np.full(16, np.spacing(base)), dtype=dtype)  # 1 to 16 ulps up
    ladder = np.concatenate([[base], base + steps]).astype(dtype)
    w_sq = np.empty((rows, n_units), dtype=dtype)
    for i in range(rows):
        w_sq[i] = rng.choice(ladder, size=n_units)
    assert len(np.unique(np.sqrt(ladder))) < len(ladder)  # shared roots occur
    best, dist, second = (
        np.empty(1, np.int64),
        np.empty(1, dtype),
        np.empty(1, np.int64),
    )
    zeros = np.zeros((1, n_units), dtype)
    for i in range(rows):
        _bmu._best_two(zeros, np.zeros(1, dtype), w_sq[i], best, dist, second)
        roots = np.sqrt(w_sq[i])
        assert best[0] == roots.argmin()
        assert dist[0] == roots.min()
        roots[best[0]] = np.inf
        assert second[0] == roots.argmin()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_training_search_in_blocks_equals_the_whole_block(dtype, monkeypatch):
    # Few features: the training search makes its distance block a few rows
    # at a time. Blocks of 4 rows split the chunks unevenly; integer data
    # make ties, which the first unit must win as in numpy's argmin.
    if _bmu.numba is None:
        pytest.skip("numba is not installed")
    rng = np.random.RandomState(0)
    X = rng.randint(0, 4, size=(203, 3)).astype(dtype)
    W = rng.randint(0, 4, size=(10, 3)).astype(dtype)
    W[7] = W[1]
    weights = rng.choice([0.0, 0.5, 1.0, 2.0], size=203).astype(dtype)
    monkeypatch.setattr(_bmu, "_BLOCK_ELEMENTS", 40)
    assert _bmu._block_rows(W.shape[0]) == 4
    # The search of the unblocked path: numpy's argmin over the whole block.
    d = X @ (W * -2.0).T + (W * W).sum(axis=1)
    expected = d.argmin(axis=1)
    for batch_size in [7, 64, 203]:
        bmu, dist, S, n = batch_statistics(X, weights, W, batch_size)
        assert_array_equal(bmu, expected)
        assert dist.dtype == dtype
        assert_allclose(dist, np.sqrt(((X - W[expected]) ** 2).sum(axis=1)), rtol=1e-6)
        assert_allclose(S, np.stack([weights[bmu == j] @ X[bmu == j] for j in range(10)]))
        assert_allclose(n, np.bincount(bmu, weights=weights, minlength=10))
    assert n[7] == 0  # unit 7 ties with unit 1 everywhere and never wins
    # Many features keep the whole block, with the same results.
    monkeypatch.setattr(_bmu, "_BLOCKED_MAX_FEATURES", 0)
    for ours, whole in zip((bmu, dist, S, n), batch_statistics(X, weights, W, 203), strict=True):
        assert_array_equal(ours, whole)


def _float64_product_search(X, W, weights):
    # The float64 training search: first argmin of |w|^2 - 2 x.w, per-unit sums.
    bmu = (X @ (W * -2.0).T + (W * W).sum(axis=1)).argmin(axis=1)
    S = np.stack([weights[bmu == j] @ X[bmu == j] for j in range(W.shape[0])])
    return bmu, S


@pytest.mark.parametrize(
    "offset, scale",
    [(0.0, 1.0), (1e6, 1.0), (0.0, 1e-6), (-3e9, 1e3)],
    ids=["unit", "offset 1e6", "small", "offset -3e9"],
)
def test_float32_product_search_finds_the_float64_bmus(offset, scale, monkeypatch):
    # Digits in float64, shifted and scaled: the float32 product with its
    # float64 re-check must find a unit as near as the float64 product's,
    # wherever the data sit. Prototypes from a few epochs of training sit
    # close together, so near-ties are common.
    if _bmu.numba is None:
        pytest.skip("numba is not installed")
    X = load_digits().data * scale + offset
    W = SelfOrganizingMap(12, 12, max_iter=3, random_state=0).fit(X).cluster_centers_
    assert _bmu.float32_search_terms(W, (W * W).sum(axis=1)) is not None
    weights = np.random.RandomState(0).choice([0.0, 0.5, 1.0, 2.0], size=X.shape[0])
    bmu, dist, S, n = batch_statistics(X, weights, W, batch_size=500)
    assert_allclose(S, np.stack([weights[bmu == j] @ X[bmu == j] for j in range(W.shape[0])]))
    assert_allclose(n, np.bincount(bmu, weights=weights, minlength=W.shape[0]))
    monkeypatch.setattr(_bmu, "_FLOAT32_SEARCH_MIN_FEATURES", X.shape[1] + 1)
    float64_bmu, float64_dist, _, _ = batch_statistics(X, weights, W, batch_size=500)
    # Squared distances accurate to the data's spread (centred first), and
    # the float64 search's rounding of |x|^2 + |w|^2 - 2 x.w, which cancels
    # where the data sit far from 0: within it, either unit is a right answer.
    centre = X.mean(axis=0)
    Xc, Wc = X - centre, W - centre
    exact = (Xc**2).sum(axis=1)[:, None] + (Wc**2).sum(axis=1) - 2 * Xc @ Wc.T
    x_sq, w_sq = (X**2).sum(axis=1), (W**2).sum(axis=1)
    magnitude = x_sq + 2 * np.sqrt(x_sq * w_sq.max()) + w_sq.max()
    rounding = 8 * (X.shape[1] + 2) * 2.0**-53 * magnitude
    rounding += 1e-9 * exact.min(axis=1)  # the centred distances' own rounding
    rows = np.arange(X.shape[0])
    for found in (bmu, float64_bmu):
        assert np.all(exact[rows, found] <= exact.min(axis=1) + rounding)
    if offset == 0:  # rounding far below the gaps: the very same units
        assert_array_equal(bmu, float64_bmu)
    assert_allclose(dist**2, float64_dist**2, rtol=1e-12, atol=1e-13 * x_sq.max())


@pytest.mark.parametrize("n_features", [20, 80], ids=["in blocks", "whole chunk"])
def test_float32_product_search_breaks_ties_as_the_float64_search(n_features):
    # Integer data in float64 with repeated prototypes: exact ties, which the
    # first unit must win; the float32 product cannot tell the tied units
    # apart, so they all go to the float64 re-check. Up to
    # _BLOCKED_MAX_FEATURES features the product is made in blocks of rows.
    if _bmu.numba is None:
        pytest.skip("numba is not installed")
    rng = np.random.RandomState(0)
    X = rng.randint(0, 3, size=(300, n_features)).astype(np.float64)
    W = rng.randint(0, 3, size=(500, n_features)).astype(np.float64)
    W[300:] = W[:200]
    weights = np.ones(300)
    assert _bmu.float32_search_terms(W, (W * W).sum(axis=1)) is not None
    bmu, _, S, _ = batch_statistics(X, weights, W, batch_size=64)
    expected_bmu, expected_S = _float64_product_search(X, W, weights)
    assert_array_equal(bmu, expected_bmu)
    assert_array_equal(S, expected_S)
    assert bmu.max() < 300  # the repeats never win


def test_float32_product_search_applies_to_wide_float64_maps_within_float32_range(monkeypatch):
    W = np.random.RandomState(0).rand(400, 64)
    w_sq = (W * W).sum(axis=1)
    if _bmu.numba is None:
        assert _bmu.float32_search_terms(W, w_sq) is None
        return
    shift, W2T32, w_sq32, _ = _bmu.float32_search_terms(W, w_sq)
    assert_allclose(shift, W.mean(axis=0))
    assert W2T32.dtype == w_sq32.dtype == np.float32
    assert_allclose(W2T32, -2 * (W - shift).T, rtol=1e-6)
    assert _bmu.float32_search_terms(W.astype(np.float32), w_sq) is None  # float32 data
    assert _bmu.float32_search_terms(W[:, :8], w_sq) is None  # few features
    assert _bmu.float32_search_terms(W[:100], w_sq[:100]) is None  # few units
    assert _bmu.float32_search_terms(W[:, :16], w_sq) is None  # 400 x 16 < 2**13
    assert _bmu.float32_search_terms(W[:, :24], w_sq) is not None
    assert _bmu.float32_search_terms(W * 2.0**45, w_sq * 2.0**90) is None  # beyond float32
    assert _bmu.float32_search_terms(W * 2.0**-40, w_sq * 2.0**-80) is None
    # A chunk with a row beyond float32's range keeps the float64 product.
    calls = []

    def float32_search(*args):
        calls.append(args[0].shape[0])
        return 0  # no row done: the float64 product does them all

    monkeypatch.setattr(_bmu, "_assign_in_blocks_float32", float32_search)
    X = np.random.RandomState(1).rand(50, 64)
    batch_statistics(X, np.ones(50), W, batch_size=25)
    assert calls == [25, 25]
    X[30, 0] = 2.0**41
    bmu, _, _, _ = batch_statistics(X, np.ones(50), W, batch_size=25)
    assert calls == [25, 25, 25]  # the first chunk only
    assert_array_equal(bmu[25:], _float64_product_search(X[25:], W, np.ones(25))[0])


@pytest.mark.parametrize(
    "n_features, block_rows",
    [(64, None), (64, 32), (80, None)],
    ids=["in blocks", "in blocks of 32 rows", "whole chunk"],
)
@pytest.mark.parametrize("n_near", [300, 200], ids=["every row", "from row 100"])
def test_float32_product_search_stops_where_every_unit_needs_a_recheck(
    n_features, block_rows, n_near, monkeypatch
):
    # Prototypes spread by 1e-3 around 1e6: for rows among them the float64
    # product's own rounding (the margin's second term) covers every unit,
    # so each such row would re-check all 400 units, one dot product each.
    # Rows near 0 are far from every prototype, with one candidate each.
    # The search stops before the first row among the prototypes, and the
    # float64 product does the rest of the chunk: the float64 search's
    # result (to the bit where it did all rows). In blocks of 32 rows it
    # stops in the fourth block.
    if _bmu.numba is None:
        pytest.skip("numba is not installed")
    if block_rows is not None:
        monkeypatch.setattr(_bmu, "_FLOAT32_BLOCK_ELEMENTS", 400 * block_rows)
    rng = np.random.RandomState(0)
    X = np.vstack([rng.rand(300 - n_near, n_features), rng.rand(n_near, n_features) * 1e-3 + 1e6])
    W = rng.rand(400, n_features) * 1e-3 + 1e6
    weights = rng.choice([0.0, 1.0, 2.0], size=X.shape[0])
    assert _bmu.float32_search_terms(W, (W * W).sum(axis=1)) is not None
    blocked = n_features <= _bmu._BLOCKED_MAX_FEATURES
    kernel = "_assign_in_blocks" if blocked else "_distances_and_sums"
    original = getattr(_bmu, kernel)
    float64_rows = []

    def float64_kernel(*args):
        float64_rows.append(args[0 if blocked else 2].shape[0])
        return original(*args)

    monkeypatch.setattr(_bmu, kernel, float64_kernel)
    bmu, dist, S, n = batch_statistics(X, weights, W, batch_size=300)
    assert float64_rows == [n_near]
    monkeypatch.setattr(_bmu, "_FLOAT32_SEARCH_MIN_FEATURES", n_features + 1)
    float64_bmu, float64_dist, float64_S, float64_n = batch_statistics(X, weights, W, 300)
    assert float64_rows == [n_near, 300]
    assert_array_equal(bmu, float64_bmu)
    assert_array_equal(n, float64_n)
    if n_near == 300:
        assert_array_equal(dist, float64_dist)
        assert_array_equal(S, float64_S)
    assert_allclose(dist, float64_dist, rtol=1e-12)
    assert_allclose(S, float64_S, rtol=1e-15)


@pytest.mark.parametrize("stops", [True, False], ids=["far from the mean", "digits"])
def test_a_fit_stops_trying_the_float32_search_after_it_stopped_once(stops, monkeypatch):
    # Digits shrunk to 1e-3 and shifted to 1e6: every chunk's float32 search
    # stops at its first row (the float64 rounding covers all 400 units). The
    # fit's record (Float32Search) then sends its later passes straight to
    # the float64 product; on ordinary digits every pass keeps the float32
    # product. Either way the map is the one the float64 search gives. The
    # map would search such data from their centre (search_origin), where
    # the float32 search goes through; searched from zero, as here, the
    # float64 rounding of |x|^2 - 2 x.w is what covers every unit.
    if _bmu.numba is None:
        pytest.skip("numba is not installed")
    X = load_digits().data
    X = X * 1e-3 + 1e6 if stops else X
    monkeypatch.setattr(_som, "search_origin", lambda X, x_sq: None)
    original = _bmu._assign_in_blocks_float32
    rows_done = []

    def float32_kernel(*args):
        done = original(*args)
        rows_done.append(done)
        return done

    monkeypatch.setattr(_bmu, "_assign_in_blocks_float32", float32_kernel)
    som = SelfOrganizingMap(20, 20, max_iter=4, batch_size=600, random_state=0).fit(X)
    # Three chunks a pass (in threads: any order), four passes, of which the
    # first searches the PCA start through its factors and the final pass is
    # the exact search.
    assert sorted(rows_done) == ([0, 0, 0] if stops else [597] * 3 + [600] * 6)
    monkeypatch.setattr(_bmu, "_FLOAT32_SEARCH_MIN_FEATURES", 65)
    float64 = SelfOrganizingMap(20, 20, max_iter=4, batch_size=600, random_state=0).fit(X)
    assert_array_equal(som.labels_, float64.labels_)
    assert_array_equal(som.cluster_centers_, float64.cluster_centers_)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_training_search_of_a_row_does_not_depend_on_where_its_block_starts(dtype):
    # Rows and prototypes spread by 1e-3 around 1e6: the product's rounding
    # is larger than the gaps between a row's distances, so its BMU is
    # decided by the last bits of the products. Every block of the search
    # is a product of the same shape (the last one padded), so a row gets
    # the same BMU whether the search starts at row 0 or at row 200
    # (OpenBLAS's products differed in the last bit between blocks of 72 and
    # of 44 rows). The same for the chunks of batch_size.
    if _bmu.numba is None:
        pytest.skip("numba is not installed")
    rng = np.random.RandomState(0)
    X = (rng.rand(700, 5) * 1e-3 + 1e6).astype(dtype)
    W = (rng.rand(400, 5) * 1e-3 + 1e6).astype(dtype)
    weights = np.ones(700, dtype=dtype)
    rows = _bmu.training_block_rows(X, 400)
    assert rows == _bmu._TRAINING_BLOCK_ROWS and 200 % rows != 0  # a block starts mid-way
    assert _bmu.float32_search_terms(W, row_norms(W, squared=True)) is None  # 5 features
    bmu, dist, _, _ = batch_statistics(X, weights, W, batch_size=700)
    later, later_dist, _, _ = batch_statistics(X[200:], weights[200:], W, batch_size=500)
    assert_array_equal(later, bmu[200:])
    assert_array_equal(later_dist, dist[200:])
    chunked, _, _, _ = batch_statistics(X, weights, W, batch_size=300)
    assert_array_equal(chunked, bmu)


def test_block_rows_are_a_power_of_two_of_about_the_block_size():
    assert _bmu._block_rows(100) == 128  # 2**14 / 100 = 163.8
    assert _bmu._block_rows(400) == 32
    assert _bmu._block_rows(2**15) == 1
    assert _bmu._block_rows(400, _bmu._FLOAT32_BLOCK_ELEMENTS) == 256  # 2**17 / 400


def test_search_product_size_counts_the_float32_search_blocks():
    # The BLAS thread limit is taken from the largest product a fit's
    # searches make: for float64 data wide enough for the float32 search,
    # its blocks (256 rows on 400 units) are the largest.
    chunks = _bmu.chunk_slices(1797, 1797)
    X = np.zeros((1797, 64))
    assert _bmu.search_product_size(X, chunks, 400) == 256 * 400 * 64
    assert _bmu.search_product_size(X.astype(np.float32), chunks, 400) == 32 * 400 * 64
    assert _bmu.search_product_size(X[:, :3], chunks, 100) == 128 * 100 * 3  # no float32 search


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("sparse_input", [False, True])
@pytest.mark.parametrize("threaded", [False, True])
def test_row_norms_check_finds_nan_or_infinity_in_any_row(
    bad, sparse_input, threaded, monkeypatch
):
    monkeypatch.setattr(_bmu, "_NORMS_THREAD_MIN_ELEMENTS", 1 if threaded else 10**9)
    monkeypatch.setattr(_bmu, "n_threads", lambda: 2)
    rng = np.random.RandomState(0)
    X = rng.uniform(-3.0, 5.0, size=(50, 3))
    X[X < -2.0] = 0.0
    make = sp.csr_matrix if sparse_input else np.array
    assert_array_equal(_bmu.checked_row_norms(make(X)), row_norms(make(X), squared=True))
    X[47, 1] = bad  # in the second thread's half
    with pytest.raises(ValueError, match="NaN" if np.isnan(bad) else "infinity"):
        _bmu.checked_row_norms(make(X), estimator_name="SelfOrganizingMap")
    # scikit-learn told to assume finite data skips its own check: ours still raises.
    with config_context(assume_finite=True):
        with pytest.raises(ValueError, match="NaN or infinity"):
            _bmu.checked_row_norms(make(X))
    # Finite values whose squares overflow are no error.
    X[47, 1] = 1e200
    with config_context(assume_finite=True):
        assert np.isinf(_bmu.checked_row_norms(make(X))[47])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_row_norms_of_the_check_are_row_norms_to_the_bit_on_threads(dtype, monkeypatch):
    # Wide rows (784 features), split over the threads.
    monkeypatch.setattr(_bmu, "_NORMS_THREAD_MIN_ELEMENTS", 2**20)
    X = np.random.RandomState(0).uniform(size=(1500, 784)).astype(dtype)
    x_sq = _bmu.checked_row_norms(X)
    assert x_sq.dtype == dtype
    assert_array_equal(x_sq, row_norms(X, squared=True))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse_input", [False, True])
def test_safe_scale_from_the_row_norms_is_the_scale_of_the_largest_value(dtype, sparse_input):
    # The scale by its definition: 1 where the largest magnitude's exponent
    # lies within a quarter of the dtype's exponent range, else that
    # magnitude rounded down to a power of two. The row norms settle it
    # without the values where their bounds on that magnitude are clear;
    # near the limits, on all-zero data and where squares underflow to 0,
    # the values do.
    info = np.finfo(dtype)
    lowest, highest = info.minexp // 4, info.maxexp // 4
    rng = np.random.RandomState(0)
    base = rng.uniform(-1.0, 1.0, size=(40, 6))
    base[3, 2] = 1.0  # the largest magnitude is 1.0 * 2**k

    def definition(X):
        peak = np.abs(X).max()
        if peak == 0:
            return 1.0
        exponent = int(np.floor(np.log2(peak)))
        return 1.0 if lowest <= exponent <= highest else 2.0**exponent

    make = sp.csr_matrix if sparse_input else np.asarray
    exponents = [0, lowest, lowest - 1, highest, highest + 1, 2 * highest, 3 * lowest]
    exponents += [info.maxexp - 1, info.minexp - 2]  # the squares overflow / underflow
    for k in exponents:
        X = (base * 2.0**k).astype(dtype)
        with np.errstate(over="ignore", under="ignore"):
            x_sq = row_norms(X, squared=True)
        assert _bmu.safe_scale(make(X), x_sq) == definition(X), k
    zeros = np.zeros((5, 3), dtype=dtype)
    assert _bmu.safe_scale(make(zeros), row_norms(zeros, squared=True)) == 1.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_search_origin_only_for_data_far_from_zero_next_to_their_spread(dtype):
    # The origin is the mean of up to 256 rows spread evenly over X, used
    # where its squared norm exceeds their mean squared distance to it by
    # 2**(p / 4) (64 in float32, about 9,700 in float64), never for sparse
    # data; the compiled sums are the numpy ones to rounding.
    rng = np.random.RandomState(0)
    ratio = _bmu._ORIGIN_RATIO[np.dtype(dtype)]
    for n_samples in [1, 7, 256, 1000, 3001]:
        X = rng.uniform(-1.0, 1.0, size=(n_samples, 5))
        step = max(1, n_samples // 256)
        sample = X[::step][:256]
        mean = sample.mean(axis=0)
        spread = np.mean(row_norms(sample - mean, squared=True))
        if n_samples == 1:
            spread = 1.0  # a single row has no spread: any distance from zero counts
        for factor, used in [(0.8, False), (1.25, True)]:
            # Moved along the mean, to a mean of squared norm factor * ratio * spread.
            length = np.linalg.norm(mean)
            shifted = X + mean / length * (np.sqrt(factor * ratio * spread) - length)
            shifted = shifted.astype(dtype)
            x_sq = row_norms(shifted, squared=True)
            origin = _bmu.search_origin(shifted, x_sq)
            assert (origin is not None) == (used or n_samples == 1), (n_samples, factor)
            assert _bmu.search_origin(sp.csr_matrix(shifted), x_sq) is None
            rows = shifted[::step][:256]
            numpy_terms = _bmu._sample_centre_numpy(shifted, x_sq, step, rows.shape[0])
            assert_allclose(numpy_terms[0], rows.mean(axis=0, dtype=np.float64), rtol=1e-12)
            if _bmu.numba is not None:
                compiled_terms = _bmu._sample_centre(shifted, x_sq, step, rows.shape[0])
                for compiled, reference in zip(compiled_terms, numpy_terms, strict=True):
                    assert_allclose(compiled, reference, rtol=1e-12)
            if origin is not None:
                assert origin.dtype == dtype
                assert_allclose(origin, rows.mean(axis=0), rtol=1e-6)
    # Ordinary data keep their own origin: scaled to [0, 1], or centred.
    for X in [MinMaxScaler().fit_transform(load_iris().data), load_digits().data / 16.0]:
        X = X.astype(dtype)
        assert _bmu.search_origin(X, row_norms(X, squared=True)) is None
        X = X - X.mean(axis=0)
        assert _bmu.search_origin(X, row_norms(X, squared=True)) is None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse_input", [False, True])
def test_compiled_distances_equal_the_numpy_ones_to_the_bit(dtype, sparse_input, monkeypatch):
    # The compiled pass after the product does numpy's five passes' operations
    # in their order: same bits, so predict still equals transform's argmin.
    # Digits shifted far from 0 as well, where the subtraction cancels.
    if _bmu.numba is None:
        pytest.skip("numba is not installed")
    digits = load_digits().data[:300].astype(dtype)
    rng = np.random.RandomState(0)
    for X in [digits, digits + dtype(1e3)]:
        W = X[rng.choice(len(X), 49, replace=False)] + rng.normal(size=(49, 64)).astype(dtype)
        X = sp.csr_matrix(X) if sparse_input else X
        out = np.full((400, 49), np.nan, dtype=dtype)
        compiled = distances(X, W, out=out[50:350])
        assert compiled.base is out and np.isnan(out[:50]).all() and np.isnan(out[350:]).all()
        monkeypatch.setattr(_bmu, "numba", None)
        reference = distances(X, W)
        monkeypatch.undo()
        assert compiled.dtype == reference.dtype == dtype
        assert_array_equal(compiled.view(np.uint8), reference.view(np.uint8))
        assert_array_equal(distances(X, W), reference)


def test_bmu_search_keeps_float32():
    rng = np.random.RandomState(0)
    X, W = rng.rand(20, 3).astype(np.float32), rng.rand(4, 3).astype(np.float32)
    _, dist = best_matching_units(X, W, 8)
    assert dist.dtype == np.float32
    assert distances(X, W).dtype == np.float32


# ---------------------------------------------------------------- final pass


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "grid", [Grid(6, 7), Grid(5, 5, "hexagonal"), Grid(4, 6, periodic=True), Grid(1, 1)]
)
@pytest.mark.parametrize("n_features", [3, 64])
def test_compiled_final_pass_equals_the_search_and_the_errors(dtype, grid, n_features):
    # labels_ are the exact search's BMUs (what predict gives); the errors
    # are the weighted means of the BMU distances and of the best and second
    # units not being neighbours, with weights 0 among them. Both run with
    # BLAS on one thread, as in a fit and in predict (their products here,
    # 256 x 42 x 64, are above the size OpenBLAS splits over threads, and
    # OpenBLAS 0.3.30's Haswell float32 GEMM gives other bits on two threads).
    rng = np.random.RandomState(0)
    X = load_digits().data[:300, :n_features].astype(dtype)
    W = X[rng.choice(X.shape[0], grid.n_units)] + rng.normal(size=(grid.n_units, n_features))
    W = W.astype(dtype)
    weights = rng.choice([0.0, 0.5, 1.0, 3.0], size=X.shape[0]).astype(dtype)
    x_sq = row_norms(X, squared=True)
    assert _final_pass.applies(X, X.shape[0], grid.n_units)
    with _parallel.single_threaded_blas():
        bmu, qe, te = _final_pass.fitted_labels_and_errors(X, W, weights, x_sq, grid)
        expected_bmu, dist, second = best_matching_units(X, W, X.shape[0], second=True)
    assert_array_equal(bmu, expected_bmu)
    assert qe == pytest.approx(np.average(dist.astype(np.float64), weights=weights), rel=1e-12)
    not_adjacent = ~grid.are_neighbors(expected_bmu, second)
    assert te == pytest.approx(np.average(not_adjacent, weights=weights), rel=1e-12)
    assert (te > 0) == (grid.n_units > 1)


@pytest.mark.parametrize("compiled", [True, False])
def test_errors_of_a_search_by_hand(monkeypatch, compiled):
    # 2x2 map: units 0-1 and 0-2 are neighbours, 0-3 are not (diagonal).
    if not compiled:
        monkeypatch.setattr(_final_pass, "numba", None)
    dist = np.array([1.0, 2.0, 4.0, 8.0], dtype=np.float32)
    best = np.array([0, 0, 0, 3])
    second = np.array([1, 3, 2, -1])  # -1: no second unit, counted as adjacent
    weights = np.array([1.0, 2.0, 0.0, 1.0])
    qe, te = _final_pass.errors(dist, best, second, weights, Grid(2, 2))
    assert qe == (1.0 + 4.0 + 0.0 + 8.0) / 4.0
    assert te == 2.0 / 4.0


def test_final_pass_applies_to_small_dense_data_only():
    X = np.zeros((100, 3))
    assert _final_pass.applies(X, 100, 25)
    assert not _final_pass.applies(X, 99, 25)  # two chunks
    assert not _final_pass.applies(sp.csr_matrix(X), 100, 25)
    assert not _final_pass.applies(np.zeros((100, 65)), 100, 25)  # searched whole


# ---------------------------------------------------------------- online rule


def test_one_online_step_by_hand():
    # 1x3 map, prototypes 0, 1, 2 on a line; one sample at 0.9 -> BMU is unit 1.
    W = np.array([[0.0], [1.0], [2.0]])
    X = np.array([[0.9]])
    d2_grid = Grid(1, 3).squared_distances()
    dist = online_epoch(
        X,
        np.ones(1),
        W,
        np.array([0]),
        d2_grid,
        NEIGHBORHOODS["gaussian"],
        sigmas=np.array([1.0]),
        rates=np.array([0.5]),
    )
    h = np.exp(-np.array([1.0, 0.0, 1.0]) / 2)
    expected = np.array([0.0, 1.0, 2.0]) + 0.5 * h * (0.9 - np.array([0.0, 1.0, 2.0]))
    assert_allclose(W.ravel(), expected)
    assert_allclose(dist, [0.1])


def test_online_weight_two_is_two_steps_towards_the_same_sample():
    d2_grid = Grid(1, 3).squared_distances()
    args = (d2_grid, NEIGHBORHOODS["gaussian"], np.array([1.0, 1.0]), np.array([0.3, 0.3]))
    X = np.array([[0.9]])
    twice = np.array([[0.0], [1.0], [2.0]])
    online_epoch(np.vstack([X, X]), np.ones(2), twice, np.array([0, 1]), *args)
    weighted = np.array([[0.0], [1.0], [2.0]])
    online_epoch(X, np.array([2.0]), weighted, np.array([0]), *args[:2], args[2][:1], args[3][:1])
    assert_allclose(weighted, twice)


def test_repeated_step_size():
    assert_allclose(_repeated_step(np.array([0.5, 0.0, -0.2]), 2.0), [0.75, 0.0, 1 - 1.44])
    assert_allclose(_repeated_step(np.array([1.5]), 0.5), [0.75])  # lr * h > 1: linear


# ---------------------------------------------------------------- batch rule


def test_one_batch_epoch_by_hand():
    # 1x2 map at 0 and 10; rows 1, 2 go to unit 0, row 9 to unit 1.
    W = np.array([[0.0], [10.0]])
    X = np.array([[1.0], [2.0], [9.0]])
    bmu, dist, S, n = batch_statistics(X, np.ones(3), W, batch_size=2)
    assert_array_equal(bmu, [0, 0, 1])
    assert_allclose(dist, [1.0, 2.0, 1.0])
    assert_allclose(S, [[3.0], [9.0]])
    assert_allclose(n, [2.0, 1.0])
    h = np.exp(-1 / 2)  # gaussian, sigma 1, neighbours at distance 1
    pure = batch_update(W, S, n, Grid(1, 2), "gaussian", 1.0, 1.0)
    assert_allclose(pure, [[(3 + 9 * h) / (2 + h)], [(3 * h + 9) / (2 * h + 1)]])
    # The learning rate relaxes the step: halfway from W to the batch map.
    assert_allclose(batch_update(W, S, n, Grid(1, 2), "gaussian", 1.0, 0.5), (W + pure) / 2)


def test_batch_unit_reached_by_no_row_keeps_its_prototype():
    W = np.array([[0.0], [5.0], [10.0]])
    X = np.array([[0.5], [9.5]])
    _, _, S, n = batch_statistics(X, np.ones(2), W, batch_size=10)
    # A bubble of radius 0.5 is the BMU alone.
    assert_allclose(batch_update(W, S, n, Grid(1, 3), "bubble", 0.5, 1.0), [[0.5], [5.0], [9.5]])


def test_mexican_hat_batch_step_by_hand():
    # 1x2 map, sigma 1: h(1) = 0 exactly, so each unit moves to its own rows' mean.
    W = np.array([[0.0], [10.0]])
    X = np.array([[1.0], [2.0], [9.0]])
    _, _, S, n = batch_statistics(X, np.ones(3), W, batch_size=3)
    assert_allclose(batch_update(W, S, n, Grid(1, 2), "mexican_hat", 1.0, 1.0), [[1.5], [9.0]])
    # sigma 0.5: h(1) = -3 exp(-2) pushes; the step is normalised by sum |h| n.
    h = -3 * np.exp(-2)
    expected_0 = 0.0 + (3 + h * 9 - (2 + h) * 0.0) / (2 + abs(h))
    expected_1 = 10.0 + (9 + h * 3 - (1 + 2 * h) * 10.0) / (1 + 2 * abs(h))
    assert_allclose(
        batch_update(W, S, n, Grid(1, 2), "mexican_hat", 0.5, 1.0), [[expected_0], [expected_1]]
    )


@pytest.mark.parametrize(
    "grid",
    [
        Grid(5, 7),
        Grid(5, 7, periodic=True),
        Grid(5, 6, "hexagonal"),
        Grid(6, 5, "hexagonal", periodic=True),
        Grid(1, 5, "hexagonal"),
        Grid(7, 1, "hexagonal"),
    ],
    ids=str,
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_separable_gaussian_product_equals_the_full_matrix(grid, dtype):
    from sklearn_som._neighborhood import axis_neighborhoods, is_separable, separable_product

    assert is_separable(grid, "gaussian")
    M = np.random.RandomState(0).rand(grid.n_units, 4).astype(dtype)
    full = NEIGHBORHOODS["gaussian"](grid.squared_distances(), 1.7) @ M
    g_rows, g_columns = (g[0] for g in axis_neighborhoods(grid, [1.7], dtype))
    fast = separable_product(grid, g_rows, g_columns, M)
    assert fast.dtype == dtype
    assert_allclose(fast, full, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_gaussian_product_goes_by_axis_where_it_splits_and_pays():
    from sklearn_som._neighborhood import is_separable, product_by_axis

    # A hexagonal torus with an odd number of rows is closed with a half shift.
    assert not is_separable(Grid(5, 6, "hexagonal", periodic=True), "gaussian")
    assert not is_separable(Grid(5, 6), "bubble")
    assert product_by_axis(Grid(3, 3), "gaussian")
    assert not product_by_axis(Grid(12, 12, "hexagonal"), "gaussian")  # 144 units: full H
    assert product_by_axis(Grid(15, 10, "hexagonal"), "gaussian")
    assert not product_by_axis(Grid(15, 10, "hexagonal", periodic=True), "gaussian")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_neighborhood_weights_that_are_subnormal_in_the_dtype_are_zero(dtype):
    from sklearn_som._neighborhood import weights_in

    tiny = np.finfo(dtype).tiny
    values = np.array([1.0, -0.5, tiny, -tiny, tiny / 4, -tiny / 4, 0.0])
    out = weights_in(values, dtype)
    assert out.dtype == dtype
    assert_array_equal(out, np.array([1.0, -0.5, tiny, -tiny, 0.0, 0.0, 0.0], dtype=dtype))
    assert_array_equal(values[4], tiny / 4)  # the input is not modified


@pytest.mark.parametrize("topology", ["rectangular", "hexagonal"])
@pytest.mark.parametrize("neighborhood", ["gaussian", "mexican_hat"])
def test_batch_neighborhood_tables_hold_no_float32_subnormals(topology, neighborhood):
    # A 20x30 grid at sigma 1 - 3 reaches Gaussian weights of exp(-88) to
    # exp(-103), subnormal in float32 (and about a hundred cycles a multiply
    # on Intel cores); they are 0 in the tables, the other weights exact.
    grid = Grid(20, 30, topology)
    sigmas = [3.0, 1.5, 1.0]
    tables = _batch_step.neighborhood_tables(grid, neighborhood, sigmas, np.float32)
    exact = _batch_step.neighborhood_tables(grid, neighborhood, sigmas, np.float64)
    tiny = np.finfo(np.float32).tiny
    removed = 0
    # The weights (by level, or along rows and columns) and their absolute values.
    for table, exact_table in zip(tables[:2] + tables[3:], exact[:2] + exact[3:], strict=True):
        assert np.all((table == 0) | (np.abs(table) >= tiny))
        as_float32 = exact_table.astype(np.float32)
        normal = np.abs(as_float32) >= tiny
        assert_array_equal(table[normal], as_float32[normal])
        removed += np.count_nonzero(~normal & (as_float32 != 0))
    assert removed > 0  # there were subnormals to remove


def test_batch_weight_two_equals_a_repeated_row_exactly():
    rng = np.random.RandomState(0)
    X = rng.rand(30, 4)
    weights = rng.randint(0, 4, size=30).astype(float)
    repeated = np.repeat(X, weights.astype(int), axis=0)
    weighted = SelfOrganizingMap(4, 5, max_iter=10).fit(X, sample_weight=weights)
    plain = SelfOrganizingMap(4, 5, max_iter=10).fit(repeated)
    assert_allclose(weighted.cluster_centers_, plain.cluster_centers_, rtol=1e-10, atol=1e-12)
    assert weighted.quantization_error_ == pytest.approx(plain.quantization_error_)


def test_batch_result_does_not_depend_on_row_order():
    rng = np.random.RandomState(1)
    X = rng.rand(50, 3)
    order = rng.permutation(50)
    a = SelfOrganizingMap(3, 3, max_iter=5).fit(X)
    b = SelfOrganizingMap(3, 3, max_iter=5).fit(X[order])
    assert_allclose(a.cluster_centers_, b.cluster_centers_, atol=1e-12)


# ---------------------------------------------------------------- PCA initialisation


def test_pca_init_spans_the_first_two_principal_axes():
    rng = np.random.RandomState(0)
    # Variances 9, 4, 1, 0.25 along a random rotation of the axes.
    rotation, _ = np.linalg.qr(rng.randn(4, 4))
    X = (rng.randn(5000, 4) * [3.0, 2.0, 1.0, 0.5]) @ rotation.T + 7.0
    grid = Grid(6, 8)
    W = pca_init(X, np.ones(len(X)), grid, rng)
    centred = W - X.mean(axis=0)
    axes = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)[2][:2]
    # Every prototype lies in the plane of the first two principal axes ...
    residual = centred - centred @ axes.T @ axes
    assert np.abs(residual).max() < 1e-8 * np.abs(centred).max()
    # ... the longer grid axis (8 columns) follows the first principal axis,
    # and the map spans +-1 standard deviation along each.
    coordinates = centred @ axes.T
    assert np.ptp(coordinates[:, 0]) == pytest.approx(2 * 3.0, rel=0.05)
    assert np.ptp(coordinates[:, 1]) == pytest.approx(2 * 2.0, rel=0.05)
    columns = np.arange(48) % 8
    assert abs(np.corrcoef(coordinates[:, 0], columns)[0, 1]) > 0.999


@pytest.mark.parametrize("sparse_input", [False, True])
def test_exact_principal_axes_are_those_of_the_weighted_covariance(sparse_input):
    # 3000 rows of 40 features: several chunks, summed in order; LAPACK's
    # leading eigenpairs only (from _SUBSET_EIGH_FEATURES = 32 features).
    rng = np.random.RandomState(0)
    X = rng.randn(3000, 40) * np.linspace(3.0, 0.1, 40) + 5.0
    X[rng.rand(*X.shape) < 0.3] = 0.0
    weights = rng.choice([0.0, 0.5, 1.0, 3.0], size=3000)
    data = sp.csr_matrix(X) if sparse_input else X
    mean, variances, axes = principal_axes(data, weights, 3, None)
    expected_mean = np.average(X, axis=0, weights=weights)
    covariance = np.cov(X.T, aweights=weights, bias=True)
    values, vectors = np.linalg.eigh(covariance)
    assert_allclose(mean, expected_mean, rtol=1e-12)
    assert_allclose(variances, values[::-1][:3], rtol=1e-10)
    assert_allclose(np.abs(axes @ vectors[:, ::-1][:, :3]), np.eye(3), atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_principal_axes_of_few_features_equal_the_numpy_path(dtype, monkeypatch):
    from sklearn_som import _init

    if _init.numba is None:
        pytest.skip("numba is not installed")
    rng = np.random.RandomState(0)
    X = (rng.randn(700, 6) * np.linspace(3.0, 0.2, 6) + 5.0).astype(dtype)
    weights = rng.choice([0.0, 0.5, 1.0, 3.0], size=700)
    compiled = principal_axes(X, weights, 3, None)
    # The compiled path sums in float64 whatever the dtype: the definition
    # on the same numbers, to float64 rounding.
    X64 = X.astype(np.float64)
    values, vectors = np.linalg.eigh(np.cov(X64.T, aweights=weights, bias=True))
    assert_allclose(compiled[0], np.average(X64, axis=0, weights=weights), rtol=1e-12)
    assert_allclose(compiled[1], values[::-1][:3], rtol=1e-10)
    assert_allclose(np.abs(compiled[2] @ vectors[:, ::-1][:, :3]), np.eye(3), atol=1e-8)
    largest = compiled[2][np.arange(3), np.argmax(np.abs(compiled[2]), axis=1)]
    assert np.all(largest > 0)
    # The numpy path (products in the dtype of X) gives the same axes, signs
    # included, to the rounding of that dtype.
    monkeypatch.setattr(_init, "_COMPILED_FEATURES", 0)
    reference = principal_axes(X, weights, 3, None)
    tolerance = 1e-12 if dtype == np.float64 else 1e-5
    for got, expected in zip(compiled, reference, strict=True):
        assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


def test_covariance_chunks_are_one_for_small_data_and_bounded_for_wide_data():
    from sklearn_som._init import _chunk_rows

    assert _chunk_rows(3) >= 3000  # RGB colours: one chunk, no thread hand-off
    assert _chunk_rows(784) == 1024
    # A densified chunk of very wide (sparse) rows stays within 2**22 numbers.
    assert 1 <= _chunk_rows(100_000) and _chunk_rows(100_000) * 100_000 <= 2**22
    assert _chunk_rows(10**8) == 1


def test_randomized_principal_axes_match_exact_ones_for_many_features():
    rng = np.random.RandomState(0)
    scales = np.r_[5.0, 3.0, np.full(198, 0.3)]
    X = rng.randn(3000, 200) * scales
    _, variances, axes = principal_axes(X, np.ones(3000), 2, rng)
    exact = np.linalg.eigh(np.cov(X.T, bias=True))
    # One power iteration: an initial plane, not exact eigenvectors (measured:
    # cosines 0.9999 and 0.9991, variances within 0.2%); training refines it.
    assert_allclose(variances, exact[0][::-1][:2], rtol=5e-3)
    assert_allclose(np.abs(axes @ exact[1][:, ::-1][:, :2]), np.eye(2), atol=2e-3)


def test_sampled_rows_follow_the_weights():
    from sklearn_som._init import _sampled_rows

    weights = np.r_[0.0, 1.0, 3.0, 0.0, 4.0, 0.0]
    rows = _sampled_rows(weights, 80, np.random.RandomState(0))
    assert rows.size == 80 and np.all(np.diff(rows) >= 0)
    # Systematic sampling: each row is drawn its share of 80 times, +-1.
    counts = np.bincount(rows, minlength=weights.size)
    assert np.all(np.abs(counts - 80 * weights / weights.sum()) <= 1)
    assert counts[0] == counts[3] == counts[5] == 0


@pytest.mark.parametrize("sparse_input", [False, True])
def test_randomized_principal_axes_on_sampled_rows(monkeypatch, sparse_input):
    from sklearn_som import _init

    monkeypatch.setattr(_init, "_RANDOMIZED_ROWS", 1000)
    rng = np.random.RandomState(0)
    X = rng.randn(3000, 200) * np.r_[5.0, 3.0, np.full(198, 0.3)] + 2.0
    weights = rng.randint(0, 4, size=3000).astype(float)
    data = sp.csr_matrix(X) if sparse_input else X
    mean, variances, axes = principal_axes(data, weights, 2, np.random.RandomState(1))
    exact_mean = np.average(X, axis=0, weights=weights)
    exact = np.linalg.eigh(np.cov(X.T, aweights=weights, bias=True))
    # 1000 rows of 3000: the plane, not the exact axes (measured: cosines
    # 0.9993 and 0.9974, variances within 3.5%).
    assert np.all(np.abs(mean - exact_mean) <= 4 * X.std(axis=0) / np.sqrt(1000))
    assert_allclose(variances, exact[0][::-1][:2], rtol=0.05)
    assert_allclose(np.abs(axes @ exact[1][:, ::-1][:, :2]), np.eye(2), atol=0.05)
    # Weights still act as repeated rows: the same rows are drawn.
    repeated = np.repeat(X, weights.astype(int), axis=0)
    again = principal_axes(repeated, np.ones(len(repeated)), 2, np.random.RandomState(1))
    for got, expected in zip(again, (mean, variances, axes), strict=True):
        assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("grid", [Grid(6, 8), Grid(1, 5), Grid(1, 1), Grid(4, 4, "hexagonal")])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_pca_start_as_factors_gives_the_search_of_its_prototypes(grid, dtype, monkeypatch):
    # The PCA start is Q @ B (ones and the grid's plane coordinates, times
    # the mean and the scaled axes): the first epoch's search goes through
    # those few columns. Its BMUs are the direct search's, its sums and
    # distances the same to rounding; compiled, through numpy, and from
    # sparse rows. Factors with as many columns as X are not used.
    X = (load_digits().data / 16.0).astype(dtype)
    weights = np.random.RandomState(0).choice([0.0, 1.0, 2.5], size=X.shape[0])
    W, factors = _init._pca_start(X, weights, grid, np.random.RandomState(0))
    Q, _, BT = _bmu.prototype_factors(*factors, np.float64)
    assert Q.shape[1] == BT.shape[1] <= 3
    assert_allclose(Q @ BT.T, W, rtol=1e-12, atol=1e-12)
    W = W.astype(dtype)
    direct = batch_statistics(X, weights, W, batch_size=500)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for numba_off, make in [(False, np.asarray), (False, sp.csr_matrix), (True, np.asarray)]:
        with monkeypatch.context() as patch:
            if numba_off:
                patch.setattr(_bmu, "numba", None)
            factored = batch_statistics(make(X), weights, W, batch_size=500, factors=factors)
        assert_array_equal(factored[0], direct[0])
        assert_allclose(factored[1], direct[1], rtol=tolerance, atol=tolerance)
        assert_allclose(factored[2], direct[2], rtol=tolerance, atol=tolerance)
        assert_array_equal(factored[3], direct[3])
    # RGB colours have no more features than the factors have columns.
    rgb = np.random.RandomState(0).uniform(size=(300, 3)).astype(dtype)
    W, factors = _init._pca_start(rgb, np.ones(300), Grid(5, 5), None)
    called = []
    monkeypatch.setattr(_bmu, "_assign_and_sum_factored", lambda *args: called.append(1))
    batch_statistics(rgb, np.ones(300, dtype=dtype), W.astype(dtype), 300, factors=factors)
    assert not called


def test_pca_init_of_a_line_of_units_uses_one_axis():
    X = np.random.RandomState(0).randn(200, 3) * [4.0, 1.0, 0.1]
    W = pca_init(X, np.ones(200), Grid(1, 5), np.random.RandomState(0))
    assert np.ptp(W[:, 0]) > 7 and np.ptp(W[:, 1]) < 1.0


# ---------------------------------------------------------------- compiled online kernel


def _online_problem(seed, dtype, grid):
    rng = np.random.RandomState(seed)
    X = rng.rand(200, 7).astype(dtype)
    weights = rng.choice([0.0, 0.5, 1.0, 2.0, 3.0], size=200).astype(dtype)
    order = rng.permutation(200)
    progress = np.linspace(0, 1, 200)
    sigmas, rates = 3.0 * (0.1**progress), 0.5 * (0.02**progress)
    W = rng.rand(grid.n_units, 7).astype(dtype)
    return X, weights, W, order, sigmas, rates


def _reference_epoch_with_margin(X, weights, W, order, grid, neighborhood, sigmas, rates):
    """The reference epoch, and the smallest relative gap between a row's best and second unit.

    Where that gap is within rounding, the two implementations may rightly
    pick different BMUs (their sums run in different orders) and part ways.
    """
    W, dist, margin = W.copy(), np.empty(order.size), np.inf
    for step in range(order.size):
        d2 = ((W.astype(np.float64) - X[order[step]]) ** 2).sum(axis=1)
        first, second = np.sort(d2)[:2]
        margin = min(margin, (second - first) / max(second, 1e-300))
        dist[step] = online_epoch(
            X,
            weights,
            W,
            order[step : step + 1],
            grid.squared_distances(),
            NEIGHBORHOODS[neighborhood],
            sigmas[step : step + 1],
            rates[step : step + 1],
        )[0]
    return W, dist, margin


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("neighborhood", sorted(NEIGHBORHOODS))
@pytest.mark.parametrize(
    "grid",
    [
        Grid(5, 6),
        Grid(6, 5, periodic=True),
        Grid(5, 6, "hexagonal"),
        Grid(4, 5, "hexagonal", periodic=True),
        Grid(5, 4, "hexagonal", periodic=True),  # odd rows: no separable Gaussian
    ],
    ids=str,
)
@pytest.mark.parametrize("layout", ["row_major", "transposed"])
def test_compiled_online_kernel_equals_the_reference(dtype, neighborhood, grid, layout):
    kernel = compiled_online_epoch(neighborhood, layout)
    if kernel is None:
        pytest.skip("numba is not installed")
    # The first seed whose epoch has no near-tie for the BMU (a relative gap
    # of at least 100 machine epsilons, far above the rounding of the
    # distances): there, any difference would be a defect, not rounding.
    required = 100 * np.finfo(dtype).eps
    for seed in range(20):
        X, weights, W_start, order, sigmas, rates = _online_problem(seed, dtype, grid)
        W_reference, dist_reference, margin = _reference_epoch_with_margin(
            X, weights, W_start, order, grid, neighborhood, sigmas, rates
        )
        if margin > required:
            break
    assert margin > required
    W_compiled = W_start.copy()
    dist_compiled = np.empty(200)
    kernel(
        X,
        weights,
        W_compiled,
        order,
        grid,
        sigmas,
        rates,
        negligible_step(dtype),
        dist_compiled,
    )
    # Summation order differs (the kernel sums in its own order, and finds
    # the next row's BMU while it moves the units), so the two agree to
    # rounding: relative 1e-5 in float32, 1e-12 in float64.
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert W_compiled.dtype == dtype
    assert_allclose(W_compiled, W_reference, rtol=tolerance, atol=tolerance)
    assert_allclose(dist_compiled, dist_reference, rtol=tolerance, atol=tolerance)


def test_online_kernel_splits_the_gaussian_where_the_grid_does():
    for grid in [Grid(5, 6), Grid(6, 5, periodic=True)]:
        assert_array_equal(_online._separable_offsets(grid)[1], grid.axis_offsets()[1])
    for grid in [Grid(5, 6, "hexagonal"), Grid(4, 5, "hexagonal", periodic=True)]:
        assert_array_equal(_online._separable_offsets(grid)[1], grid.hexagonal_offsets()[1])
    assert _online._separable_offsets(Grid(5, 4, "hexagonal", periodic=True))[0].size == 0


@pytest.mark.parametrize(
    "n_features, dtype, layout",
    [
        (3, np.float64, "transposed"),
        (24, np.float64, "transposed"),
        (25, np.float64, "row_major"),
        (64, np.float32, "transposed"),
        (65, np.float32, "row_major"),
    ],
)
def test_compiled_online_epoch_picks_its_sweep_by_the_number_of_features(
    n_features, dtype, layout
):
    if compiled_online_epoch("gaussian") is None:
        pytest.skip("numba is not installed")
    rng = np.random.RandomState(0)
    grid = Grid(4, 5)
    X = rng.rand(50, n_features).astype(dtype)
    W = rng.rand(grid.n_units, n_features).astype(dtype)
    progress = np.linspace(0, 1, 50)
    args = (np.ones(50, dtype=dtype), rng.permutation(50), grid, 2.0 * 0.5**progress)
    args += (0.5 * 0.1**progress, negligible_step(dtype))
    results = []
    for kernel in (compiled_online_epoch("gaussian"), compiled_online_epoch("gaussian", layout)):
        W_out, dist = W.copy(), np.empty(50)
        kernel(X, args[0], W_out, *args[1:], dist)
        results.append((W_out, dist))
    assert_array_equal(results[0][0], results[1][0])
    assert_array_equal(results[0][1], results[1][1])
    assert not np.array_equal(results[0][0], W)


def test_compiled_online_kernels_know_every_neighborhood():
    assert set(_online._CODES) == set(NEIGHBORHOODS)
    signed = {name for name, code in _online._CODES.items() if code == _online.MEXICAN_HAT}
    assert signed == SIGNED


def test_online_fit_with_and_without_numba_agree(monkeypatch):
    import sklearn_som._som as som_module

    X = np.random.RandomState(0).rand(300, 3)
    compiled = SelfOrganizingMap(5, 5, algorithm="online", random_state=0).fit(X)
    monkeypatch.setattr(som_module, "compiled_online_epoch", lambda name: None)
    reference = SelfOrganizingMap(5, 5, algorithm="online", random_state=0).fit(X)
    assert_allclose(compiled.cluster_centers_, reference.cluster_centers_, atol=1e-10)


def test_distance_levels_rebuild_the_distances():
    grid = Grid(6, 5, "hexagonal", periodic=True)
    levels, index = grid.distance_levels()
    assert_array_equal(levels[index], grid.squared_distances())
    assert levels.size < grid.n_units


def test_pca_init_of_one_dimensional_data_on_a_square_grid_has_distinct_units():
    X = np.random.RandomState(0).rand(50, 1)
    W = pca_init(X, np.ones(50), Grid(3, 4), np.random.RandomState(0))
    assert np.unique(W).size == 12
    # Along the long axis (columns) the prototypes increase; each row is a finer step.
    assert np.all(np.diff(W.reshape(3, 4), axis=1) > 0)


# ---------------------------------------------------------------- compiled small-data batch path


_BATCH_GRIDS = [Grid(5, 6), Grid(4, 5, periodic=True), Grid(4, 5, "hexagonal", periodic=True)]
# Every neighbourhood on the small grids, and the Gaussian on hexagonal grids
# large enough for its product to go by axis (150 units or more; there, with
# 120 rows, the bubble's equal prototypes tie exactly).
_BATCH_CASES = [(grid, name) for grid in _BATCH_GRIDS for name in sorted(NEIGHBORHOODS)] + [
    (Grid(15, 10, "hexagonal"), "gaussian"),
    (Grid(10, 16, "hexagonal", periodic=True), "gaussian"),
]


def _batch_problem(dtype, grid):
    """120 rows of 7 features, weights from 0 to 3, and random prototypes for ``grid``."""
    rng = np.random.RandomState(0)
    X = rng.rand(120, 7).astype(dtype)
    weights = rng.choice([0.0, 0.5, 1.0, 2.0, 3.0], size=120).astype(dtype)
    return X, weights, rng.rand(grid.n_units, 7).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("grid", "neighborhood"), _BATCH_CASES, ids=str)
def test_compiled_batch_epoch_equals_the_reference(dtype, neighborhood, grid):
    if _small_batch.numba is None:
        pytest.skip("numba is not installed")
    X, weights, W = _batch_problem(dtype, grid)
    x_sq = (X.astype(np.float64) ** 2).sum(axis=1).astype(dtype)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    # Epoch by epoch from the reference's prototypes, so that a rounding-level
    # tie cannot send a row to another unit and compound over epochs.
    # (A radius covering the whole map would make every prototype equal: all ties.)
    for sigma, rate in [(1.5, 1.0), (1.2, 0.7), (0.6, 1.0)]:
        _, dist, S, n = batch_statistics(X, weights, W, batch_size=32)
        reference = batch_update(W, S, n, grid, neighborhood, sigma, rate)
        compiled, errors = _small_batch.batch_epochs(
            X, weights, x_sq, W, grid, neighborhood, [sigma], [rate]
        )
        assert compiled.dtype == dtype
        assert_allclose(compiled, reference, rtol=tolerance, atol=tolerance)
        assert errors[0] == pytest.approx(np.dot(dist, weights) / weights.sum(), rel=tolerance)
        W = reference


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("grid", "neighborhood"), _BATCH_CASES, ids=str)
def test_compiled_batch_update_equals_the_reference_to_the_bit(dtype, neighborhood, grid):
    # The chunked path's neighbourhood product and relaxed step, one compiled
    # call: the reference's operations in the reference's order. A unit no
    # row reaches (bubble and triangle at sigma 0.6) keeps its prototype.
    # A fit takes its tables for several radii from one step_tables call:
    # each must give the step of its radius alone.
    if _batch_step.numba is None:
        pytest.skip("numba is not installed")
    X, weights, W = _batch_problem(dtype, grid)
    _, _, S, n = batch_statistics(X, weights, W, batch_size=32)
    W_before = W.copy()
    schedule = [(1.5, 1.0), (1.2, 0.7), (0.6, 1.0)]
    tables = _batch_step.step_tables(grid, neighborhood, [sigma for sigma, _ in schedule], dtype)
    assert len(tables) == len(schedule)
    for (sigma, rate), table in zip(schedule, tables, strict=True):
        reference = batch_update(W, S, n, grid, neighborhood, sigma, rate)
        compiled = _batch_step.batch_update(W, S, n, grid, neighborhood, sigma, rate)
        assert compiled.dtype == dtype
        assert_array_equal(compiled, reference)
        from_table = _batch_step.batch_update(W, S, n, grid, neighborhood, sigma, rate, table)
        assert_array_equal(from_table, reference)
    assert_array_equal(W, W_before)


@pytest.mark.parametrize("batch_size", [None, 50], ids=["compiled epochs", "chunked epochs"])
@pytest.mark.parametrize(("shape", "topology"), [((6, 7), "rectangular"), ((15, 10), "hexagonal")])
def test_separable_batch_map_makes_no_unit_by_unit_array(batch_size, shape, topology, monkeypatch):
    # The Gaussian on a rectangular grid, or a hexagonal one of 150 units or
    # more, goes axis by axis: neither path may build the grid's (n_units,
    # n_units) distances, 10**8 numbers on a 100 x 100 map.
    def unit_by_unit(grid):
        raise AssertionError(f"(n_units, n_units) array made for {grid}")

    monkeypatch.setattr(_grid, "_squared_distances", unit_by_unit)
    monkeypatch.setattr(_grid, "_distance_levels", unit_by_unit)
    X = np.random.RandomState(0).rand(200, 3)
    som = SelfOrganizingMap(
        *shape, topology=topology, max_iter=3, batch_size=batch_size, random_state=0
    ).fit(X)
    assert np.isfinite(som.quantization_error_)
    with pytest.raises(AssertionError, match="n_units, n_units"):
        SelfOrganizingMap(
            *shape, topology=topology, neighborhood="bubble", max_iter=1, batch_size=batch_size
        ).fit(X)


@pytest.mark.parametrize("topology", ["rectangular", "hexagonal"])
def test_separable_online_fit_makes_no_unit_by_unit_array(topology, monkeypatch):
    # The online rule's Gaussian split by axis, on rows of weight 1, reads no
    # grid distance levels; other weights take the general path, which does.
    if _online.numba is None:
        pytest.skip("numba is not installed")

    def unit_by_unit(grid):
        raise AssertionError(f"(n_units, n_units) array made for {grid}")

    monkeypatch.setattr(_grid, "_squared_distances", unit_by_unit)
    monkeypatch.setattr(_grid, "_distance_levels", unit_by_unit)
    X = np.random.RandomState(0).rand(200, 3)
    som = SelfOrganizingMap(6, 7, topology=topology, algorithm="online", random_state=0)
    assert np.isfinite(som.fit(X).quantization_error_)
    with pytest.raises(AssertionError, match="n_units, n_units"):
        som.fit(X, sample_weight=np.full(200, 2.0))


def test_small_fits_take_the_compiled_path_and_match_the_chunked_one(monkeypatch):
    X = np.random.RandomState(0).rand(60, 3)
    calls = []
    original = _small_batch.batch_epochs

    def spy(*args, **kwargs):
        calls.append(len(args[-2]))  # epochs per call
        return original(*args, **kwargs)

    monkeypatch.setattr(_small_batch, "batch_epochs", spy)
    compiled = SelfOrganizingMap(4, 5, max_iter=8, random_state=0).fit(X)
    assert calls == [8]  # all epochs in one call
    chunked = SelfOrganizingMap(4, 5, max_iter=8, random_state=0, batch_size=16).fit(X)
    assert calls == [8]  # more rows than batch_size: the chunked path
    assert_allclose(compiled.cluster_centers_, chunked.cluster_centers_, atol=1e-12)
    assert_allclose(compiled.quantization_errors_, chunked.quantization_errors_, rtol=1e-12)
    verbose = SelfOrganizingMap(4, 5, max_iter=8, random_state=0, verbose=1).fit(X)
    assert calls == [8] + [1] * 8  # one call per epoch, to report each
    assert_array_equal(verbose.cluster_centers_, compiled.cluster_centers_)


@pytest.mark.parametrize("n_features", [3, 40])  # both sweeps of the online kernel
def test_online_epochs_in_one_call_match_one_call_per_epoch(monkeypatch, n_features):
    import sklearn_som._som as som_module

    X = np.random.RandomState(0).rand(60, n_features)
    weights = np.random.RandomState(1).choice([0.0, 1.0, 2.5], size=60)
    calls = []
    original = som_module.compiled_online_epoch

    def spy(name):
        kernel = original(name)

        def counted(X, sample_weight, W, order, *args):
            calls.append(order.size // X.shape[0])  # epochs per call
            return kernel(X, sample_weight, W, order, *args)

        return counted

    monkeypatch.setattr(som_module, "compiled_online_epoch", spy)
    params = dict(algorithm="online", max_iter=7, random_state=0)
    grouped = SelfOrganizingMap(4, 5, **params).fit(X, sample_weight=weights)
    assert calls == [7]
    verbose = SelfOrganizingMap(4, 5, verbose=1, **params).fit(X, sample_weight=weights)
    assert calls == [7] + [1] * 7
    monkeypatch.setattr(som_module, "_ONLINE_STEPS_PER_CALL", 150)  # two epochs per call
    pairs = SelfOrganizingMap(4, 5, **params).fit(X, sample_weight=weights)
    assert calls == [7] + [1] * 7 + [2, 2, 2, 1]
    for other in (verbose, pairs):
        assert_array_equal(other.cluster_centers_, grouped.cluster_centers_)
        assert_array_equal(other.quantization_errors_, grouped.quantization_errors_)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_first_argmin_is_numpys_argmin(dtype):
    if _bmu.numba is None:
        pytest.skip("numba is not installed")
    rng = np.random.RandomState(0)
    for n in [1, 2, 3, 4, 5, 7, 8, 9, 100, 101]:
        # Few distinct values, so most rows have ties: the first one wins.
        for values in [rng.normal(size=n), rng.randint(-3, 3, size=n), np.full(n, 2.5)]:
            values = values.astype(dtype)
            index, value = _bmu.first_argmin(values)
            assert index == np.argmin(values)
            assert value == values.min()
    # Two minima at every pair of places.
    for position in range(11):
        values = np.ones(11, dtype=dtype)
        values[position] = -1
        values[10 - position if position != 5 else 0] = -1
        assert _bmu.first_argmin(values)[0] == np.argmin(values)
    # Signed zeros are equal, infinities and the extremes order as floats.
    info = np.finfo(dtype)
    cases = [
        [0.0, -0.0, 1.0],
        [-0.0, 0.0, 1.0],
        [1.0, 0.0, -0.0],
        [np.inf, -np.inf, 0.0],
        [np.inf, np.inf],
        [info.max, -info.max, -info.tiny, info.tiny],
        [info.smallest_subnormal, -info.smallest_subnormal, 0.0],
    ]
    for values in cases:
        values = np.array(values, dtype=dtype)
        index, value = _bmu.first_argmin(values)
        assert index == np.argmin(values), values
        assert value == values.min()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_order_keys_order_floats_and_give_them_back(dtype):
    # The searches' order keys (see first_argmin): a float's key and the
    # float of that key, in compiled code; keys order as the floats do, and
    # -0.0 has the key of 0.0 (and gives 0.0 back).
    if _bmu.numba is None:
        pytest.skip("numba is not installed")
    import numba

    @numba.njit
    def keys_and_back(values):
        keys = np.empty(values.shape[0], dtype=np.int64)
        back = np.empty_like(values)
        for j in range(values.shape[0]):
            keys[j] = _bmu._key_of(values[j])
            back[j] = _bmu._float_of_key(keys[j], values[j])
        return keys, back

    info = np.finfo(dtype)
    special = [0.0, -0.0, np.inf, -np.inf, info.max, -info.max, info.tiny, -info.tiny]
    special += [info.smallest_subnormal, -info.smallest_subnormal, 1.0, -1.0]
    rng = np.random.RandomState(0)
    values = np.concatenate([special, rng.normal(size=500) * 10.0 ** rng.randint(-30, 30, 500)])
    values = values.astype(dtype)
    keys, back = keys_and_back(values)
    assert_array_equal(back, np.where(values == 0, 0.0, values).astype(dtype))
    assert not np.signbit(back[values == 0]).any()
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(keys[order]) >= 0)
    assert np.all((np.diff(keys[order]) == 0) == (np.diff(values[order]) == 0))


@pytest.mark.parametrize("n_units", [30, 31, 2, 1])  # the bests end in either pair
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unit_minima_find_each_columns_first_smallest(dtype, n_units):
    # The training searches' minima, unit by unit over all rows at once:
    # for each column of D + w_sq[:, None], argmin's unit (the first of
    # equal values, -0.0 equal to 0.0) and its value, in the dtype of D.
    if _bmu.numba is None:
        pytest.skip("numba is not installed")
    rng = np.random.RandomState(0)
    D = rng.randint(-3, 4, size=(n_units, 200)).astype(dtype)  # many ties
    D[:, :50] = rng.normal(size=(n_units, 50)) * 10.0 ** rng.randint(-20, 20, (n_units, 50))
    D[:, 50] = 0.0
    D[::2, 50] = -0.0
    w_sq = np.zeros(n_units, dtype=dtype)
    w_sq[5:] = rng.randint(0, 2, size=max(0, n_units - 5))
    best = np.full(210, -1, dtype=np.int64)
    best_d = np.full(210, np.nan, dtype=dtype)
    spare, spare_d = np.full(200, -7, dtype=np.int64), np.full(200, 7.0, dtype=dtype)
    _bmu.unit_minima(D, w_sq, best, best_d, spare, spare_d)
    total = D + w_sq[:, None]
    assert_array_equal(best[:200], np.argmin(total, axis=0))
    assert_array_equal(best_d[:200], total.min(axis=0))
    assert best[50] == 0 and best_d[50] == 0.0
    assert (best[200:] == -1).all()  # only D's columns are written


@pytest.mark.parametrize("n_features", [8, 128])  # the transposed and row-major sweeps
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_online_steps_flush_subnormal_prototype_values_to_zero(dtype, n_features):
    # A feature that is 0 in every row (as digits' border pixels) shrinks
    # every unit's value on it geometrically; both sweeps of the online
    # kernel set what falls below the smallest normal float to 0, so no
    # prototype value is subnormal (such values slow Intel cores about a
    # hundredfold).
    X = np.random.RandomState(0).rand(300, n_features).astype(dtype)
    X[:, 1] = 0.0
    tiny = np.finfo(dtype).tiny
    init = np.random.RandomState(1).rand(25, n_features).astype(dtype)
    init[:, 1] = 64 * tiny  # a few steps from the subnormal range
    som = SelfOrganizingMap(5, 5, algorithm="online", max_iter=10, init=init, random_state=0)
    W = som.fit(X).cluster_centers_
    assert not np.any((W != 0) & (np.abs(W) < tiny))
    assert np.all(W[:, 1] == 0)
    assert np.all(W[:, [0, 2]] > 0.05)  # the other features are untouched by it
