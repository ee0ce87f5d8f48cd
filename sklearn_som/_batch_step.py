"""The batch map's neighbourhood product and relaxed step, compiled.

After an epoch's search and per-unit sums ``S`` and ``n``, the batch map
takes ``H @ [S n]`` and the relaxed step
``W += lr * (H S - (H n) W) / (|H| n)`` where the denominator is positive
(:mod:`sklearn_som._train`, whose :func:`~sklearn_som._train.batch_update`
is the readable reference and the fallback without numba). In numpy that is
a dozen calls of a few microseconds each, more than their arithmetic on maps
of a few hundred units; here it is one compiled call, used by the chunked
epochs (:func:`batch_update`) and the small-data ones
(:mod:`sklearn_som._small_batch`).

The operations and their order are the reference's, in the dtype of the
prototypes: the same bits on digits, RGB colours and blobs on 10x10 to 30x30
maps in float64 and float32. The Gaussian on a rectangular grid is split
into its two axes, as in :func:`sklearn_som._neighborhood.apply_neighborhood`:
a product along the columns of each grid row, then one along the rows, with
no ``H`` to fill. Per epoch, one process, against the reference (Gaussian,
sigma 3): digits 20x20 86 against 139 us (float64) and 59 against 88 us
(float32); RGB 30x30 54 against 95 us; RGB 10x10 21 against 55 us; 5,000 x
50 blobs on 20x20 97 against 177 us.
"""

import numpy as np

from . import _train
from ._neighborhood import (
    NEIGHBORHOODS,
    SIGNED,
    axis_neighborhoods,
    is_separable,
    weights_in,
)

try:
    import numba
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None


def neighborhood_tables(grid, neighborhood, sigmas, dtype):
    """What :func:`relaxed_step` needs of the neighbourhood, one row per radius in ``sigmas``.

    Returns ``(values, abs_values, level_index, row_values, column_values)``:
    the value at each of the grid's distance levels and which level each
    pair of units is at (:meth:`Grid.distance_levels`), and the absolute
    values for a neighbourhood that takes negative ones (empty rows
    otherwise); or, where the neighbourhood is separable, the Gaussian along
    the grid's rows and columns and nothing of the levels, so that no
    ``(n_units, n_units)`` array is made.
    """
    sigmas = np.asarray(sigmas, dtype=np.float64)
    if is_separable(grid, neighborhood):
        row_values, column_values = axis_neighborhoods(grid, sigmas, dtype)
        values = np.empty((sigmas.size, 0), dtype=dtype)
        level_index = np.empty((0, 0), dtype=np.int32)
    else:
        row_values = column_values = np.empty((sigmas.size, 0, 0), dtype=dtype)
        levels, level_index = grid.distance_levels()
        values = weights_in(NEIGHBORHOODS[neighborhood](levels[None, :], sigmas[:, None]), dtype)
    abs_values = np.abs(values) if neighborhood in SIGNED else values[:, :0]
    return values, abs_values, level_index, row_values, column_values


if numba is not None:

    @numba.njit(cache=True, nogil=True)
    def _separable_product(row_values, column_values, M):
        """``(G_rows kron G_columns) @ M``: along each grid row's columns, then along rows."""
        n_rows, n_columns = row_values.shape[0], column_values.shape[0]
        T = np.empty_like(M)
        for r in range(n_rows):
            units = slice(r * n_columns, (r + 1) * n_columns)
            T[units] = np.dot(column_values, M[units])
        return np.dot(row_values, T.reshape(n_rows, -1)).reshape(M.shape)

    @numba.njit(cache=True, nogil=True)
    def relaxed_step(W, M, values, abs_values, level_index, row_values, column_values, rate, H):
        """One batch-map step of ``W`` in place, from ``M = [S n]``.

        ``values``, ``abs_values``, ``row_values`` and ``column_values`` are
        one row of :func:`neighborhood_tables`; ``rate`` is the learning rate
        in the dtype of ``W``; ``H`` is scratch space for the neighbourhood
        matrix, ``(n_units, n_units)`` (or no rows where it is separable).
        """
        n_units, n_features = W.shape
        if row_values.shape[0] > 0:
            HM = _separable_product(row_values, column_values, M)
        else:
            for j in range(n_units):
                for k in range(n_units):
                    H[j, k] = values[level_index[j, k]]
            HM = np.dot(H, M)
        mass = HM[:, n_features]
        if abs_values.shape[0] > 0:
            for j in range(n_units):
                for k in range(n_units):
                    H[j, k] = abs_values[level_index[j, k]]
            mass = np.dot(H, M[:, n_features].copy())
        for j in range(n_units):
            if mass[j] > 0:
                for f in range(n_features):
                    step = (HM[j, f] - HM[j, n_features] * W[j, f]) / mass[j]
                    W[j, f] += rate * step

    @numba.njit(cache=True, nogil=True)
    def _updated(W, S, n, values, abs_values, level_index, row_values, column_values, rate):
        n_units, n_features = W.shape
        M = np.empty((n_units, n_features + 1), dtype=W.dtype)
        M[:, :n_features] = S
        M[:, n_features] = n
        H = np.empty((0 if row_values.shape[0] > 0 else n_units, n_units), dtype=W.dtype)
        W = W.copy()
        relaxed_step(W, M, values, abs_values, level_index, row_values, column_values, rate, H)
        return W


def batch_update(W, S, n, grid, neighborhood, sigma, learning_rate):
    """The relaxed batch-map step from per-unit sums; returns new prototypes.

    :func:`sklearn_som._train.batch_update` in one compiled call (the same
    bits), or that function itself without numba. ``W`` is not modified.
    """
    if numba is None:
        return _train.batch_update(W, S, n, grid, neighborhood, sigma, learning_rate)
    values, abs_values, level_index, row_values, column_values = neighborhood_tables(
        grid, neighborhood, [sigma], W.dtype
    )
    return _updated(
        np.ascontiguousarray(W),
        S,
        n,
        values[0],
        abs_values[0],
        level_index,
        row_values[0],
        column_values[0],
        W.dtype.type(learning_rate),
    )
