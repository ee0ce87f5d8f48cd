"""The online rule's inner loop, compiled with numba when it is installed.

The same rule as :func:`sklearn_som._train.online_epoch`, which stays as the
readable reference and the fallback without numba: for each row in turn,
find its BMU with one pass over the prototypes, then move every unit towards
the row by ``a_j = lr * h(d2(j, b), sigma)`` (``1 - (1 - a_j)**s`` for a
weight ``s``), skipping steps below ``negligible`` as the reference does.
The neighbourhood is evaluated once per distinct grid distance (nearest
first, stopping where a decreasing one becomes negligible), squared
prototype norms are kept up to date unit by unit, and arithmetic stays in the
prototypes' dtype; a step costs two passes over the prototypes,
``O(n_units * n_features)``, and no allocation. Dense rows only: sparse input
goes through the reference loop.
"""

import numpy as np

from . import _neighborhood

try:
    import numba
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None

_KERNELS = {}


def _make_kernel(neighborhood, decreasing):
    h = numba.njit(inline="always")(neighborhood)

    @numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz"})
    def epoch(X, sample_weight, W, order, levels, level_index, sigmas, rates, negligible, dist):
        n_units, n_features = W.shape
        # Arithmetic stays in the prototypes' dtype (float32 stays float32):
        # values pass through these one-element buffers to take that type.
        w_sq = np.empty(n_units, dtype=W.dtype)
        n_levels = levels.shape[0]
        step_size = np.empty(n_levels, dtype=W.dtype)
        zero = np.zeros(1, dtype=W.dtype)[0]
        for j in range(n_units):
            total = zero
            for f in range(n_features):
                total += W[j, f] * W[j, f]
            w_sq[j] = total
        for step in range(order.shape[0]):
            x = X[order[step]]
            best, best_d = 0, np.inf
            for j in range(n_units):
                dot = zero
                for f in range(n_features):
                    dot += W[j, f] * x[f]
                d = w_sq[j] - 2 * dot
                if d < best_d:
                    best, best_d = j, d
            x_sq = zero
            for f in range(n_features):
                x_sq += x[f] * x[f]
            dist[step] = np.sqrt(max(best_d + x_sq, 0.0))
            s = sample_weight[order[step]]
            if s == 0:
                continue
            # One neighbourhood evaluation per distinct grid distance.
            sigma, rate = sigmas[step], rates[step]
            # Levels ascend; a non-increasing neighbourhood that falls below
            # the negligible step stays below it, so the rest are skipped.
            cut = n_levels
            for level in range(n_levels):
                a = rate * h(levels[level], sigma)
                if s != 1:
                    keep = 1.0 - a
                    a = 1.0 - abs(keep) ** s if keep >= 0 else a * s
                if abs(a) < negligible:
                    step_size[level] = 0.0
                    if decreasing:
                        cut = level
                        break
                else:
                    step_size[level] = a
            for level in range(cut, n_levels):
                step_size[level] = 0.0
            row = level_index[best]
            for j in range(n_units):
                a_j = step_size[row[j]]
                if a_j == 0:
                    continue
                total = zero
                for f in range(n_features):
                    W[j, f] += a_j * (x[f] - W[j, f])
                    total += W[j, f] * W[j, f]
                w_sq[j] = total

    return epoch


def compiled_online_epoch(neighborhood_name):
    """The compiled epoch for a neighbourhood, or ``None`` without numba."""
    if numba is None:
        return None
    if neighborhood_name not in _KERNELS:
        _KERNELS[neighborhood_name] = _make_kernel(
            _neighborhood.NEIGHBORHOODS[neighborhood_name],
            decreasing=neighborhood_name not in _neighborhood.SIGNED,
        )
    return _KERNELS[neighborhood_name]
