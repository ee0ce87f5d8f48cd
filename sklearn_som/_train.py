"""Training kernels: one batch-map epoch, one online epoch. Arrays in, arrays out.

Batch map (Kohonen, 1999): every row is assigned to its best matching unit
``b(i)``; with neighbourhood weights ``h_jk = h(d2(j, k), sigma)`` and sample
weights ``s_i`` the batch prototype of unit ``j`` is::

    W_batch[j] = W[j] + sum_i s_i h_{j,b(i)} (x_i - W[j]) / sum_i s_i |h_{j,b(i)}|

which for non-negative ``h`` is the usual neighbourhood-weighted mean
``sum_i s_i h_{j,b(i)} x_i / sum_i s_i h_{j,b(i)}`` (the absolute value keeps
the Mexican hat's negative lobe from dividing by a sum near zero). The
learning rate relaxes the step: ``W <- W + lr * (W_batch - W)``, so ``lr = 1``
is the pure batch map. A unit no row reaches (zero denominator) keeps its
prototype. The sums over rows are taken per unit first (``S = M.T @ X`` with
the sparse weighted assignment matrix ``M``), so an epoch costs one pass over
the data (the BMU product) plus ``O(n_units**2 * n_features)``.

Online rule (Kohonen, 1982): rows in random order, one at a time; for row
``x`` with weight ``s`` and BMU ``b`` at step ``t``::

    W[j] <- W[j] + a_j (x - W[j]),   a_j = 1 - (1 - lr(t) h(d2(j, b), sigma(t)))**s

which is the classic ``lr * h * (x - w)`` applied ``s`` times in a row (one
step for ``s = 1``, none for ``s = 0``). Steps with ``|a_j|`` below the
machine epsilon of the prototypes' dtype are skipped: they move a prototype
by less than one unit in the last place of ``|x - w|``, and skipping them
saves most of the work once the radius is small. Where ``lr * h > 1`` (a learning rate
above 1) that power is undefined for fractional ``s``, and ``a_j = s lr h``.
"""

import numpy as np
from scipy import sparse

from ._bmu import best_matching_units, chunk_slices


def batch_statistics(X, sample_weight, W, batch_size):
    """One pass over the data: BMUs, their distances, per-unit sums and weights.

    Returns ``(bmu, dist, S, n)`` with ``S[j] = sum_{b(i)=j} s_i x_i`` and
    ``n[j] = sum_{b(i)=j} s_i``.
    """
    n_units = W.shape[0]
    bmu = np.empty(X.shape[0], dtype=np.int64)
    dist = np.empty(X.shape[0], dtype=W.dtype)
    S = np.zeros_like(W)
    for chunk in chunk_slices(X.shape[0], batch_size):
        X_chunk = X[chunk]
        b, d = best_matching_units(X_chunk, W, X_chunk.shape[0], exact=False)
        bmu[chunk], dist[chunk] = b, d
        M = sparse.csr_array(
            (sample_weight[chunk], (b, np.arange(b.size))), shape=(n_units, b.size)
        )
        S += np.asarray((M @ X_chunk).toarray() if sparse.issparse(X_chunk) else M @ X_chunk)
    n = np.bincount(bmu, weights=sample_weight, minlength=n_units).astype(W.dtype)
    return bmu, dist, S, n


def batch_update(W, S, n, H, learning_rate):
    """The relaxed batch-map step from per-unit sums; returns new prototypes."""
    H = H.astype(W.dtype, copy=False)
    pull = H @ S - (H @ n)[:, None] * W
    mass = np.abs(H) @ n
    reached = mass > 0
    W_new = W.copy()
    W_new[reached] += learning_rate * pull[reached] / mass[reached, None]
    return W_new


def _repeated_step(a, s):
    """Step size of ``s`` repeated online steps of size ``a`` towards one sample."""
    keep = 1.0 - a
    return np.where(keep >= 0, 1.0 - np.abs(keep) ** s, a * s)


def negligible_step(dtype):
    """Online steps smaller than this are skipped (see the module docstring)."""
    return float(np.finfo(dtype).eps)


def online_epoch(X, sample_weight, W, order, d2_grid, neighborhood, sigmas, rates):
    """One pass of the online rule over ``X[order]``; updates ``W`` in place.

    ``sigmas`` and ``rates`` give sigma and the learning rate at each step.
    Returns the distance of each visited row to its BMU at the time it was
    visited (in the order of ``order``), a running quantization error.
    """
    w_sq = np.einsum("ij,ij->i", W, W)
    dist = np.empty(order.size, dtype=np.float64)
    is_sparse = sparse.issparse(X)
    for step, i in enumerate(order):
        x = X[[i]].toarray()[0] if is_sparse else X[i]
        d = w_sq - 2.0 * (W @ x)
        b = int(np.argmin(d))
        dist[step] = np.sqrt(max(d[b] + x @ x, 0.0))
        s = sample_weight[i]
        if s == 0:
            continue
        a = rates[step] * neighborhood(d2_grid[b], sigmas[step])
        if s != 1:
            a = _repeated_step(a, s)
        a[np.abs(a) < negligible_step(W.dtype)] = 0.0
        W += a.astype(W.dtype)[:, None] * (x - W)
        w_sq = np.einsum("ij,ij->i", W, W)
    return dist
