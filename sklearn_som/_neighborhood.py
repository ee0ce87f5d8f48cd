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
    """The Gaussian along rows and along columns, ``(len(sigmas), n, n)`` each, for each sigma."""
    sigmas = np.asarray(sigmas, dtype=np.float64)[:, None, None]
    return tuple(
        weights_in(gaussian(d2[None], sigmas), dtype) for d2 in grid.axis_squared_distances()
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
    values = weights_in(NEIGHBORHOODS[name](levels, sigma), M.dtype)
    if absolute:
        values = np.abs(values)
    return values[level_index] @ M
