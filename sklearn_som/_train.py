"""Training kernels: one batch-map epoch, one online epoch. Arrays in, arrays out.

Batch map (Kohonen, 1998): every row is assigned to its best matching unit
``b(i)``; with neighbourhood weights ``h_jk = h(d2(j, k), sigma)`` and sample
weights ``s_i`` the batch prototype of unit ``j`` is::

    W_batch[j] = W[j] + sum_i s_i h_{j,b(i)} (x_i - W[j]) / sum_i s_i |h_{j,b(i)}|

which for non-negative ``h`` is the usual neighbourhood-weighted mean
``sum_i s_i h_{j,b(i)} x_i / sum_i s_i h_{j,b(i)}`` (the absolute value keeps
the Mexican hat's negative lobe from dividing by a sum near zero). The
learning rate relaxes the step: ``W <- W + lr * (W_batch - W)``, so ``lr = 1``
is the pure batch map. A unit no row reaches (zero denominator) keeps its
prototype. The sums over rows are taken per unit first (``S = M.T @ X`` with
the weighted assignment matrix ``M``, fused with the BMU search in
:func:`sklearn_som._bmu.batch_statistics`), so an epoch costs one pass over the
data (the BMU product) plus the neighbourhood product,
``O(n_units**2 * n_features)`` in general and ``O(n_units * (n_rows + n_columns)
* n_features)`` for the separable Gaussian on a rectangular grid.

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

from ._bmu import batch_statistics
from ._neighborhood import SIGNED, apply_neighborhood

__all__ = ["batch_statistics", "batch_update", "online_epoch", "negligible_step"]


def batch_update(W, S, n, grid, neighborhood, sigma, learning_rate):
    """The relaxed batch-map step from per-unit sums; returns new prototypes.

    ``S`` and ``n`` are the per-unit sums and weights of the epoch; the
    neighbourhood products go through :func:`apply_neighborhood`.
    """
    sums = apply_neighborhood(grid, neighborhood, sigma, np.column_stack([S, n]))
    HS, Hn = sums[:, :-1], sums[:, -1]
    if neighborhood in SIGNED:
        mass = apply_neighborhood(grid, neighborhood, sigma, n[:, None], absolute=True)[:, 0]
    else:  # h >= 0, so |H| n = H n
        mass = Hn
    reached = mass > 0
    step = np.zeros_like(W)
    np.divide(HS - Hn[:, None] * W, mass[:, None], out=step, where=reached[:, None])
    return W + learning_rate * step


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
    negligible = negligible_step(W.dtype)
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
        a[np.abs(a) < negligible] = 0.0
        W += a.astype(W.dtype)[:, None] * (x - W)
        w_sq = np.einsum("ij,ij->i", W, W)
    return dist
