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
    """Whether ``H`` is the Kronecker product of one matrix per grid axis.

    True for the Gaussian on a rectangular grid:
    ``exp(-(dr**2 + dc**2) / (2 sigma**2)) = g(dr) g(dc)``, and wrap-around
    acts on each axis alone.
    """
    return name == "gaussian" and grid.topology == "rectangular"


def axis_neighborhoods(grid, sigmas, dtype):
    """The Gaussian along rows and along columns, ``(len(sigmas), n, n)`` each, for each sigma."""
    sigmas = np.asarray(sigmas, dtype=np.float64)[:, None, None]
    return tuple(
        np.ascontiguousarray(gaussian(d2[None], sigmas), dtype=dtype)
        for d2 in grid.axis_squared_distances()
    )


def apply_neighborhood(grid, name, sigma, M, absolute=False):
    """``H @ M`` for the neighbourhood matrix ``H[j, k] = h(d2(j, k), sigma)``.

    ``M`` has shape ``(n_units, k)``; ``absolute=True`` uses ``|H|``. On a
    rectangular grid the Gaussian is separable (:func:`is_separable`), so the
    product is taken along columns and then along rows:
    ``O(n_units * (n_rows + n_columns) * k)`` instead of ``O(n_units**2 * k)``,
    with no ``n_units x n_units`` matrix. Elsewhere ``H``
    is built from the grid's distinct distances (one evaluation per level).
    """
    if is_separable(grid, name):
        g_rows, g_columns = (g[0] for g in axis_neighborhoods(grid, [sigma], M.dtype))
        T = np.matmul(g_columns, M.reshape(grid.n_rows, grid.n_columns, -1))
        T = g_rows @ T.reshape(grid.n_rows, -1)
        return T.reshape(M.shape)
    levels, level_index = grid.distance_levels()
    values = NEIGHBORHOODS[name](levels, sigma)
    if absolute:
        values = np.abs(values)
    return values.astype(M.dtype)[level_index] @ M
