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
maps in float64 and float32. The Gaussian is split into its two axes
(:func:`sklearn_som._neighborhood.product_by_axis`), as in
:func:`sklearn_som._neighborhood.apply_neighborhood`: a product along the
columns of each grid row, then one along the rows, with no ``H`` to fill.
Per epoch, one process, against the reference (Gaussian, sigma 3): digits
20x20 86 against 139 us (float64) and 59 against 88 us (float32); RGB 30x30
54 against 95 us; RGB 10x10 21 against 55 us; 5,000 x 50 blobs on 20x20 97
against 177 us. On a hexagonal grid of 150 units or more the column factors
depend on the parities of the two rows, so each grid row's column product
is taken twice (:func:`_hexagonal_product`): against filling the full ``H``
from the distance levels, a step took 18.6 against 98.6 us on 20x20 (float64)
and whole 10-epoch fits of RGB on 50x50 37 against 324 ms (float64).
"""

import numpy as np

from . import _train
from ._neighborhood import (
    NEIGHBORHOODS,
    SIGNED,
    axis_neighborhoods,
    product_by_axis,
    weights_in,
)

try:
    import numba
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None
else:
    from numba.extending import overload


def neighborhood_tables(grid, neighborhood, sigmas, dtype):
    """What :func:`relaxed_step` needs of the neighbourhood, one row per radius in ``sigmas``.

    Returns ``(values, abs_values, level_index, row_values, column_values)``:
    the value at each of the grid's distance levels and which level each
    pair of units is at (:meth:`Grid.distance_levels`), and the absolute
    values for a neighbourhood that takes negative ones (empty rows
    otherwise); or, where the product goes by axis (:func:`product_by_axis`),
    the Gaussian's row and column factors (:func:`axis_neighborhoods`) and
    nothing of the levels, so that no ``(n_units, n_units)`` array is made.
    """
    sigmas = np.asarray(sigmas, dtype=np.float64)
    if product_by_axis(grid, neighborhood):
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
    # The two implementations of _separable_product, compiled inline where
    # it is called.

    def _rectangular_product(row_values, column_values, M):
        """``(G_rows kron G_columns) @ M``: along each grid row's columns, then along rows."""
        n_rows, n_columns = row_values.shape[0], column_values.shape[0]
        T = np.empty_like(M)
        for r in range(n_rows):
            units = slice(r * n_columns, (r + 1) * n_columns)
            np.dot(column_values, M[units], T[units])
        return np.dot(row_values, T.reshape(n_rows, -1)).reshape(M.shape)

    def _hexagonal_product(row_values, column_values, M):
        """The hexagonal grid's ``H @ M``, as :func:`~sklearn_som._neighborhood.separable_product`.

        ``column_values[p, q]`` are the column factors from a row of parity
        ``q`` to one of parity ``p``: each grid row's column product is
        taken for both target parities, and each parity's rows sum over the
        grid rows from their own.
        """
        n_rows, n_columns = row_values.shape[0], column_values.shape[2]
        out = np.empty_like(M)
        T = np.empty_like(M)
        width = n_columns * M.shape[1]
        for p in range(2):
            for s in range(n_rows):
                units = slice(s * n_columns, (s + 1) * n_columns)
                np.dot(column_values[p, s % 2], M[units], T[units])
            targets = np.ascontiguousarray(row_values[p::2])
            sums = np.dot(targets, T.reshape(n_rows, width))
            for i in range(sums.shape[0]):
                r = p + 2 * i
                out[r * n_columns : (r + 1) * n_columns] = sums[i].reshape(n_columns, -1)
        return out

    def _separable_product(row_values, column_values, M):
        """``H @ M`` from the grid's row and column factors (compiled code only)."""
        raise NotImplementedError

    # Chosen when compiling, by the column factors' dimensions (two:
    # rectangular; four, by the rows' parities: hexagonal).
    @overload(_separable_product, inline="always")
    def _separable_product_for(row_values, column_values, M):
        if column_values.ndim == 2:
            return _rectangular_product
        return _hexagonal_product

    # error_model="numpy": the step's division needs no zero check (its
    # denominator is positive where it is taken), and without one the loop is
    # vectorised: 400 x 64 float32 prototypes, 34 against 8 us, the same bits.
    @numba.njit(cache=True, nogil=True, error_model="numpy")
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


def step_tables(grid, neighborhood, sigmas, dtype):
    """:func:`neighborhood_tables` for each radius of ``sigmas``, one tuple each.

    Made once for a run of a fit's epochs rather than per epoch, each call
    a few numpy calls (27 us on digits 20x20). ``None`` for each without numba.
    """
    if numba is None:
        return [None] * len(sigmas)
    values, abs_values, level_index, row_values, column_values = neighborhood_tables(
        grid, neighborhood, sigmas, dtype
    )
    return [
        (values[k], abs_values[k], level_index, row_values[k], column_values[k])
        for k in range(len(sigmas))
    ]


def batch_update(W, S, n, grid, neighborhood, sigma, learning_rate, tables=None):
    """The relaxed batch-map step from per-unit sums; returns new prototypes.

    :func:`sklearn_som._train.batch_update` in one compiled call (the same
    bits), or that function itself without numba. ``tables``, if given, is
    :func:`step_tables`' entry for ``sigma`` in the dtype of ``W``. ``W`` is
    not modified.
    """
    if numba is None:
        return _train.batch_update(W, S, n, grid, neighborhood, sigma, learning_rate)
    if tables is None:
        (tables,) = step_tables(grid, neighborhood, [sigma], W.dtype)
    return _updated(np.ascontiguousarray(W), S, n, *tables, W.dtype.type(learning_rate))
