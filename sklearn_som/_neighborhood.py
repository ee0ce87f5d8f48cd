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
