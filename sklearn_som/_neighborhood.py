"""Neighbourhood functions ``h(d2, sigma)`` of the squared grid distance.

Each takes the squared grid distance ``d2`` between a unit and the best
matching unit and the current radius ``sigma``, and returns the weight with
which that unit is pulled towards the sample:

========================  ==================================================
``gaussian``              ``exp(-d2 / (2 sigma**2))``
``bubble``                ``1`` if ``d2 <= sigma**2`` else ``0``
``triangle``              ``max(0, 1 - sqrt(d2) / sigma)``
``mexican_hat``           ``(1 - d2 / sigma**2) * exp(-d2 / (2 sigma**2))``
========================  ==================================================

All equal 1 at the best matching unit. The Mexican hat is negative beyond
``sigma``: units there are pushed away from the sample.

The functions work on arrays and on scalars, so the compiled online kernel
(:mod:`sklearn_som._online`) uses these same formulas.
"""

from functools import lru_cache

import numpy as np


def gaussian(d2, sigma):
    return np.exp(-d2 / (2.0 * sigma * sigma))


def bubble(d2, sigma):
    return 1.0 * (d2 <= sigma * sigma)


def triangle(d2, sigma):
    return np.maximum(0.0, 1.0 - np.sqrt(d2) / sigma)


def mexican_hat(d2, sigma):
    r = d2 / (sigma * sigma)
    return (1.0 - r) * np.exp(-0.5 * r)


NEIGHBORHOODS = {
    "gaussian": gaussian,
    "bubble": bubble,
    "triangle": triangle,
    "mexican_hat": mexican_hat,
}
# Neighbourhoods that take negative values.
SIGNED = {"mexican_hat"}


def is_separable(grid, name):
    """Whether ``H`` splits into a factor along the grid's rows and one along its columns.

    True for the Gaussian, ``exp(-d2 / (2 sigma**2))``, on a rectangular grid,
    where ``d2 = dr**2 + dc**2`` gives ``g(dr) g(dc)``, and on a hexagonal
    grid, where ``d2 = (dx2**2 + 3 dr**2) / 4`` with ``dx2`` in half units
    (:meth:`Grid.hexagonal_offsets`) gives ``g(sqrt(3) dr / 2) g(dx2 / 2)``
    with column factors that depend on the two rows' parities. Wrap-around
    acts on each axis alone, except on a hexagonal grid with an odd number
    of rows, closed with a half shift.
    """
    if name != "gaussian":
        return False
    return grid.topology == "rectangular" or not (grid.periodic and grid.n_rows % 2)


# Below this many units a hexagonal grid's batch product fills ``H`` from the
# grid's distance levels instead (:func:`product_by_axis`). Whole 10-epoch
# fits, A/B in fresh processes, by axis against the full ``H``: iris 10x10
# 0.92x - 0.96x, 12x12 0.97x - 1.04x, 13x13 1.09x, 14x14 1.02x; digits 20x20
# 1.40x (float64), 30x30 1.53x (float32); RGB 50x50 8.7x (float64).
_HEXAGONAL_BY_AXIS_MIN_UNITS = 150


def product_by_axis(grid, name):
    """Whether the batch map's ``H @ M`` goes by axis (:func:`separable_product`).

    Where :func:`is_separable`, except on hexagonal grids of fewer than
    ``_HEXAGONAL_BY_AXIS_MIN_UNITS`` units, whose full ``H`` costs less than
    the by-axis product's many small matrix products and its tables.
    """
    if not is_separable(grid, name):
        return False
    return grid.topology == "rectangular" or grid.n_units >= _HEXAGONAL_BY_AXIS_MIN_UNITS


def weights_in(values, dtype):
    """Neighbourhood weights ``values`` in ``dtype``, those below its smallest normal number 0.

    A Gaussian weight between ``exp(-87)`` and ``exp(-103)`` is subnormal in
    float32 (``exp(-708)`` to ``exp(-745)`` in float64), and every multiply
    with a subnormal takes Intel cores about a hundred cycles. On a 40x100
    map at sigma 3, 468 such weights of the 100x100 column Gaussian made the
    batch map's neighbourhood product 2.49 instead of 0.39 ms in float32
    (0.72 ms in float64, which has none there). A/B in fresh processes:
    10-epoch float32 fits of digits on hexagonal maps (the full ``H``) 30.5
    against 55.6 ms (30x30) and 13.0 against 16.5 ms (20x20); the scaling
    run's 40x100 epoch 38.5 against 40.3 ms; the benchmark's small
    rectangular cases level.

    Beside a weight of normal size such a weight changes no sum. Only a unit
    whose weights are all that small (no row reaches it more strongly) moved
    by them; it now keeps its prototype, as units a little further away,
    whose weights round to 0, always did. Of 152 batch fits (RGB, iris,
    digits, random data; 10x10 to 50x50; Gaussian, Mexican hat, bubble) 134
    gave the same bits and the others the same QE and TE.
    """
    values = np.array(values, dtype=dtype, order="C")
    values[np.abs(values) < np.finfo(values.dtype).tiny] = 0
    return values


def axis_neighborhoods(grid, sigmas, dtype):
    """The Gaussian's row and column factors for each sigma, where it is separable.

    Returns ``(rows, columns)``: ``rows`` of shape ``(len(sigmas), n_rows,
    n_rows)``; ``columns`` of shape ``(len(sigmas), n_columns, n_columns)``
    on a rectangular grid and ``(len(sigmas), 2, 2, n_columns, n_columns)``
    on a hexagonal one, indexed by the parities of the two rows as
    :meth:`Grid.hexagonal_offsets`.
    """
    sigmas = np.asarray(sigmas, dtype=np.float64)
    levels, indices = _axis_levels(grid)
    values = weights_in(gaussian(levels[None, :], sigmas[:, None]), dtype)
    return tuple(np.take(values, index, axis=1) for index in indices)


@lru_cache(maxsize=16)
def _axis_levels(grid):
    """The distinct values of both :func:`_axis_terms`, and where each term's entries are.

    Returns ``(levels, (row_index, column_index))`` with each term equal to
    ``levels[index]``, so that a factor is the Gaussian of a few levels,
    gathered: one Gaussian of ``n_sigmas x n_levels`` values and two
    gathers instead of a Gaussian and :func:`weights_in` for each term, each
    a handful of numpy calls. The batch map's tables for a 10-epoch fit of
    iris 10x10 took 9.6 against 14.4 us, the same bits.
    """
    terms = _axis_terms(grid)
    levels, inverse = np.unique(np.concatenate([d2.ravel() for d2 in terms]), return_inverse=True)
    parts = np.split(inverse.astype(np.intp), np.cumsum([d2.size for d2 in terms])[:-1])
    indices = tuple(part.reshape(d2.shape) for part, d2 in zip(parts, terms, strict=True))
    for array in (levels, *indices):
        array.flags.writeable = False
    return levels, indices


@lru_cache(maxsize=16)
def _axis_terms(grid):
    """The two terms of the squared grid distance whose sum it is, by axis (read-only).

    Rectangular: ``dr**2`` and ``dc**2`` (:meth:`Grid.axis_squared_distances`);
    hexagonal: ``3 dr**2 / 4`` and ``dx2**2 / 4``, ``dx2`` in half units
    (:meth:`Grid.hexagonal_offsets`), each exact in float64.
    """
    if grid.topology == "rectangular":
        return grid.axis_squared_distances()
    terms = []
    for offsets, scale in zip(grid.hexagonal_offsets(), (0.75, 0.25), strict=True):
        term = scale * (offsets * offsets).astype(np.float64)
        term.flags.writeable = False
        terms.append(term)
    return tuple(terms)


def separable_product(grid, g_rows, g_columns, M):
    """``H @ M`` from the row and column factors of a separable ``H`` (:func:`axis_neighborhoods`).

    Along the columns of each grid row, then along the rows. On a hexagonal
    grid each grid row's column product is taken twice, once with the
    factors towards rows of each parity, and each parity's rows then take
    their sum over rows from their own.
    """
    n_rows, n_columns = grid.n_rows, grid.n_columns
    M = M.reshape(n_rows, n_columns, -1)
    if grid.topology == "rectangular":
        T = np.matmul(g_columns, M)
        return (g_rows @ T.reshape(n_rows, -1)).reshape(n_rows * n_columns, -1)
    out = np.empty_like(M)
    for p in range(2):
        # T[s] = G[p, s % 2] @ M[s]: grid row s's sums towards a row of parity p.
        T = np.matmul(g_columns[p, np.arange(n_rows) % 2], M)
        out[p::2] = (g_rows[p::2] @ T.reshape(n_rows, -1)).reshape(-1, n_columns, M.shape[2])
    return out.reshape(n_rows * n_columns, -1)


def apply_neighborhood(grid, name, sigma, M, absolute=False):
    """``H @ M`` for the neighbourhood matrix ``H[j, k] = h(d2(j, k), sigma)``.

    ``M`` has shape ``(n_units, k)``; ``absolute=True`` uses ``|H|``. The
    Gaussian is separable (:func:`is_separable`), so where
    :func:`product_by_axis` the product is taken along columns and then along
    rows (:func:`separable_product`): ``O(n_units * (n_rows + n_columns) * k)``
    instead of ``O(n_units**2 * k)``, with no ``n_units x n_units`` matrix.
    Elsewhere ``H`` is built from the grid's distinct distances (one
    evaluation per level).
    """
    if product_by_axis(grid, name):
        g_rows, g_columns = (g[0] for g in axis_neighborhoods(grid, [sigma], M.dtype))
        return separable_product(grid, g_rows, g_columns, M)
    levels, level_index = grid.distance_levels()
    values = weights_in(NEIGHBORHOODS[name](levels, sigma), M.dtype)
    if absolute:
        values = np.abs(values)
    return values[level_index] @ M
