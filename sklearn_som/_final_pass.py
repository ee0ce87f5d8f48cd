"""A fit's final pass on small data, in one compiled call: labels and errors.

After the last epoch a fit searches its training data once more, with the
exact search of :func:`sklearn_som._bmu.best_matching_units` (the BMUs
``predict`` gives), for ``labels_``, ``quantization_error_`` and
``topographic_error_``. On iris (150 rows, a 10x10 map) that search's
compiled kernel takes about 27 us, and the Python around it -- chunking,
the topographic error's neighbour test, two weighted means -- about 70 us
more. Here, where the data are dense, one chunk and searched in blocks of
rows (at most ``_BLOCKED_MAX_FEATURES`` features), the same kernel
(``_best_two_in_blocks``, so the same BMUs to the bit) and the two errors run
in one compiled call. Other fits take the errors from :func:`errors`, the
same sums (float64, in row order) in a compiled call of their own.
"""

import numpy as np
from sklearn.utils.extmath import row_norms

from ._bmu import product_block_rows

try:
    import numba
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None
else:
    from ._bmu import _best_two_in_blocks


def applies(X, batch_size, n_units):
    """Whether :func:`fitted_labels_and_errors` can take the final pass over ``X``."""
    return (
        numba is not None
        and isinstance(X, np.ndarray)
        and X.shape[0] <= batch_size
        and product_block_rows(X, n_units) is not None
    )


if numba is not None:

    @numba.njit(cache=True, nogil=True)
    def _errors(dist, best, second, sample_weight, neighbors):
        # Weighted means of the distances and of "the best and second unit are
        # not neighbours" (no error where there is no second unit).
        total = distance = not_adjacent = 0.0
        for i in range(dist.shape[0]):
            # Explicit float64 casts: with ``float()`` numba multiplied a
            # float32 weight by a float32 distance in float32.
            s = np.float64(sample_weight[i])
            total += s
            distance += s * np.float64(dist[i])
            if second[i] < 0:
                continue
            adjacent = False
            for k in range(neighbors.shape[1]):
                adjacent |= neighbors[best[i], k] == second[i]
            if not adjacent:
                not_adjacent += s
        return distance / total, not_adjacent / total

    @numba.njit(cache=True, nogil=True)
    def _labels_and_errors(X, WT, x_sq, w_sq, block_rows, sample_weight, neighbors, best):
        n_samples = X.shape[0]
        dist = np.empty(n_samples, dtype=WT.dtype)
        second = np.empty(n_samples, dtype=np.int64)
        _best_two_in_blocks(X, WT, x_sq, w_sq, block_rows, best, dist, second, True)
        return _errors(dist, best, second, sample_weight, neighbors)


def errors(dist, best, second, sample_weight, grid):
    """Quantization and topographic error of a search's BMUs, distances and second BMUs.

    Weighted means over the rows, in float64; the same sums, in the same
    order, as :func:`fitted_labels_and_errors` makes, so that every path of
    a fit (``fit_transform``'s too) gives the same errors to the bit.
    """
    if numba is None:
        weights = np.asarray(sample_weight, dtype=np.float64)
        not_adjacent = ~grid.are_neighbors(best, second)
        return (
            float(np.dot(dist.astype(np.float64), weights) / weights.sum()),
            float(np.dot(not_adjacent, weights) / weights.sum()),
        )
    return _errors(dist, best, second, sample_weight, grid.neighbor_lists())


def fitted_labels_and_errors(X, W, sample_weight, x_sq, grid):
    """BMUs of the rows of ``X`` and their :func:`errors`, in one compiled call.

    ``X`` and ``W`` share a dtype; ``x_sq`` holds the rows' squared norms.
    Only where :func:`applies`.
    """
    w_sq = row_norms(W, squared=True)  # as best_matching_units makes it
    WT = np.ascontiguousarray(W.T)
    best = np.empty(X.shape[0], dtype=np.int64)
    block_rows = product_block_rows(X, W.shape[0])
    X = np.ascontiguousarray(X)
    qe, te = _labels_and_errors(
        X, WT, x_sq, w_sq, block_rows, sample_weight, grid.neighbor_lists(), best
    )
    return best, qe, te
