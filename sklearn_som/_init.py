"""Initial prototypes: weighted PCA, random, sample, or a user array.

PCA initialisation lays the map flat on the plane of the data's first two
principal axes, centred on the weighted mean: the longer grid axis follows the
first principal axis, and each grid axis spans ``[-1, 1]`` times the standard
deviation along its principal axis (as SOM Toolbox's ``som_lininit``). It
uses the weighted mean and covariance, so a weight of 2 is the same as a
repeated row, and it never forms the centred data: the covariance is applied
to a few vectors at a time, chunk by chunk. With up to ``_EXACT_FEATURES``
features the covariance is formed exactly; above that a randomized subspace
iteration (Halko et al., 2011) with one power iteration finds an approximate
plane of the leading eigenvectors (within a few hundredths of a radian when
the leading eigenvalues stand apart from the rest) in two passes over the data
instead of ``O(n_samples * n_features**2)``; with more than
``_RANDOMIZED_ROWS`` rows, the passes go over that many rows drawn in
proportion to their weights. The initial plane need not be exact, since
training refines it: on MNIST-sized data (70,000 x 784) the plane from 8,192
rows lies as close to the exact one as the plane from all rows (cosines of
the principal angles 0.992 and 0.986 against 0.998 and 0.957) and takes
22-36 ms instead of 116-133 ms.
"""

from functools import lru_cache

import numpy as np
from scipy import linalg, sparse
from sklearn.utils.sparsefuncs import min_max_axis

from ._bmu import chunk_slices
from ._parallel import blas_limit, map_chunks

try:
    import numba
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None

_EXACT_FEATURES = 128
# Up to this many features, dense data take the exact path as one compiled
# call (_compiled_axes): mean, covariance, eigenpairs and signs, instead of
# about thirty numpy calls of a few microseconds each. principal_axes alone,
# us (numpy path against compiled, 2-core VM, float64): 3 features x 150
# rows 27.9 against 3.9, x 3000 rows 60.8 against 30.2; 8 x 150 33.7 against
# 9.3; 16 x 150 49.3 against 25.9, x 30,000 1990 against 1334; at 64
# features and 150 rows the compiled loops lose (225 against 290). Whole
# 3-epoch fits of iris 10x10 (float64, sigma 2.5 -> 0.8), A/B in one process:
# 330 against 273 us, more than the call's own 25 us.
_COMPILED_FEATURES = 16
_OVERSAMPLING = 8
# From this many features the exact path asks LAPACK for the leading
# eigenpairs only. Measured on a quiet moment (us, all pairs with numpy
# against two with scipy): 16 features 38 against 48, 32: 117 against 49,
# 64: 322 against 139, 128: 1854 against 496.
_SUBSET_EIGH_FEATURES = 32
_POWER_ITERATIONS = 1
# Above this many rows the randomized path works on this many rows drawn in
# proportion to their weights (see _sampled_rows), as MiniBatchKMeans
# initialises on a subset: PCA of all 70,000 rows of MNIST-sized data took
# three passes over 220 MB, about a sixth of a one-epoch fit.
_RANDOMIZED_ROWS = 2**13
# Rows per chunk of the covariance sums: about _INIT_CHUNK_ELEMENTS numbers
# (at least _MIN_INIT_CHUNK_ROWS rows), fixed by the data's shape and never by
# ``batch_size`` or the number of threads, so that the initial map does not
# depend on them even in its last bits. Small enough that each thread's
# centred chunk stays in cache between its products, large enough that
# small data is one chunk (no thread hand-off). Measured A/B in one process
# against 1024-row chunks whatever the width: RGB 3000 x 3 0.35 against
# 0.69 ms, digits 1.9 against 2.3 ms (float64) and 1.5 against 1.8 ms
# (float32). On MNIST-sized 70,000 x 784 float32 (1024-row chunks here too)
# 4096-row chunks took 20-29% more per pass; whole fits with 512-row chunks
# were no faster (medians 0.70-0.82 s against 0.72-0.74 s, two A/B runs).
# Very wide data (sparse text, say) gets fewer rows, so that a densified chunk
# holds at most _MAX_INIT_CHUNK_ELEMENTS numbers (32 MiB in float64).
_INIT_CHUNK_ELEMENTS = 2**16
_MIN_INIT_CHUNK_ROWS = 1024
_MAX_INIT_CHUNK_ELEMENTS = 2**22


def _densify(X_chunk):
    return X_chunk.toarray() if hasattr(X_chunk, "toarray") else X_chunk


def weighted_mean(X, sample_weight, rows=None):
    """Weighted mean of the rows, computed in the dtype of ``X`` (no upcast copy).

    ``rows``, if given, selects the rows (``sample_weight`` holds their
    weights), gathered a chunk at a time.
    """
    if rows is None:
        mean = np.asarray(sample_weight.astype(X.dtype) @ X, dtype=np.float64)
    else:
        weights = sample_weight.astype(X.dtype)
        mean = np.zeros(X.shape[1])
        for chunk in chunk_slices(rows.size, _chunk_rows(X.shape[1])):
            mean += np.asarray(weights[chunk] @ X[rows[chunk]], dtype=np.float64).ravel()
    return mean / sample_weight.sum()


def _chunk_rows(n_features):
    n_features = max(n_features, 1)
    rows = max(_MIN_INIT_CHUNK_ROWS, _INIT_CHUNK_ELEMENTS // n_features)
    return max(1, min(rows, _MAX_INIT_CHUNK_ELEMENTS // n_features))


def _covariance_times(X, sample_weight, mean, V=None, rows=None):
    """``C @ V`` for the weighted covariance ``C`` of ``X``, chunk by chunk (``C`` if no ``V``).

    The products run in the dtype of ``X`` (float32 stays float32, and no
    float64 copy of the data is made); the sum over chunks is in float64.
    ``rows``, if given, selects the rows (``sample_weight`` holds their
    weights), gathered a chunk at a time.
    """
    dtype = X.dtype
    mean = mean.astype(dtype)
    V = None if V is None else V.astype(dtype)
    weights = sample_weight.astype(dtype)

    def product(chunk):
        if rows is None and not sparse.issparse(X):
            centred = X[chunk] - mean  # X[chunk] is a view of X
        else:
            # Gathered or densified rows are a copy of their own, centred in
            # place: a second (1024 x 784) array per chunk cost more than the
            # chunk's two products (MNIST-sized, 1.3 against 2.9 ms a chunk).
            centred = _densify(X[chunk] if rows is None else X[rows[chunk]])
            centred -= mean
        projected = centred if V is None else centred @ V
        return centred.T @ (weights[chunk, None] * projected)

    width = X.shape[1] if V is None else V.shape[1]
    out = np.zeros((X.shape[1], width), dtype=np.float64)
    chunks = chunk_slices(weights.shape[0], _chunk_rows(X.shape[1]))
    product_size = min(_chunk_rows(X.shape[1]), X.shape[0]) * X.shape[1] * width
    with blas_limit(len(chunks), product_size):
        for part in map_chunks(product, chunks):
            out += part  # in chunk order: the sum does not depend on thread timing
    return out / sample_weight.sum()


def _sampled_rows(sample_weight, n_rows, random_state):
    """``n_rows`` row indices, drawn in proportion to the weights, in order.

    Systematic sampling on the cumulative weight: the row whose share of the
    cumulative weight holds each point ``(u + k) * total / n_rows`` (one
    uniform ``u``, ``k = 0 .. n_rows - 1``). Rows of weight 0 are never
    drawn, and a row of weight 2 is drawn exactly as often as two rows of
    weight 1 in its place would be, so weights still act as repeats.
    """
    cumulative = np.cumsum(sample_weight, dtype=np.float64)
    total = cumulative[-1]
    points = (random_state.uniform() + np.arange(n_rows)) * (total / n_rows)
    rows = np.searchsorted(cumulative, points, side="right")
    last = np.searchsorted(cumulative, total, side="left")  # the last row with weight
    return np.minimum(rows, last)


def principal_axes(X, sample_weight, n_components, random_state):
    """Leading eigenvalues and eigenvectors of the weighted covariance of ``X``.

    Returns ``(mean, variances, axes)`` with ``axes`` of shape
    ``(n_components, n_features)``; each axis's largest-magnitude entry is
    positive, so the result does not depend on the solver's sign choice.
    """
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    n_features = X.shape[1]
    n_components = min(n_components, n_features)
    if numba is not None and isinstance(X, np.ndarray) and n_features <= _COMPILED_FEATURES:
        return _compiled_axes(X, sample_weight, n_components)
    if n_features <= _EXACT_FEATURES:
        mean = weighted_mean(X, sample_weight)
        C = _covariance_times(X, sample_weight, mean)
        C = (C + C.T) / 2.0
        if n_features >= _SUBSET_EIGH_FEATURES:
            # Only the leading eigenpairs (LAPACK's syevr, which stops there).
            first = n_features - n_components
            values, vectors = linalg.eigh(
                C, subset_by_index=[first, n_features - 1], driver="evr", check_finite=False
            )
        else:
            values, vectors = np.linalg.eigh(C)
    else:
        rows = None
        if X.shape[0] > _RANDOMIZED_ROWS:
            rows = _sampled_rows(sample_weight, _RANDOMIZED_ROWS, random_state)
            sample_weight = np.ones(rows.size)
        mean = weighted_mean(X, sample_weight, rows)
        size = min(n_features, n_components + _OVERSAMPLING)
        Q = random_state.standard_normal((n_features, size))
        for _ in range(_POWER_ITERATIONS):
            CQ = _covariance_times(X, sample_weight, mean, Q, rows)
            Q, _ = linalg.qr(CQ, mode="economic")
        B = Q.T @ _covariance_times(X, sample_weight, mean, Q, rows)
        values, small = np.linalg.eigh((B + B.T) / 2.0)
        vectors = Q @ small
    # Every solver above returns the eigenvalues in ascending order.
    values = np.maximum(values[::-1][:n_components], 0.0)
    axes = np.array(vectors[:, ::-1][:, :n_components].T)
    largest = axes[np.arange(n_components), np.argmax(np.abs(axes), axis=1)]
    axes[largest < 0] *= -1.0
    return mean, values, axes


if numba is not None:

    @numba.njit(cache=True, nogil=True)
    def _compiled_axes(X, sample_weight, n_components):
        """:func:`principal_axes` of dense ``X`` by the exact path, in one call.

        The weighted mean and covariance are summed in float64 whatever the
        dtype of ``X``; LAPACK's ``eigh`` gives the eigenpairs in ascending
        order, and the same sign rule applies.
        """
        n_samples, n_features = X.shape
        total = 0.0
        mean = np.zeros(n_features)
        for i in range(n_samples):
            total += sample_weight[i]
            for a in range(n_features):
                mean[a] += sample_weight[i] * X[i, a]
        mean /= total
        C = np.zeros((n_features, n_features))
        centred = np.empty(n_features)
        for i in range(n_samples):
            for a in range(n_features):
                centred[a] = X[i, a] - mean[a]
            for a in range(n_features):
                weighted = sample_weight[i] * centred[a]
                for b in range(a + 1):
                    C[a, b] += weighted * centred[b]
        for a in range(n_features):
            for b in range(a + 1):
                C[a, b] /= total
                C[b, a] = C[a, b]
        values, vectors = np.linalg.eigh(C)
        leading = np.empty(n_components)
        axes = np.empty((n_components, n_features))
        for k in range(n_components):
            source = n_features - 1 - k
            leading[k] = max(values[source], 0.0)
            largest = 0
            for a in range(n_features):
                if abs(vectors[a, source]) > abs(vectors[largest, source]):
                    largest = a
            sign = -1.0 if vectors[largest, source] < 0 else 1.0
            for a in range(n_features):
                axes[k, a] = sign * vectors[a, source]
        return mean, leading, axes


@lru_cache(maxsize=16)
def _grid_layout(grid):
    """Unit coordinates for the PCA plane: ``(n_units, n_spanned)``, in ``[-1, 1]``.

    Column 0 is the longer grid axis (it takes the first principal axis);
    a grid axis of length 1 spans nothing and is left out. Data with one
    direction of variance on a two-dimensional grid uses ``line`` instead:
    both grid axes laid along the first principal axis, the short one in
    steps finer than the long one's, so that no two units start equal.
    Cached per grid (read-only): it costs more than the rest of the
    initialisation on small data.
    """
    coordinates = np.asarray(grid.coordinates(), dtype=np.float64)
    coordinates = coordinates - coordinates.mean(axis=0)
    spans = np.abs(coordinates).max(axis=0)
    coordinates /= np.where(spans > 0, spans, 1.0)
    grid_axes = [0, 1] if grid.n_columns >= grid.n_rows else [1, 0]
    spanned = [axis for axis in grid_axes if spans[axis] > 0]
    plane = np.ascontiguousarray(coordinates[:, spanned])
    line = plane[:, :1] + plane[:, 1:] / max(grid.n_rows, grid.n_columns)
    plane.flags.writeable = False
    line.flags.writeable = False
    return plane, line


def pca_init(X, sample_weight, grid, random_state):
    return _pca_start(X, sample_weight, grid, random_state)[0]


def _pca_start(X, sample_weight, grid, random_state):
    """The PCA start's prototypes ``W`` and their factors ``(mean, plane, axes)``.

    ``W = mean + plane @ axes``: ``plane`` holds each unit's coordinates in
    the plane and ``axes`` the principal axes the grid spans, scaled by
    their standard deviations. The factors let the first epoch's search go
    through the plane's few columns (:func:`sklearn_som._bmu.prototype_factors`);
    they are returned as they are, since most fits (all on small data) never
    use them.
    """
    plane, line = _grid_layout(grid)
    n_spanned = plane.shape[1]
    mean, variances, axes = principal_axes(X, sample_weight, max(n_spanned, 1), random_state)
    if n_spanned == 2 and (axes.shape[0] < 2 or variances[1] <= 1e-12 * variances[0]):
        plane = line
    n_used = plane.shape[1]
    scaled_axes = np.sqrt(variances[:n_used, None]) * axes[:n_used]
    return mean + plane @ scaled_axes, (mean, plane, scaled_axes)


def random_init(X, sample_weight, grid, random_state):
    """Uniform in the bounding box of the rows with positive weight."""
    positive = sample_weight > 0
    X_used = X if np.all(positive) else X[np.flatnonzero(positive)]  # no copy when all count
    if sparse.issparse(X_used):
        low, high = min_max_axis(X_used, axis=0)  # sparse input stays sparse
    else:
        low, high = X_used.min(axis=0), X_used.max(axis=0)
    return low + (high - low) * random_state.uniform(size=(grid.n_units, X.shape[1]))


def sample_init(X, sample_weight, grid, random_state):
    """Rows drawn with probability proportional to their weight.

    Without replacement when there are enough rows with positive weight.
    """
    p = sample_weight / sample_weight.sum()
    replace = np.count_nonzero(p) < grid.n_units
    rows = random_state.choice(X.shape[0], size=grid.n_units, replace=replace, p=p)
    return _densify(X[np.sort(rows)])


def initial_prototypes(init, X, sample_weight, grid, make_random_state):
    """Initial prototypes, in the dtype of ``X``, and their factors (``None`` but for PCA).

    ``init`` is already validated. The factors ``(mean, plane, axes)`` of
    the PCA start give its prototypes as ``mean + plane @ axes`` (see
    :func:`_pca_start`).

    ``make_random_state()`` returns the random generator; it is called only
    by the initialisations that draw random numbers, so that the others
    neither make a generator nor save the state of one given as
    ``random_state``.
    """
    factors = None
    if isinstance(init, str):
        if init == "pca":
            exact = X.shape[1] <= _EXACT_FEATURES
            random_state = None if exact else make_random_state()
            W, factors = _pca_start(X, sample_weight, grid, random_state)
        elif init == "random":
            W = random_init(X, sample_weight, grid, make_random_state())
        else:
            W = sample_init(X, sample_weight, grid, make_random_state())
    else:
        W = init
    return np.ascontiguousarray(W, dtype=X.dtype), factors
