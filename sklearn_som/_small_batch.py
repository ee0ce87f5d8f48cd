"""The batch map's epochs on small data, all in one compiled call.

On data as small as iris (150 rows, a 10x10 map) an epoch is a few dozen
microseconds of arithmetic but ten times that in Python: each of the twenty
or so numpy calls of :func:`sklearn_som._bmu.batch_statistics` and
:func:`sklearn_som._train.batch_update` costs a few microseconds whatever its
size. Here the same epoch -- BMU product, per-unit sums, neighbourhood
product, relaxed step -- runs as one numba function for every epoch of a fit,
with BLAS called from compiled code (``np.dot``) for the two products.

The arithmetic is the batch map of :mod:`sklearn_som._train`, in the dtype of
the data: ``d = |w|^2 - 2 x.w`` and its first argmin, ``S = sum s_i x_i`` and
``n = sum s_i`` per BMU, then the neighbourhood product and relaxed step of
:func:`sklearn_som._batch_step.relaxed_step`, which the chunked path's
epochs call too (its separable Gaussian took 1.9 against 7.1 us per epoch on
iris 10x10, against filling ``H`` and the full product). The search goes
unit by unit, as the chunked path's (:func:`sklearn_som._bmu.unit_minima`,
on ``D = -2 W @ X.T``): on iris 10x10 against an argmin per row, the
minima took 2.0 against 5.4 us per epoch (the product 3.4 us either way)
and whole 10-epoch fits 0.327 against 0.366 ms, the same maps to the bit.
Only the order of some sums differs from the chunked path, so the maps
agree to rounding.
:func:`applies` says when this path is used: when the distance block and
``H`` together hold at most ``_MAX_ELEMENTS`` numbers (far below the ``2**20``
the chunked path allows per chunk) and the caller has checked that all rows
fit in one ``batch_size`` chunk.
"""

import numpy as np

from ._batch_step import neighborhood_tables

try:
    import numba
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None
else:
    from ._batch_step import relaxed_step
    from ._bmu import unit_minima

# Up to this many elements of (rows x units) + (units x units) the compiled
# path is used. Measured side by side (10 epochs, fit times): iris 10x10
# (25,000) 1.5x faster than the chunked path; RGB 3000x3 on 10x10, digits on
# 20x20 and RGB on 30x30 (0.3 to 3.5 million) within +-8% either way, so
# those keep the chunked path, its threads and its memory bound.
_MAX_ELEMENTS = 2**16


def applies(X, n_units):
    """Whether the compiled small-data path trains on ``X`` (dense, small, numba present)."""
    size = X.shape[0] * n_units + n_units * n_units
    return numba is not None and isinstance(X, np.ndarray) and size <= _MAX_ELEMENTS


if numba is not None:

    @numba.njit(cache=True, nogil=True)
    def _epochs(
        XT,
        sample_weight,
        x_sq,
        W,
        values,
        abs_values,
        level_index,
        row_values,
        column_values,
        rates,
        errors,
    ):
        n_features, n_samples = XT.shape
        n_units = W.shape[0]
        zero = np.zeros(1, dtype=W.dtype)[0]
        minus_two = np.full(1, -2.0, dtype=W.dtype)[0]
        total_weight = zero
        for i in range(n_samples):
            total_weight += sample_weight[i]
        M = np.empty((n_units, n_features + 1), dtype=W.dtype)
        separable = row_values.shape[1] > 0
        H = np.empty((0 if separable else n_units, n_units), dtype=W.dtype)
        W2 = np.empty((n_units, n_features), dtype=W.dtype)
        w_sq = np.empty(n_units, dtype=W.dtype)
        best = np.empty(n_samples, dtype=np.int64)
        best_d = np.empty(n_samples, dtype=W.dtype)
        spare = np.empty(n_samples, dtype=np.int64)
        spare_d = np.empty(n_samples, dtype=W.dtype)
        for epoch in range(rates.shape[0]):
            # BMU search: d[j, i] = |w_j|^2 - 2 w_j.x_i, unit by unit (unit_minima).
            for j in range(n_units):
                norm = zero
                for f in range(n_features):
                    norm += W[j, f] * W[j, f]
                    W2[j, f] = W[j, f] * minus_two
                w_sq[j] = norm
            unit_minima(np.dot(W2, XT), w_sq, best, best_d, spare, spare_d)
            M[:] = 0
            qe = 0.0
            for i in range(n_samples):
                b = best[i]
                s = sample_weight[i]
                qe += np.sqrt(max(best_d[i] + x_sq[i], 0.0)) * s
                if s != 0:
                    for f in range(n_features):
                        M[b, f] += s * XT[f, i]
                    M[b, n_features] += s
            errors[epoch] = qe / total_weight
            relaxed_step(
                W,
                M,
                values[epoch],
                abs_values[epoch],
                level_index,
                row_values[epoch],
                column_values[epoch],
                rates[epoch],
                H,
            )


def batch_epochs(X, sample_weight, x_sq, W, grid, neighborhood, sigmas, rates):
    """Train ``W`` for ``len(sigmas)`` batch epochs; returns new prototypes and the epochs' QEs.

    ``sigmas`` and ``rates`` give each epoch's radius and learning rate;
    ``x_sq`` holds the rows' squared norms. ``W`` is not modified.
    """
    values, abs_values, level_index, row_values, column_values = neighborhood_tables(
        grid, neighborhood, sigmas, W.dtype
    )
    W = np.array(W, order="C")
    errors = np.empty(values.shape[0], dtype=np.float64)
    rates = np.asarray(rates, dtype=W.dtype)
    _epochs(
        np.ascontiguousarray(X.T),
        sample_weight,
        x_sq,
        W,
        values,
        abs_values,
        level_index,
        row_values,
        column_values,
        rates,
        errors,
    )
    return W, errors
