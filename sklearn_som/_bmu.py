"""Best-matching-unit search: distances as one matrix product per chunk.

For a chunk of rows ``X_c`` and prototypes ``W``, the squared Euclidean
distances are ``|x|^2 - 2 x.w + |w|^2``; the ``x.w`` term is one BLAS matrix
product (``X_c @ W.T``). Chunks of ``batch_size`` rows bound the memory to
about ``batch_size * n_units`` numbers per thread, whatever the number of
rows, and run in parallel (:mod:`sklearn_som._parallel`). ``X`` may be a
dense array or a CSR matrix; results have the dtype of ``X`` and ``W``.

Two searches share that product:

- training (:func:`batch_statistics`): the argmin of ``|w|^2 - 2 x.w``, fused
  with the per-unit sums of the batch map into one compiled pass over the
  chunk (:func:`assign_and_sum`). With at most ``_BLOCKED_MAX_FEATURES``
  features the product is made a block of rows at a time inside that pass,
  and each block is searched while it is still in cache: the distance block
  then costs more to write and read back than to compute. Measured on whole
  10-epoch fits, A/B in one process (2-core AMD EPYC), the same maps to the
  bit: RGB 3000x3 on 10x10 1.25x (float32) and 1.30x (float64) faster, on
  30x30 1.07x and 1.39x, digits on 20x20 1.08x and 1.10x, 100,000 x 50 blobs
  1.38x; on 784 features the blocks were slower (each product repacks
  ``W``), so those keep the whole block. The blocks are searched unit by
  unit (:func:`unit_minima`, on ``-2 W @ X[block].T``), not row by row:
  whole fits A/B in fresh processes (2-core Intel Xeon), the same maps to
  the bit, RGB 3000x3 on 10x10 1.36x (float64) and 1.51x (float32), on
  30x30 1.11x and 1.43x, 20,000 x 10 blobs on 20x20 1.17x, digits level.
  Float64 data with enough features and units make that product in float32
  and re-check the near-best units in float64 (``_recheck_and_sum``): the
  same units as the float64 product, up to that product's own rounding.
  Whole fits, A/B in one process, gave the same maps to the bit at 1.11x -
  1.15x the speed (digits on 20x20, 10 epochs), 1.24x - 1.32x (100,000 x 50
  blobs on 20x20) and 1.30x (20,000 x 784 blobs on 20x20, 3 epochs).
  Prototypes given as ``Q @ B`` with few columns (the PCA start's plane,
  :func:`prototype_factors`) are searched through ``X @ B.T`` instead: the
  batch map's first epoch after a PCA start, 4.2x faster on 70,000 x 784;
- ``predict``, ``labels_`` and the metrics (:func:`best_matching_units`): the
  argmin of the very distances ``transform`` returns, so ``predict(X)`` always
  equals ``transform(X).argmin(axis=1)``, ties and rounding included. With
  at most ``_BLOCKED_MAX_FEATURES`` features both make the product in the
  same blocks of rows (:func:`product_block_rows`), each used while in cache.
  A/B in one process against the whole chunk's product, medians, the same
  results: ``predict`` 1.27x (RGB 3000x3 on 10x10, float64), 1.20x (on
  30x30), 1.14x (digits on 20x20, float64), 1.35x (100,000 x 50 blobs),
  1.03x - 1.15x in float32, 0.97x on iris; ``transform`` 0.98x - 1.28x;
  whole fits, whose final pass is this search, 1.00x - 1.07x.
"""

import numpy as np
from scipy import sparse
from sklearn.utils import assert_all_finite
from sklearn.utils.extmath import row_norms

from ._parallel import blas_limit, map_chunks, n_threads

try:
    import numba
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None

# Rows per chunk when the caller does not say: the chunk's distance block
# holds at most about 2**20 numbers (4 MiB in float32), the rows are split
# over the threads when there are enough of them and enough work for each,
# and into a multiple of that number of threads of equal chunks (see
# auto_batch_size).
_CHUNK_ELEMENTS = 2**20
_MIN_CHUNK_ROWS = 256

# Work for one thread, in multiply-adds of the search's product: less than
# this per thread stays on the calling thread, whose search of a whole pass
# then takes about as long as handing chunks to the pool and waiting for them.
# A distance's share of the search beyond its product (the argmin's scan, at
# about 1 ns a distance) counts as ``_SCAN_MULTIPLY_ADDS`` multiply-adds.
_THREAD_MIN_WORK = 2**23
_SCAN_MULTIPLY_ADDS = 20

# From this many numbers ``checked_row_norms`` splits the rows over the
# threads, half each on two. Medians of 7 in one process (2-core Xeon),
# 70,000 x 784 float32 (MNIST-sized): 8.0 ms on two threads, 15.1 ms on one;
# before, with blocks of 2**17 numbers whose minimum, maximum and norms were
# taken while in cache (the finite check and the data's range), 18.1 ms on two
# threads and 25.9 ms on one.
_NORMS_THREAD_MIN_ELEMENTS = 2**23

# Training search on data with at most this many features goes through the
# distance block a few rows at a time (see ``_assign_in_blocks``), each block
# about ``_BLOCK_ELEMENTS`` numbers.
_BLOCKED_MAX_FEATURES = 64
_BLOCK_ELEMENTS = 2**14
# Rows per block of the training search, searched unit by unit: 64, or 32
# where 64 rows of data would take more than ``_TRAINING_BLOCK_BYTES``. One
# search kernel, one thread, ms for 32 / 64 / 128 rows: 20,000 x 20 on 4000
# units 22 / 19 / 21 (float32) and 40 / 43 / 49 (float64); on 400 units
# 1.9 / 1.5 / 2.0 and 3.0 / 2.9 / 3.7; digits-sized (64 features, 400 units)
# 0.70 / 0.88 / 0.86 and 1.3 / 1.6 / 1.7; RGB on 100 units 0.09 / 0.07 /
# 0.08 and 0.10 / 0.10 / 0.13-0.16. With 128 rows a block's distances on
# 4000 units took 2 - 4 MB, beyond the core's cache. That was an Intel Xeon;
# on an AMD EPYC (Zen 3), the same kernel on trained maps, ms for 32 / 64 /
# 128 rows, float64 and float32: RGB 10x10 0.28 / 0.22 / 0.21 and 0.23 /
# 0.19 / 0.17, RGB 30x30 1.98 / 1.92 / 1.96 and 1.71 / 1.34 / 1.29, digits
# 3.19 / 3.13 / 3.09 and 1.87 / 1.61 / 1.69, 20,000 x 20 on 400 units 14.8 /
# 13.9 / 13.9 and 9.7 / 9.9 / 7.6: 128 rows would suit it better.
_TRAINING_BLOCK_ROWS = 64
_TRAINING_BLOCK_BYTES = 2**13

# Float64 training searches make their product in float32 and re-check the
# near-best units in float64 (``_recheck_and_sum``) from this many features,
# units and multiply-adds per row. Speed-ups of the training search of one
# chunk, one thread, against the float64 product, on blob data: 64 features
# on 100 / 400 / 900 units 1.00x / 1.41x / 1.54x; 32 features 0.93x / 1.2x /
# 1.3x; 16 features 0.87x / 1.07x / 1.12x; 8 features 0.84x / 1.2x - 1.3x /
# 0.84x - 0.93x; 4 features 0.79x / 0.89x / 0.9x - 1.1x. Whole chunks of 784
# features on 16 / 36 / 64 / 100 / 144 / 225 / 400 units 0.50x / 0.71x /
# 0.90x / 1.05x / 1.15x / 1.34x / 1.47x (rounding the rows to float32 costs
# about what the float32 product saves on few units); 200 features on 64 /
# 400 units 1.0x - 1.2x / 1.7x.
_FLOAT32_SEARCH_MIN_FEATURES = 16
_FLOAT32_SEARCH_MIN_UNITS = 128
_FLOAT32_SEARCH_MIN_WORK = 2**13
# ... and stop it, for the float64 product, in a chunk whose rows so far
# would re-check more than ``_MAX_RECHECKS_PER_ROW`` units a row (or more than
# that times ``_RECHECK_PROBE_ROWS`` in its first rows). Digits re-check 1.0 -
# 1.2 units a row; scaled by 1e-3 and shifted by 1e6 (searched from zero,
# before search_origin), all 400 of a 20x20 map, and the fit took 6.3x the
# float64 product's time without this stop. Once a chunk stops, the fit's
# later passes use the float64 product (Float32Search): such fits took 0.89x
# - 0.97x the float64 product's time when every chunk of every pass tried
# again, 0.99x - 1.01x now (digits so placed, 20,000 x 784 blobs), A/B in one
# process. Data far from zero are now searched from their centre, where the
# float32 product goes through; tight clusters far apart (five of spread 1e-4
# in [0, 1]^64, 20x20 map) still stop it once the map has settled into them.
_RECHECK_PROBE_ROWS = 64
_MAX_RECHECKS_PER_ROW = 4
# Numbers in a block of the float32 search's product, where it goes by blocks
# (up to 64 features). Its rows are searched one by one, so the block needs no
# more than to stay in cache; larger blocks make fewer products, each of which
# packs W again (OpenBLAS). Whole 10-epoch fits, AMD EPYC, fresh processes,
# medians of 3 - 5, the same maps to the bit, for 2**14 / 2**16 / 2**17 /
# 2**18: digits float64 on 20x20 28.7 / 27.2 / 24.8 / 26.2 ms, 100,000 x 50
# blobs on 20x20 846 (2**14) and 783 / 783 / 756 ms. 2**17 float32 numbers
# are 512 KiB, the L2 cache of one of the EPYC's (Zen 3) cores.
_FLOAT32_BLOCK_ELEMENTS = 2**17
# Rows whose mean is the candidate origin of search_origin, and how far
# beyond their spread it must lie to be used: 2**(p / 4) for a p-bit
# significand (a quarter of the bits lost to cancellation).
_ORIGIN_SAMPLE_ROWS = 256
_ORIGIN_RATIO = {
    np.dtype(dtype): 2.0 ** ((np.finfo(dtype).nmant + 1) / 4) for dtype in (np.float32, np.float64)
}


def auto_batch_size(n_samples, n_units, n_features, blocked=False):
    """Rows per chunk: equal chunks, as many as the memory bound asks, rounded up to the threads.

    The memory bound is on a chunk's distances, ``_CHUNK_ELEMENTS``
    numbers; with ``blocked`` (the searches go by blocks of rows,
    :func:`training_block_rows`, and never hold a chunk's distances) it is
    on the chunk's data instead, ``_CHUNK_ELEMENTS`` numbers of ``X``: on
    many units the distance bound had made small chunks whose fixed costs
    (per-unit sums, a round trip to the pool) outweighed their search. One
    training search of 20,000 x 20 float32 on 4000 units, one process: 33.1
    ms in chunks of 257 rows, 21.1 - 21.9 ms in chunks of 2,500 to 10,000
    (float64: 36.6 against 24.9 - 27.1 ms).

    Every thread then gets as many rows. Before, the memory bound alone set
    the chunk: RGB 3000 x 3 on a 30x30 map took chunks of 1165, 1165 and 670
    rows, so one of two threads searched 1835 rows and the other 1165; now
    it takes four of 750. Measured (float64): whole fits in fresh processes
    15.2 against 16.6 ms in one A/B, 22.5 against 23.0 ms (level) in a second
    on a busier machine; one training search in one process, 1.58 against
    1.44 ms. So the gain is not established; the rule is kept because no
    thread waits on a longer last chunk.

    Only as many threads count as have ``_THREAD_MIN_WORK`` each: RGB 3000 x 3
    on a 10x10 map (about 7e6 multiply-adds a pass with the scan) stays on
    one thread, in one chunk. On the 2-core VM a round trip to the pool cost
    31 - 86 us (medians) with nothing to do, and 87 - 192 us in a minute
    when two threads ran little faster than one; a 10-epoch batch fit of
    that case took 5.08 against 6.33 ms (float64) and 4.53 against 6.29 ms
    (float32) in one chunk, medians of 5 processes each (5.74 against 7.84
    and 4.67 against 7.82 ms in one process); its final pass alone, in an
    earlier session, 420 us on one thread against 470 us on two.
    """
    work = n_samples * n_units * (n_features + _SCAN_MULTIPLY_ADDS)
    threads = max(1, min(n_threads(), work // _THREAD_MIN_WORK))
    by_memory = max(1, _CHUNK_ELEMENTS // max(n_features if blocked else n_units, 1))
    n_chunks = -(-n_samples // by_memory)
    n_chunks = -(-n_chunks // threads) * threads
    rows = -(-n_samples // n_chunks) if n_samples else 0
    return int(max(1, min(n_samples, by_memory, max(rows, _MIN_CHUNK_ROWS))))


def checked_row_norms(X, estimator_name=None):
    """The rows' squared norms, with ``X`` checked finite.

    Returns ``x_sq`` equal to ``row_norms(X, squared=True)``, bit for bit.
    NaN or infinity raises scikit-learn's own error (``assert_all_finite``),
    from the calling thread. The norms are the check: a row holding NaN or
    infinity has a norm that is not finite (its squares are NaN or infinite,
    and squares cannot cancel), so the data are read once, not twice; only
    where a norm is not finite (NaN, infinity, or finite values whose
    squares overflow) is ``X`` checked value by value. From
    ``_NORMS_THREAD_MIN_ELEMENTS`` numbers the rows are split over the
    threads, each row's norm made by the same call on the same row as in
    ``row_norms(X)``.
    """
    if sparse.issparse(X) or X.size < _NORMS_THREAD_MIN_ELEMENTS:
        x_sq = row_norms(X, squared=True)
    else:
        x_sq = np.empty(X.shape[0], dtype=X.dtype)

        def norms(part):
            np.einsum("ij,ij->i", X[part], X[part], out=x_sq[part])

        parts = chunk_slices(X.shape[0], -(-X.shape[0] // n_threads()))
        list(map_chunks(norms, parts))
    if not np.isfinite(x_sq).all():
        assert_all_finite(X, estimator_name=estimator_name, input_name="X")
        values = X.data if sparse.issparse(X) else X
        if not np.isfinite(values).all():
            # Only reached when scikit-learn is told to assume finite data.
            raise ValueError("Input X contains NaN or infinity.")
    return x_sq


def safe_scale(X, x_sq):
    """A power of two to divide ``X`` by so that squared distances stay finite and normal.

    ``1.0`` when the largest magnitude lies within ``2**(maxexp / 4)`` and
    ``2**(minexp / 4)`` of the dtype (about 1e77 and 1e-77 for float64, 4e9 and
    5e-10 for float32), as almost all data does; otherwise the largest
    magnitude rounded down to a power of two, so that dividing is exact.
    ``x_sq`` holds the rows' squared norms (:func:`checked_row_norms`): the
    largest magnitude lies between the square roots of their largest and of
    that over the number of features, which settles almost all data without
    reading ``X`` again; the rest read its largest and smallest value.
    """
    info = np.finfo(X.dtype)
    lowest, highest = info.minexp // 4, info.maxexp // 4
    largest = float(x_sq.max()) if x_sq.size else 0.0
    # largest >= peak**2 and <= n_features * peak**2, each up to the norms'
    # rounding: a factor 2 to spare below; above, the bound 2**highest on
    # the peak leaves a factor 2 before its exponent passes highest.
    if 2.0 ** (2 * lowest + 2) * X.shape[1] <= largest <= 2.0 ** (2 * highest):
        return 1.0
    values = X.data if sparse.issparse(X) else X
    peak = max(float(values.max()), -float(values.min())) if values.size else 0.0
    if peak == 0:
        return 1.0
    exponent = int(np.floor(np.log2(peak)))
    if lowest <= exponent <= highest:
        return 1.0
    return 2.0**exponent


def search_origin(X, x_sq):
    """A point near the centre of dense ``X`` to subtract before any distance, or ``None``.

    ``|x|^2 - 2 x.w + |w|^2`` loses about ``log2(|x|^2 / |x - w|^2)`` of
    the dtype's bits to cancellation. Float32 data far from zero next to
    their spread lose them all: on iris shifted by 1000 (float32),
    ``predict`` missed the nearest unit for 83% of the rows and
    ``quantization_error_`` came out at a fifth of the true value (0.063
    against 0.317); on digits scaled to [0, 1] and shifted by 100, 28% of the
    rows. Distances do not change when rows and prototypes move by the same
    vector, so the map searches (and trains) ``X`` minus this point, as
    scikit-learn's ``KMeans`` centres its data. The point is the mean ``c``
    of up to ``_ORIGIN_SAMPLE_ROWS`` rows spread evenly over ``X`` (any
    point near the data serves), in the dtype of ``X``; it is returned where
    ``|c|^2`` exceeds those rows' mean squared distance to it,
    ``mean |x|^2 - |c|^2`` (from ``x_sq``, the rows' squared norms), by
    more than ``_ORIGIN_RATIO``: ``2**(p / 4)`` for a ``p``-bit
    significand, 64 in float32 and about 9,700 in float64. Data nearer zero
    (centred, or scaled to [0, 1]: about 3 on iris) keep their bits as they
    are, and no copy of them is made. Sparse data (which subtracting would
    make dense) get ``None``.
    """
    if sparse.issparse(X) or X.shape[0] == 0:
        return None
    step = max(1, X.shape[0] // _ORIGIN_SAMPLE_ROWS)
    n_rows = min(_ORIGIN_SAMPLE_ROWS, -(-X.shape[0] // step))
    sample_centre = _sample_centre if numba is not None else _sample_centre_numpy
    centre, far, mean_sq = sample_centre(X, x_sq, step, n_rows)
    # mean_sq - far is off by a few roundings of far: well within the margin.
    if not far > (mean_sq - far) * _ORIGIN_RATIO[X.dtype]:
        return None
    return centre.astype(X.dtype)


def _sample_centre_numpy(X, x_sq, step, n_rows):
    # Of rows 0, step, 2 step, ...: their mean c (float64), |c|^2 and their
    # mean squared norm. No sum overflows: every row's squared norm is finite.
    rows = X[::step][:n_rows]
    centre = np.add.reduce(rows, axis=0, dtype=np.float64) / n_rows
    mean_sq = float(np.add.reduce(x_sq[::step][:n_rows], dtype=np.float64)) / n_rows
    return centre, float(np.dot(centre, centre)), mean_sq


if numba is not None:

    @numba.njit(cache=True, nogil=True)
    def _sample_centre(X, x_sq, step, n_rows):
        # _sample_centre_numpy in one compiled call (inside a fit of iris,
        # 0.33 ms, its numpy calls took 9 us).
        centre = np.zeros(X.shape[1])
        mean_sq = 0.0
        for r in range(n_rows):
            i = r * step
            for f in range(X.shape[1]):
                centre[f] += X[i, f]
            mean_sq += x_sq[i]
        far = 0.0
        for f in range(X.shape[1]):
            centre[f] /= n_rows
            far += centre[f] * centre[f]
        return centre, far, mean_sq / n_rows


def chunk_product_size(chunks, n_units, n_features, block_rows=None):
    """Multiply-adds of the largest ``X @ W.T`` product made on ``chunks`` of ``X``.

    A whole chunk's, or a block's where the rows are multiplied
    ``block_rows`` at a time (:func:`product_block_rows`).
    """
    rows = chunks[0].stop - chunks[0].start if chunks else 0
    if block_rows is not None:
        rows = min(rows, block_rows)
    return rows * n_units * n_features


def chunk_slices(n_samples, batch_size):
    return [
        slice(start, min(start + batch_size, n_samples))
        for start in range(0, n_samples, batch_size)
    ]


def product_block_rows(X, n_units):
    """Rows per ``X @ W.T`` product of the searches and of :func:`distances`.

    Dense data with at most ``_BLOCKED_MAX_FEATURES`` features are taken
    ``_block_rows(n_units)`` rows at a time, each block's distances used
    while still in cache; other data one chunk at a time (``None``). The
    training search takes these blocks under numba. The exact search and
    :func:`distances` take them always, with ``W.T`` in the same
    (C-contiguous) layout, so they see the same products: OpenBLAS's result
    for a row can change with the number of rows multiplied at once and with
    the layout of ``W.T`` (RGB 3000 x 3 on a 30x30 map, float64).
    """
    if sparse.issparse(X) or X.shape[1] > _BLOCKED_MAX_FEATURES:
        return None
    return _block_rows(n_units)


def training_block_rows(X, n_units):
    """Rows per product of the training search (``None``: a whole chunk).

    Under numba, where :func:`product_block_rows` takes blocks,
    ``_TRAINING_BLOCK_ROWS`` (64), or half that where 64 rows hold more than
    ``_TRAINING_BLOCK_BYTES`` (more than 32 float32 or 16 float64 features):
    the search goes unit by unit over a block's rows
    (``_assign_in_blocks``), so a block needs enough rows to fill the vector
    lanes, whatever the number of units. Without numba the numpy search
    multiplies whole chunks.
    """
    if numba is None or product_block_rows(X, n_units) is None:
        return None
    row_bytes = X.shape[1] * X.dtype.itemsize
    if _TRAINING_BLOCK_ROWS * row_bytes > _TRAINING_BLOCK_BYTES:
        return _TRAINING_BLOCK_ROWS // 2
    return _TRAINING_BLOCK_ROWS


def search_product_size(X, chunks, n_units):
    """Multiply-adds of the largest product any search makes on ``chunks`` of ``X``.

    The training search's blocks (:func:`training_block_rows`), the exact
    search's (:func:`product_block_rows`) and, where float64 data may take
    it, the float32 search's (:func:`float32_block_rows`).
    """
    sizes = [training_block_rows(X, n_units), product_block_rows(X, n_units)]
    if (
        sizes[1] is not None
        and X.dtype == np.float64
        and _uses_float32_search(n_units, X.shape[1])
    ):
        sizes.append(float32_block_rows(n_units))
    return max(chunk_product_size(chunks, n_units, X.shape[1], rows) for rows in sizes)


def _root_distances_numpy(d, x_sq, w_sq):
    # What ``_root_distances`` does, in five numpy passes.
    d *= -2.0
    d += w_sq
    d += x_sq[:, None]
    np.maximum(d, 0.0, out=d)
    np.sqrt(d, out=d)


def distances(X_chunk, W, w_sq=None, out=None, WT=None, x_sq=None):
    """Euclidean distances of one chunk of rows to every unit.

    ``sqrt(max(|x|^2 - 2 x.w + |w|^2, 0))``, in that order: the product
    ``X_chunk @ W.T``, then one compiled pass (``_root_distances``) instead
    of five numpy passes over the block, with the same operations and so the
    same bits. Per chunk, one thread: RGB 3000 x 3 on 30x30 1.06 against
    3.65 ms (float32), digits on 20x20 2.38 against 3.68 ms (float64) and
    1.15 against 1.78 ms (float32), iris on 10x10 34 against 87 us. With
    few features the product is made in the blocks of :func:`product_block_rows`.
    Written into ``out``, of shape ``(n_rows, n_units)``, if given; ``WT``
    and ``x_sq``, if given, are ``np.ascontiguousarray(W.T)`` and the rows'
    squared norms.
    """
    if w_sq is None:
        w_sq = row_norms(W, squared=True)
    if out is None:
        out = np.empty((X_chunk.shape[0], W.shape[0]), dtype=W.dtype)
    if x_sq is None:
        x_sq = row_norms(X_chunk, squared=True)
    root = _root_distances_numpy if numba is None else _root_distances
    block_rows = product_block_rows(X_chunk, W.shape[0])
    if block_rows is None:
        if sparse.issparse(X_chunk):
            out[...] = X_chunk @ W.T
        else:
            np.matmul(X_chunk, W.T, out=out)
        root(out, x_sq, w_sq)
        return out
    WT = np.ascontiguousarray(W.T) if WT is None else WT
    X_chunk = np.ascontiguousarray(X_chunk)
    if numba is not None:
        _distances_in_blocks(X_chunk, WT, x_sq, w_sq, block_rows, out)
        return out
    for start in range(0, X_chunk.shape[0], block_rows):
        rows = slice(start, start + block_rows)
        np.matmul(X_chunk[rows], WT, out=out[rows])
        root(out[rows], x_sq[rows], w_sq)
    return out


def _assign_and_sum_numpy(XW, w_sq, x_sq, X, sample_weight, S, n):
    d = XW * -2.0 + w_sq
    bmu = np.argmin(d, axis=1)
    d_best = d[np.arange(d.shape[0]), bmu] + x_sq
    if sparse.issparse(X):
        M = sparse.csc_array(
            (sample_weight, bmu, np.arange(bmu.size + 1)), shape=(S.shape[0], bmu.size)
        )
        S += (M @ X).toarray()
    else:
        np.add.at(S, bmu, sample_weight[:, None] * X)
    n += np.bincount(bmu, weights=sample_weight, minlength=S.shape[0]).astype(n.dtype)
    return bmu, np.sqrt(np.maximum(d_best, 0.0))


if numba is not None:
    from numba import types
    from numba.extending import overload

    _FLOAT_AND_INT = {types.float64: (np.float64, np.int64), types.float32: (np.float32, np.int32)}

    def _ordered_bits(values):
        """``values`` viewed as signed integers of the same width (compiled code only)."""
        raise NotImplementedError

    @overload(_ordered_bits)
    def _ordered_bits_of(values):
        int_type = _FLOAT_AND_INT[values.dtype][1]
        return lambda values: values.view(int_type)

    def _key_of(value):
        """Order key of one float (compiled code only): see :func:`first_argmin`."""
        raise NotImplementedError

    @overload(_key_of)
    def _key_of_float(value):
        float_type, int_type = _FLOAT_AND_INT[value]
        largest = int_type(np.iinfo(int_type).max)

        def key_of(value):
            b = float_type(value).view(int_type)
            return -(b & largest) if b < 0 else b

        return key_of

    def _float_of_key(key, like):
        """The float of ``like``'s type whose order key is ``key`` (compiled code only).

        For key 0 that is 0.0, never -0.0 (equal to it, with the same key).
        """
        raise NotImplementedError

    @overload(_float_of_key)
    def _float_of_key_impl(key, like):
        float_type, int_type = _FLOAT_AND_INT[like]
        largest = int_type(np.iinfo(int_type).max)

        def float_of_key(key, like):
            return int_type(key if key >= 0 else -key - largest - 1).view(float_type)

        return float_of_key

    @numba.njit(nogil=True)
    def _smallest_key(values):
        # The smallest order key of ``values`` (see first_argmin).
        smallest = _key_of(values[0])
        for j in range(values.shape[0]):
            key = _key_of(values[j])
            smallest = key if key < smallest else smallest
        return smallest

    @numba.njit(nogil=True)
    def _first_key_at_most(values, limit):
        # The first index whose order key is at most ``limit`` (one must be).
        n = values.shape[0]
        first = n - 1
        for j in range(n):
            candidate = j if _key_of(values[j]) <= limit else n
            first = candidate if candidate < first else first
        return first

    @numba.njit(nogil=True, inline="always")
    def _sum_smallest_key(a, b, out):
        # ``out = a + b`` and its smallest order key, in one pass: the pass
        # that makes a row of distances also reduces it (the float32
        # search's rows). In the float64 training search, before it went
        # unit by unit (unit_minima), this took RGB 3000 x 3 fitted maps
        # 0.26 -> 0.25 ms (10x10, float64), 1.25 -> 1.15 ms and 1.10 -> 0.99 ms
        # (30x30, float64 and float32). Inlined by numba (``inline="always"``):
        # as a call per row, on a row slice, the 10x10 search took 0.35 ms.
        smallest = _key_of(a[0] + b[0])
        for j in range(out.shape[0]):
            value = a[j] + b[j]
            out[j] = value
            key = _key_of(value)
            smallest = key if key < smallest else smallest
        return smallest

    @numba.njit(nogil=True)
    def first_argmin(values):
        """Index and value of the first smallest of ``values`` (at least one, no NaN).

        For the compiled kernels' searches over a row of unit distances. A
        float's bits read as a signed integer ``b`` order the non-negative
        floats; ``-(b & largest)`` (minus the magnitude bits) orders the
        negative ones below them, and maps -0.0 to the key of 0.0, to which it
        is equal. The smallest key, then the first index holding it, are two
        integer reductions that the compiler vectorises; comparing floats one
        by one waits on each comparison's result. Per search of 100 / 400 /
        900 values (float64): 38 / 108 / 224 ns, against 48 / 239 / 446 ns
        with four running float minima and 63 / 280 / 720 ns with one.
        """
        first = _first_key_at_most(values, _smallest_key(values))
        return first, values[first]

    @numba.njit(cache=True, nogil=True)
    def _root_distances(d, x_sq, w_sq):
        # d[i, j] = x_i.w_j in, the Euclidean distance out, with the same
        # operations in the same order as the numpy path of ``distances``
        # (and ``_best_two``), in the block's dtype.
        minus_two = np.full(1, -2.0, dtype=d.dtype)[0]
        zero = np.zeros(1, dtype=d.dtype)[0]
        for i in range(d.shape[0]):
            x_sq_i = x_sq[i]
            for j in range(d.shape[1]):
                q = d[i, j] * minus_two
                q += w_sq[j]
                q += x_sq_i
                d[i, j] = np.sqrt(max(q, zero))

    @numba.njit(cache=True, nogil=True)
    def _distances_in_blocks(X, WT, x_sq, w_sq, block_rows, out):
        # ``distances`` of dense X: ``out[block] = X[block] @ WT``, block by
        # block, each turned into distances while still in cache.
        for start in range(0, X.shape[0], block_rows):
            stop = min(start + block_rows, X.shape[0])
            np.dot(X[start:stop], WT, out[start:stop])
            _root_distances(out[start:stop], x_sq[start:stop], w_sq)

    @numba.njit(cache=True, nogil=True)
    def _distances_and_sums(d, x_sq, X, sample_weight, bmu, S, n, dist):
        # d[i, j] = |w_j|^2 - 2 x_i.w_j; bmu[i] its argmin; x_sq[i] = |x_i|^2.
        for i in range(X.shape[0]):
            best = bmu[i]
            dist[i] = np.sqrt(max(d[i, best] + x_sq[i], 0.0))
            s = sample_weight[i]
            if s != 0:
                for f in range(X.shape[1]):
                    S[best, f] += s * X[i, f]
                n[best] += s

    @numba.njit(nogil=True)
    def unit_minima(D, w_sq, best, best_d, spare, spare_d):
        """For each column ``i`` of ``D``, the first smallest of ``D[:, i] + w_sq``.

        Writes its unit to ``best[i]`` and its value to ``best_d[i]``;
        ``spare`` and ``spare_d`` (int64 and ``D``'s dtype, at least as long
        as ``D`` is wide) are scratch. Unit by unit, each unit's row compared
        with every column's best so far: a loop over the columns that the
        compiler vectorises (keeping the best on ties, as ``argmin`` keeps
        the first; no NaN). Searching column by column instead, each search
        is a reduction that waits on itself: 150 rows of iris on 100 units
        took 5.4 against 2.0 us (Intel Xeon).

        Each unit's loop reads the bests so far from one pair of arrays and
        writes them, with ``min`` and an integer blend, to the other: the
        pairs take turns, starting with the one that leaves the last unit's
        bests in ``best`` and ``best_d``. A loop that updated the bests in
        place (``if d < best_d[i]: ...``) was compiled with masked stores
        (``vmaskmovpd``), which AMD's Zen 3 runs slowly: 100 units x 64
        columns took 6.2 against 1.6 us (float64) and 1.9 us (float32).
        """
        n_units, m = D.shape
        if n_units % 2:
            now, now_d, other, other_d = best, best_d, spare, spare_d
        else:
            now, now_d, other, other_d = spare, spare_d, best, best_d
        for i in range(m):
            now[i] = 0
            now_d[i] = D[0, i] + w_sq[0]
        for j in range(1, n_units):
            now, now_d, other, other_d = other, other_d, now, now_d
            w_sq_j = w_sq[j]
            for i in range(m):
                d = D[j, i] + w_sq_j
                so_far = other_d[i]
                now_d[i] = min(so_far, d)  # so_far unless d < so_far
                now[i] = other[i] + (j - other[i]) * np.int64(d < so_far)

    @numba.njit(cache=True, nogil=True)
    def _assign_in_blocks(X, Y, W2, w_sq, x_sq, sample_weight, block_rows, bmu, dist, S, n):
        # The training search and the per-unit sums with the distances made
        # ``block_rows`` rows at a time, ``W2 @ Y[block].T`` (BLAS; W2 = -2 W,
        # C-contiguous; d = |w|^2 - 2 x.w), and searched unit by unit
        # (unit_minima) while still in cache: with few features, writing the
        # whole chunk's distances to memory and reading them back costs more
        # than the product itself. A last, shorter block is padded with
        # zero rows: every product has the same shape, so a row's distances
        # do not depend on where its block starts (OpenBLAS's differed in
        # the last bit between blocks of 72 and 44 rows). ``Y`` is ``X``, or
        # where the prototypes are ``Q @ B`` (factors), ``X @ B.T``, with
        # ``W2 = -2 Q``: the product goes over their few columns instead.
        n_samples, n_features = X.shape
        n_units, n_columns = W2.shape
        rows = max(1, min(block_rows, n_samples))
        YT = np.zeros((n_columns, rows), dtype=W2.dtype)
        D = np.empty((n_units, rows), dtype=W2.dtype)
        best = np.empty(rows, dtype=np.int64)
        best_d = np.empty(rows, dtype=W2.dtype)
        spare = np.empty(rows, dtype=np.int64)
        spare_d = np.empty(rows, dtype=W2.dtype)
        for start in range(0, n_samples, rows):
            stop = min(start + rows, n_samples)
            if stop - start < rows:
                YT[:] = 0
            for c in range(n_columns):
                for r in range(stop - start):
                    YT[c, r] = Y[start + r, c]
            np.dot(W2, YT, D)
            unit_minima(D, w_sq, best, best_d, spare, spare_d)
            for i in range(start, stop):
                b = best[i - start]
                bmu[i] = b
                dist[i] = np.sqrt(max(best_d[i - start] + x_sq[i], 0.0))
                s = sample_weight[i]
                if s != 0:
                    for f in range(n_features):
                        S[b, f] += s * X[i, f]
                    n[b] += s

    @numba.njit(cache=True, nogil=True)
    def _shifted_float32(X, start, stop, shift, rows32, norms):
        # rows32[r] = float32(X[start + r] - shift), norms[r] = |X[start + r] - shift|.
        for r in range(stop - start):
            norm = 0.0
            for f in range(X.shape[1]):
                v = X[start + r, f] - shift[f]
                rows32[r, f] = v
                norm += v * v
            norms[r] = np.sqrt(norm)

    @numba.njit(cache=True, nogil=True)
    def _recheck_and_sum(
        X, W, w_sq, x_sq, w_sq32, bounds, products, norms, start, sample_weight, bmu, dist, S, n,
        checked,
    ):  # fmt: skip
        # The float64 training search from a float32 product of rows and
        # prototypes shifted by the same vector (the distances do not change):
        # ``products[r] = float32(x - shift) . float32(-2 (W - shift)).T`` for
        # row ``i = start + r`` and ``w_sq32 = float32(|W - shift|^2)``.
        # ``d[j] = products[r, j] + w_sq32[j]`` then differs from the float64
        # ``|w_j|^2 - 2 x.w_j`` by a row constant plus at most ``margin / 4``
        # (see ``float32_search_terms``), so only the units with
        # ``d[j] <= min(d) + margin`` can be the float64 argmin. Those are
        # computed in float64 (one dot product each: usually a single unit,
        # found by a count the compiler vectorises) and the first smallest
        # wins. A unit left out loses by more than twice the float32 error,
        # far above the float64 rounding, so the result is the float64
        # search's. Then the distances and the per-unit sums.
        #
        # ``checked`` counts the units to re-check in the chunk's rows before
        # ``start``. Where the margin is wide next to the gaps between the
        # prototypes' distances (data far from the prototypes' mean next to
        # their spread), most units fall within it and one dot product each
        # costs more than the float32 product saved: the search stops before
        # the row whose candidates take the count beyond
        # ``_MAX_RECHECKS_PER_ROW`` times the rows so far (or times
        # ``_RECHECK_PROBE_ROWS`` within the first ones). Returns the rows
        # done (all of them, or up to where it stopped) and the new count;
        # the caller does the rest with the float64 product.
        n_features = X.shape[1]
        n_units = w_sq32.shape[0]
        coefficient32, coefficient64, w_norm_max, w_sq_max, w_norm_max64, w_sq_max64, tiny = bounds
        d = np.empty(n_units, dtype=np.float32)
        infinity = np.float32(np.inf)
        for r in range(products.shape[0]):
            i = start + r
            smallest = _float_of_key(_sum_smallest_key(products[r], w_sq32, d), infinity)
            margin = (
                coefficient32 * (2.0 * norms[r] * w_norm_max + w_sq_max)
                + coefficient64 * (2.0 * np.sqrt(x_sq[i]) * w_norm_max64 + w_sq_max64)
                + tiny
            )
            limit = np.float32(smallest + margin)
            if limit < smallest + margin:
                limit = np.nextafter(limit, infinity)
            # One pass for the number of candidates and the first of them:
            # where it is the only one, it is the float32 argmin. (The
            # argmin's own second pass and a count took 1.40 against 1.27 ms
            # for the whole kernel on digits 20x20, one thread.)
            candidates = 0
            first = n_units
            for j in range(n_units):
                within = d[j] <= limit
                candidates += within
                candidate = j if within else n_units
                first = candidate if candidate < first else first
            checked += candidates
            if checked > _MAX_RECHECKS_PER_ROW * max(start + r + 1, _RECHECK_PROBE_ROWS):
                return r, checked
            last = n_units if candidates > 1 else first + 1
            best, best_d = first, np.inf
            for j in range(first, last):
                if d[j] <= limit:
                    product = 0.0
                    for f in range(n_features):
                        product += X[i, f] * W[j, f]
                    value = w_sq[j] - 2.0 * product
                    if value < best_d:
                        best, best_d = j, value
            bmu[i] = best
            dist[i] = np.sqrt(max(best_d + x_sq[i], 0.0))
            s = sample_weight[i]
            if s != 0:
                for f in range(n_features):
                    S[best, f] += s * X[i, f]
                n[best] += s
        return products.shape[0], checked

    @numba.njit(cache=True, nogil=True)
    def _assign_in_blocks_float32(
        X, W, w_sq, x_sq, shift, W2T32, w_sq32, bounds, sample_weight, first_rows, block_rows,
        bmu, dist, S, n,
    ):  # fmt: skip
        # ``_assign_in_blocks`` for float64 data, with ``_recheck_and_sum``'s
        # float32 product made a block of rows at a time: ``first_rows``
        # rows, then ``block_rows`` at a time. Returns the rows done: fewer
        # than all where the re-checks stopped it.
        n_samples, n_features = X.shape
        most = max(first_rows, block_rows)
        rows32 = np.empty((most, n_features), dtype=np.float32)
        block = np.empty((most, W2T32.shape[1]), dtype=np.float32)
        norms = np.empty(most, dtype=np.float64)
        checked = 0
        start = 0
        while start < n_samples:
            stop = min(start + (block_rows if start else first_rows), n_samples)
            _shifted_float32(X, start, stop, shift, rows32, norms)
            products = block[: stop - start]
            np.dot(rows32[: stop - start], W2T32, products)
            done, checked = _recheck_and_sum(
                X, W, w_sq, x_sq, w_sq32, bounds, products, norms, start,
                sample_weight, bmu, dist, S, n, checked,
            )  # fmt: skip
            if done < stop - start:
                return start + done
            start = stop
        return n_samples


def _uses_float32_search(n_units, n_features):
    """Whether float64 training searches with a float32 product (see ``float32_search_terms``)."""
    return (
        n_features >= _FLOAT32_SEARCH_MIN_FEATURES
        and n_units >= _FLOAT32_SEARCH_MIN_UNITS
        and n_units * n_features >= _FLOAT32_SEARCH_MIN_WORK
    )


class Float32Search:
    """Whether a fit's float64 training searches still start with the float32 product.

    One per fit, passed to every :func:`batch_statistics` of its epochs.
    A chunk whose float32 search stops (most units within the margin, see
    ``_recheck_and_sum``) turns it off for the passes that follow. The
    margin is wide where rows lie far from the prototypes' mean next to the
    gaps between the prototypes near them (tight clusters far apart, or data
    far from zero searched from zero): a matter of where the data sit, which
    later epochs change little, and on such data every chunk of every pass
    stopped, each after paying for the float32 terms and its first rows'
    product. Should a later pass have kept it, the rest of the
    fit loses at most the float32 product's gain (1.1x - 1.5x a pass).
    """

    __slots__ = ("active",)

    def __init__(self):
        self.active = True


def float32_search_terms(W, w_sq):
    """What the float32 search of float64 data needs, or ``None`` where it does not apply.

    Returns ``(shift, W2T32, w_sq32, bounds)`` for ``_recheck_and_sum``:
    the prototypes' mean as the shift, ``-2 (W - shift).T`` and
    ``|W - shift|^2`` in float32, and the constants of the error bound. A
    product of ``K`` terms rounded to float32 and summed in float32 (in any
    order) is off by at most ``(K + 3) u`` times the sum of the terms'
    magnitudes (``u = 2**-24``), which Cauchy-Schwarz bounds by
    ``|x| |w|``; with the rounding of ``|w|^2`` and of the last sum, a
    float32 distance is off by less than
    ``(K + 8) u (2 |x - shift| max|w - shift| + max|w - shift|^2)``, and the
    float64 ones by the same with ``2**-53`` and the unshifted norms. The
    margin is four times each, plus ``(K + 1) 2**-100`` for products that
    fall below float32's normal range. Float32 must hold every value: the
    search applies where the prototypes' norms lie within ``2**-30`` and
    ``2**40`` and, as :func:`assign_and_sum` checks chunk by chunk, the rows'
    norms are at most ``2**40`` (any smaller row is covered: values below
    float32's normal range by the margin's absolute term).
    """
    K = W.shape[1]
    if numba is None or W.dtype != np.float64 or not _uses_float32_search(W.shape[0], K):
        return None
    w_sq_max64 = float(w_sq.max())
    if not 2.0**-60 <= w_sq_max64 <= 2.0**80:
        return None
    shift = W.mean(axis=0)
    shifted = W - shift
    shifted_sq = np.einsum("ij,ij->i", shifted, shifted)
    bounds = (
        4.0 * (K + 8) * 2.0**-24,
        4.0 * (K + 8) * 2.0**-53,
        float(np.sqrt(shifted_sq.max())),
        float(shifted_sq.max()),
        float(np.sqrt(w_sq_max64)),
        w_sq_max64,
        (K + 1) * 2.0**-100,
    )
    W2T32 = np.ascontiguousarray((shifted * -2.0).T, dtype=np.float32)
    return shift, W2T32, shifted_sq.astype(np.float32), bounds


def _block_rows(n_units, elements=None):
    """Rows per block: a power of two near ``elements`` (``_BLOCK_ELEMENTS``) values."""
    elements = _BLOCK_ELEMENTS if elements is None else elements
    rows = max(1, elements // max(n_units, 1))
    return 1 << (rows.bit_length() - 1)


def float32_block_rows(n_units):
    """Rows per block of the float32 search's product (``_FLOAT32_BLOCK_ELEMENTS``)."""
    return _block_rows(n_units, _FLOAT32_BLOCK_ELEMENTS)


def assign_and_sum(
    X_chunk,
    W,
    w_sq,
    sample_weight,
    W2=None,
    x_sq=None,
    terms=False,
    float32_search=None,
    factors=None,
):
    """BMUs of a chunk (training search), their distances, per-unit sums and weights.

    ``W2``, if given, is ``-2 * W`` and ``x_sq`` the rows' squared norms
    (both fixed across chunks, and ``x_sq`` across a whole fit); ``terms``,
    if not ``False``, is ``float32_search_terms(W, w_sq)``. Returns
    ``(bmu, dist, S, n)`` with ``S[j] = sum_{b(i)=j} s_i x_i`` and
    ``n[j] = sum_{b(i)=j} s_i`` over the chunk's rows. A float32 search
    that stops turns ``float32_search`` (a :class:`Float32Search`), if
    given, off. ``factors``, if given, is :func:`prototype_factors` of ``W``.
    """
    S = np.zeros_like(W)
    n = np.zeros(W.shape[0], dtype=W.dtype)
    if x_sq is None:
        x_sq = row_norms(X_chunk, squared=True)
    if factors is not None:
        return _assign_and_sum_factored(X_chunk, w_sq, sample_weight, x_sq, factors, S, n)
    if numba is None or sparse.issparse(X_chunk):
        XW = np.asarray(X_chunk @ W.T)
        bmu, dist = _assign_and_sum_numpy(XW, w_sq, x_sq, X_chunk, sample_weight, S, n)
        return bmu, dist, S, n
    bmu = np.empty(X_chunk.shape[0], dtype=np.int64)
    dist = np.empty(X_chunk.shape[0], dtype=W.dtype)
    block_rows = training_block_rows(X_chunk, W.shape[0])
    blocked = block_rows is not None
    if blocked:
        X_chunk = np.ascontiguousarray(X_chunk)
    if terms is False:
        terms = float32_search_terms(W, w_sq)
    done = 0
    if terms is not None and x_sq.size and x_sq.max() <= 2.0**80:
        shift, W2T32, w_sq32, bounds = terms
        # With many features, the first rows alone, then the rest at once: a
        # search that stops early has not made the whole chunk's product.
        float32_rows = float32_block_rows(W.shape[0])
        first_rows, rest_rows = (
            (float32_rows, float32_rows)
            if blocked
            else (_RECHECK_PROBE_ROWS, max(X_chunk.shape[0] - _RECHECK_PROBE_ROWS, 1))
        )
        done = _assign_in_blocks_float32(
            np.ascontiguousarray(X_chunk), W, w_sq, x_sq, shift, W2T32, w_sq32, bounds,
            sample_weight, first_rows, rest_rows, bmu, dist, S, n,
        )  # fmt: skip
        if done < X_chunk.shape[0] and float32_search is not None:
            float32_search.active = False
    if done == X_chunk.shape[0]:
        return bmu, dist, S, n
    # The float64 product, for the whole chunk or the rows after a stopped
    # float32 search.
    rest = slice(done, None)
    X_rest, x_sq_rest, weights_rest = X_chunk[rest], x_sq[rest], sample_weight[rest]
    W2 = W * -2.0 if W2 is None else W2
    if blocked:
        _assign_in_blocks(
            X_rest,
            X_rest,
            np.ascontiguousarray(W2),
            w_sq,
            x_sq_rest,
            weights_rest,
            block_rows,
            bmu[rest],
            dist[rest],
            S,
            n,
        )
    else:
        # numpy's SIMD argmin, then one compiled pass over the rows for the rest.
        d = X_rest @ W2.T
        d += w_sq
        bmu[rest] = np.argmin(d, axis=1)
        _distances_and_sums(d, x_sq_rest, X_rest, weights_rest, bmu[rest], S, n, dist[rest])
    return bmu, dist, S, n


def prototype_factors(mean, plane, axes, dtype):
    """What the training search needs of prototypes ``mean + plane @ axes``, in ``dtype``.

    That is ``W = Q @ B`` with ``Q = [1, plane]`` of shape ``(n_units, r)``
    and ``B = [mean; axes]``, few columns ``r`` (the PCA start: the mean and
    the plane's two axes, ``r = 3``), so ``x.w_j = (B x).q_j``: the search
    makes ``X @ B.T`` (``r`` numbers a row, one pass over the data) and
    searches those against ``Q``, ``r`` multiply-adds per unit instead of
    ``n_features``. Returns ``(Q, -2 Q, B.T)``, C-contiguous.
    """
    Q = np.column_stack([np.ones(plane.shape[0]), plane]).astype(dtype)
    BT = np.ascontiguousarray(np.vstack([mean, axes]).T, dtype=dtype)
    return Q, np.ascontiguousarray(Q * -2.0), BT


def _assign_and_sum_factored(X_chunk, w_sq, sample_weight, x_sq, factors, S, n):
    # assign_and_sum for prototypes Q @ B (see prototype_factors): the same
    # d = |w|^2 - 2 x.w, with x.w from X @ B.T and Q; the sums from X.
    Q, Q2, BT = factors
    Y = np.asarray(X_chunk @ BT)
    if numba is None or sparse.issparse(X_chunk):
        bmu, dist = _assign_and_sum_numpy(Y @ Q.T, w_sq, x_sq, X_chunk, sample_weight, S, n)
        return bmu, dist, S, n
    bmu = np.empty(X_chunk.shape[0], dtype=np.int64)
    dist = np.empty(X_chunk.shape[0], dtype=S.dtype)
    X_chunk = np.ascontiguousarray(X_chunk)
    _assign_in_blocks(
        X_chunk, Y, Q2, w_sq, x_sq, sample_weight, _TRAINING_BLOCK_ROWS, bmu, dist, S, n
    )
    return bmu, dist, S, n


def best_two_of(d, second=True):
    """BMU, its distance and the second BMU of each row of the distances ``d``.

    The first smallest of each row, then the first smallest of the rest
    (``-1`` with a single unit; ``None`` without ``second``): what
    :func:`best_matching_units` finds, ties and rounding included, for ``d``
    from :func:`distances`. ``d`` is left as it was.
    """
    rows = np.arange(d.shape[0])
    best = np.argmin(d, axis=1).astype(np.int64, copy=False)
    dist = d[rows, best]
    if not second:
        return best, dist, None
    bmu2 = np.full(d.shape[0], -1, dtype=np.int64)
    if d.shape[1] > 1:
        d[rows, best] = np.inf
        bmu2 = np.argmin(d, axis=1).astype(np.int64, copy=False)
        d[rows, best] = dist
    return best, dist, bmu2


def _exact_chunk_numpy(X_chunk, W, WT, w_sq, second, x_sq):
    return best_two_of(distances(X_chunk, W, w_sq, WT=WT, x_sq=x_sq), second)


if numba is not None:

    @numba.njit(nogil=True)
    def _same_root_limit(key, like):
        # The largest key of a non-negative float with the same square root
        # as the float of ``key`` (of ``like``'s type): sqrt maps a few
        # neighbouring floats to one.
        root = np.sqrt(_float_of_key(key, like))
        while np.sqrt(_float_of_key(key + 1, like)) == root:
            key += 1
        return key

    @numba.njit(cache=True, nogil=True)
    def _best_two(XW, x_sq, w_sq, best, dist, second, find_second=True):
        # The distances of ``distances`` (same operations in the same order,
        # so the same bits), then the first of the smallest and the first of
        # the smallest of the rest, where "smallest" compares square roots as
        # ``transform`` returns them: first the smallest squared distance's
        # key (see first_argmin), then the first unit whose key is at most the
        # largest key with the same root, then the same with the best unit's
        # key masked. Integer reductions the compiler vectorises, instead of
        # a scan that compares square roots one by one: per 899 - 750 rows
        # (digits 20x20, RGB 30x30 and 10x10, float64 and float32), 1.09x -
        # 1.57x faster; iris 10x10 (150 rows) 0.99x and 0.86x.
        # Without ``find_second`` (predict, and the metrics that need the best
        # unit only) the second reduction is skipped and ``second`` is -1.
        # A row's squared distances go to a buffer first, in a loop that
        # LLVM vectorises (finding their smallest key in the same loop, as
        # ``_sum_smallest_key`` does, was no faster here). Constants in the
        # block's dtype, so float32 arithmetic stays float32.
        minus_two = np.full(1, -2.0, dtype=XW.dtype)[0]
        zero = np.zeros(1, dtype=XW.dtype)[0]
        n_units = XW.shape[1]
        squared = np.empty(n_units, dtype=XW.dtype)
        bits = _ordered_bits(squared)
        largest = np.iinfo(bits.dtype).max
        for i in range(XW.shape[0]):
            x_sq_i = x_sq[i]
            for j in range(n_units):
                q = XW[i, j] * minus_two
                q += w_sq[j]
                q += x_sq_i
                squared[j] = max(q, zero)
            limit = _same_root_limit(_smallest_key(squared), zero)
            b1 = _first_key_at_most(squared, limit)
            best[i] = b1
            dist[i] = np.sqrt(squared[b1])
            if n_units == 1 or not find_second:
                second[i] = -1
                continue
            bits[b1] = largest  # masked: above every finite key
            limit = _same_root_limit(_smallest_key(squared), zero)
            second[i] = _first_key_at_most(squared, limit)

    @numba.njit(cache=True, nogil=True)
    def _best_two_in_blocks(X, WT, x_sq, w_sq, block_rows, best, dist, second, find_second):
        # ``_best_two`` of dense X, with its products made block by block, as
        # ``_distances_in_blocks`` makes them, and searched while in cache.
        block = np.empty((min(block_rows, X.shape[0]), WT.shape[1]), dtype=WT.dtype)
        for start in range(0, X.shape[0], block_rows):
            stop = min(start + block_rows, X.shape[0])
            r = slice(start, stop)
            products = block[: stop - start]
            np.dot(X[r], WT, products)
            _best_two(products, x_sq[r], w_sq, best[r], dist[r], second[r], find_second)


def _exact_chunk(X_chunk, W, WT, w_sq, second, x_sq=None):
    """BMU (and second BMU) of a chunk from the distances ``transform`` returns.

    ``WT`` is ``np.ascontiguousarray(W.T)``, made once for all chunks.
    """
    if numba is None:
        return _exact_chunk_numpy(X_chunk, W, WT, w_sq, second, x_sq)
    n = X_chunk.shape[0]
    best, bmu2 = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    dist = np.empty(n, dtype=W.dtype)
    if x_sq is None:
        x_sq = row_norms(X_chunk, squared=True)
    block_rows = product_block_rows(X_chunk, W.shape[0])
    if block_rows is None:
        _best_two(np.asarray(X_chunk @ W.T), x_sq, w_sq, best, dist, bmu2, second)
    else:
        X_chunk = np.ascontiguousarray(X_chunk)
        _best_two_in_blocks(X_chunk, WT, x_sq, w_sq, block_rows, best, dist, bmu2, second)
    return best, dist, (bmu2 if second else None)


def best_matching_units(X, W, batch_size, *, second=False, x_sq=None):
    """BMU of every row of ``X`` and its distance, from the distances ``transform`` returns.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    W : ndarray of shape (n_units, n_features), same dtype as ``X``
    batch_size : int
        Rows per chunk.
    second : bool, default=False
        Also return the second-best unit of each row (``-1`` when the map
        has a single unit).
    x_sq : ndarray of shape (n_samples,), default=None
        The rows' squared norms, ``row_norms(X, squared=True)``, if already
        computed.

    Returns
    -------
    bmu : ndarray of shape (n_samples,), int64
    dist : ndarray of shape (n_samples,)
        Euclidean distance of each row to its BMU.
    bmu2 : ndarray of shape (n_samples,), int64
        Only when ``second=True``.
    """
    w_sq = row_norms(W, squared=True)
    WT = np.ascontiguousarray(W.T)

    def work(chunk):
        chunk_sq = None if x_sq is None else x_sq[chunk]
        return _exact_chunk(X[chunk], W, WT, w_sq, second, chunk_sq)

    chunks = chunk_slices(X.shape[0], batch_size)
    product_size = chunk_product_size(chunks, *W.shape, product_block_rows(X, W.shape[0]))
    with blas_limit(len(chunks), product_size):
        parts = list(map_chunks(work, chunks))
    bmu = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, dtype=np.int64)
    dist = np.concatenate([p[1] for p in parts]) if parts else np.empty(0, dtype=W.dtype)
    if second:
        return bmu, dist, np.concatenate([p[2] for p in parts])
    return bmu, dist


def batch_statistics(
    X, sample_weight, W, batch_size, x_sq=None, float32_search=None, factors=None
):
    """One pass over the data: BMUs, their distances, per-unit sums and weights.

    ``x_sq``, the rows' squared norms, can be computed once per fit and passed;
    ``float32_search``, a :class:`Float32Search`, is the fit's record of
    whether the float32 product is still worth trying. ``factors``, if
    given, is ``(mean, plane, axes)`` with ``W`` equal to
    ``mean + plane @ axes`` up to its rounding (:func:`prototype_factors`).
    """
    w_sq = row_norms(W, squared=True)
    if x_sq is None:
        x_sq = row_norms(X, squared=True)
    S = np.zeros_like(W)
    n = np.zeros(W.shape[0], dtype=W.dtype)
    bmu, dist = [], []
    if factors is not None and 1 + factors[1].shape[1] >= X.shape[1]:
        factors = None  # no fewer columns than X's: nothing to gain (RGB 3000 x 3: level)
    if factors is not None:
        factors = prototype_factors(*factors, W.dtype)
        tried = False
    else:
        tried = not sparse.issparse(X) and (float32_search is None or float32_search.active)
    terms = float32_search_terms(W, w_sq) if tried else None
    W2 = W * -2.0 if terms is None and factors is None else None  # float32 search: its own

    def work(chunk):
        return assign_and_sum(
            X[chunk],
            W,
            w_sq,
            sample_weight[chunk],
            W2,
            x_sq[chunk],
            terms,
            float32_search,
            factors,
        )

    chunks = chunk_slices(X.shape[0], batch_size)
    with blas_limit(len(chunks), search_product_size(X, chunks, W.shape[0])):
        for b, d, S_chunk, n_chunk in map_chunks(work, chunks):
            bmu.append(b)
            dist.append(d)
            S += S_chunk
            n += n_chunk
    return np.concatenate(bmu), np.concatenate(dist), S, n
