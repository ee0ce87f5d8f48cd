"""The online rule's inner loop, compiled with numba when it is installed.

The same rule as :func:`sklearn_som._train.online_epoch`, which stays as the
readable reference and the fallback without numba: for each row in turn,
find its BMU with one pass over the prototypes, then move every unit towards
the row by ``a_j = lr * h(d2(j, b), sigma)`` (``1 - (1 - a_j)**s`` for a
weight ``s``), skipping steps below ``negligible`` as the reference does.
The neighbourhood is evaluated once per distinct grid distance (nearest
first, stopping where a decreasing one becomes negligible), squared
prototype norms are kept up to date unit by unit, and arithmetic stays in the
prototypes' dtype. A step costs one sweep over the prototypes,
``O(n_units * n_features)``, and no allocation: the sweep that moves the
units towards row ``t`` also finds the BMU of row ``t + 1`` (the search needs
the prototypes as they are after step ``t``, which is what the sweep has just
written), so each prototype is read once per step instead of twice. Dense rows
only: sparse input goes through the reference loop.
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
        n_steps = order.shape[0]
        # Arithmetic stays in the prototypes' dtype (float32 stays float32):
        # values pass through these one-element buffers to take that type.
        w_sq = np.empty(n_units, dtype=W.dtype)
        n_levels = levels.shape[0]
        step_size = np.empty(n_levels, dtype=W.dtype)
        zero = np.zeros(1, dtype=W.dtype)[0]
        if n_steps == 0:
            return
        # The first row's BMU; each later row's is found in the sweep that
        # applies the step before it (below).
        x = X[order[0]]
        best, best_d = 0, np.inf
        for j in range(n_units):
            total = zero
            dot = zero
            for f in range(n_features):
                total += W[j, f] * W[j, f]
                dot += W[j, f] * x[f]
            w_sq[j] = total
            d = total - 2 * dot
            if d < best_d:
                best, best_d = j, d
        for step in range(n_steps):
            x = X[order[step]]
            x_sq = zero
            for f in range(n_features):
                x_sq += x[f] * x[f]
            dist[step] = np.sqrt(max(best_d + x_sq, 0.0))
            # Step size per distinct grid distance; none for a zero weight.
            s = sample_weight[order[step]]
            sigma, rate = sigmas[step], rates[step]
            # Levels ascend; a non-increasing neighbourhood that falls below
            # the negligible step stays below it, so the rest are skipped.
            cut = n_levels if s != 0 else 0
            for level in range(cut):
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
            # One sweep over the units: move each by its step, and in the
            # same pass (the unit still in cache) take its distance to the
            # next row, so each prototype is read once per step, not twice.
            x_next = X[order[step + 1]] if step + 1 < n_steps else x
            row = level_index[best]
            best, best_d = 0, np.inf
            for j in range(n_units):
                a_j = step_size[row[j]]
                dot = zero
                if a_j != 0:
                    total = zero
                    for f in range(n_features):
                        w = W[j, f] + a_j * (x[f] - W[j, f])
                        W[j, f] = w
                        total += w * w
                        dot += w * x_next[f]
                    w_sq[j] = total
                else:
                    for f in range(n_features):
                        dot += W[j, f] * x_next[f]
                d = w_sq[j] - 2 * dot
                if d < best_d:
                    best, best_d = j, d

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
