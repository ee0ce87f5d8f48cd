"""Quality measures and summaries of a fitted self-organizing map.

Every function takes a fitted :class:`~sklearn_som.SelfOrganizingMap` (or a
:class:`~sklearn.pipeline.Pipeline` ending in one, whose earlier steps then
transform ``X``) and, where it needs data, ``X``. Neighbours are the units at
grid distance exactly 1 (four on a rectangular grid, six on a hexagonal one,
with wrap-around when the map is periodic): the same geometry training uses.

===========================  =================================================
``quantization_error``       mean ``|x_i - w_{b(i)}|`` (Euclidean)
``topographic_error``        fraction of rows whose best and second-best
                             units are not neighbours (Kiviluoto, 1996)
``distortion``               mean ``sum_j h(b(i), j) |x_i - w_j|^2``, the
                             energy the batch map decreases (Heskes, 1999)
``u_matrix``                 mean distance of each prototype to its
                             neighbours' prototypes (Ultsch, 1990)
``hit_map``                  (weighted) number of rows per unit
``bmu_purity``               fraction of rows whose class is the majority
                             class of their unit
===========================  =================================================

Scorers for :class:`~sklearn.model_selection.GridSearchCV` (called as
``scorer(estimator, X, y=None)``, higher is better):
``quantization_error_scorer`` (``-QE``; always prefers smaller radii),
``topographic_error_scorer`` (``-TE``; prefers well-ordered maps), and
``combined_scorer`` (``-(QE / QE_0 + TE)``, with ``QE_0`` the mean distance of
the rows to their mean, so both terms are dimensionless). Use the combined
scorer to tune ``sigma`` and ``learning_rate`` together.
"""

import numpy as np
from scipy import sparse
from sklearn.utils.extmath import row_norms
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ._bmu import chunk_slices
from ._neighborhood import apply_neighborhood

__all__ = [
    "quantization_error",
    "topographic_error",
    "distortion",
    "u_matrix",
    "hit_map",
    "bmu_purity",
    "quantization_error_scorer",
    "topographic_error_scorer",
    "combined_scorer",
]


def _unwrap(estimator, X=None):
    """The map at the end of ``estimator`` and ``X`` passed through the steps before it."""
    if hasattr(estimator, "steps"):
        if X is not None and len(estimator.steps) > 1:
            X = estimator[:-1].transform(X)
        estimator = estimator.steps[-1][1]
    check_is_fitted(estimator)
    if X is not None:
        X = estimator._check_test_data(X)
    return estimator, X


def _assign(som, X, second=False):
    return som._best_matching_units(X, second=second)


def _weights(sample_weight, X):
    return _check_sample_weight(sample_weight, X, dtype=np.float64)


def quantization_error(som, X, sample_weight=None):
    """Mean Euclidean distance of the rows of ``X`` to their best matching unit.

    Parameters
    ----------
    som : fitted SelfOrganizingMap or Pipeline ending in one
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    float
    """
    som, X = _unwrap(som, X)
    _, dist = _assign(som, X)
    return float(np.average(dist, weights=_weights(sample_weight, X)))


def topographic_error(som, X, sample_weight=None):
    """Fraction of rows whose best and second-best units are not grid neighbours.

    A 1x1 map has no second unit and a topographic error of 0.

    Parameters
    ----------
    som : fitted SelfOrganizingMap or Pipeline ending in one
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    float
    """
    som, X = _unwrap(som, X)
    bmu, _, bmu2 = _assign(som, X, second=True)
    not_adjacent = ~som._grid.are_neighbors(bmu, bmu2)
    return float(np.average(not_adjacent, weights=_weights(sample_weight, X)))


def distortion(som, X, sigma=None, sample_weight=None):
    """Neighbourhood-weighted squared error, the batch map's energy function.

    ``mean_i sum_j h(d(b(i), j), sigma) |x_i - w_j|^2`` with the map's
    neighbourhood function; ``sigma`` defaults to the final radius of the
    map's schedule.

    Each row's sum is ``c_b |x|^2 - 2 x.m_b + e_b`` for its BMU ``b``, from
    ``c_b = sum_j h_bj``, ``m_b = sum_j h_bj w_j`` and
    ``e_b = sum_j h_bj |w_j|^2`` (in the map's training scale, with dense
    rows and prototypes first shifted by the prototypes' mean, so the terms
    stay small), in float64: one pass over ``X`` after the BMU search,
    instead of every row's distance to every unit.

    Parameters
    ----------
    som : fitted SelfOrganizingMap or Pipeline ending in one
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    sigma : float, default=None
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    float
    """
    som, X = _unwrap(som, X)
    if sigma is None:
        sigma = som._sigma_range()[1]
    bmu, _ = _assign(som, X)
    # In the map's training scale (a power of two, almost always 1), so that
    # the sums of data far from unit scale neither overflow nor underflow.
    scale = som._scale
    W = som.cluster_centers_.astype(np.float64) / scale
    shift = np.zeros(W.shape[1]) if sparse.issparse(X) else W.mean(axis=0)
    W = W - shift
    # H @ [1, W, |W|^2], where H is symmetric; the Gaussian's goes by grid axis
    # (apply_neighborhood), with no (n_units, n_units) matrix: on a 50x50 map
    # of digits 114.9 -> 13.2 ms (hexagonal 110.4 -> 17.6) and a peak of 95.4
    # -> 5.1 MiB (7.3), same values to 1e-15.
    units = np.column_stack([np.ones(W.shape[0]), W, row_norms(W, squared=True)])
    sums = apply_neighborhood(som._grid, som.neighborhood, sigma, units)
    mass, pull, energy = sums[:, 0], sums[:, 1:-1], sums[:, -1]
    per_row = np.empty(X.shape[0])
    for chunk in chunk_slices(X.shape[0], som._batch_size_for(X)):
        b = bmu[chunk]
        if sparse.issparse(X):
            # Through the (chunk, units) product, as bounded as the search's,
            # not a dense (chunk, features) gather of wide sparse rows.
            rows = X[chunk].astype(np.float64) / scale
            cross = np.asarray(rows @ pull.T)[np.arange(b.size), b]
        else:
            rows = X[chunk].astype(np.float64) / scale - shift
            cross = np.einsum("ij,ij->i", rows, pull[b])
        per_row[chunk] = mass[b] * row_norms(rows, squared=True) - 2.0 * cross + energy[b]
    return float(np.average(per_row, weights=_weights(sample_weight, X))) * scale**2


def u_matrix(som):
    """Mean distance of each unit's prototype to its neighbours' prototypes.

    Parameters
    ----------
    som : fitted SelfOrganizingMap or Pipeline ending in one

    Returns
    -------
    ndarray of shape (n_rows, n_columns)
        Zero for a unit with no neighbours (a 1x1 map).
    """
    som, _ = _unwrap(som)
    adjacency = som._grid.adjacency().tocoo()
    W = som.cluster_centers_.astype(np.float64) / som._scale
    gaps = np.linalg.norm(W[adjacency.row] - W[adjacency.col], axis=1) * som._scale
    n_units = W.shape[0]
    total = np.bincount(adjacency.row, weights=gaps, minlength=n_units)
    count = np.bincount(adjacency.row, minlength=n_units)
    mean = np.divide(total, count, out=np.zeros(n_units), where=count > 0)
    return mean.reshape(som._grid.shape)


def hit_map(som, X, sample_weight=None):
    """Number (or total weight) of the rows of ``X`` mapped to each unit.

    Parameters
    ----------
    som : fitted SelfOrganizingMap or Pipeline ending in one
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    ndarray of shape (n_rows, n_columns)
        Integer counts without ``sample_weight``, total weights with it.
    """
    som, X = _unwrap(som, X)
    bmu, _ = _assign(som, X)
    n_units = som.cluster_centers_.shape[0]
    if sample_weight is None:
        hits = np.bincount(bmu, minlength=n_units)
    else:
        hits = np.bincount(bmu, weights=_weights(sample_weight, X), minlength=n_units)
    return hits.reshape(som._grid.shape)


def unit_class_counts(som, X, y):
    """Rows of each class at each unit, shape ``(n_units, n_classes)``, and the classes."""
    som, X = _unwrap(som, X)
    classes, y_index = np.unique(np.asarray(y), return_inverse=True)
    bmu, _ = _assign(som, X)
    counts = np.zeros((som.cluster_centers_.shape[0], classes.size), dtype=np.int64)
    np.add.at(counts, (bmu, y_index.ravel()), 1)
    return counts, classes


def bmu_purity(som, X, y):
    """Fraction of rows whose class is the most common class at their unit.

    Parameters
    ----------
    som : fitted SelfOrganizingMap or Pipeline ending in one
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)

    Returns
    -------
    float
    """
    counts, _ = unit_class_counts(som, X, y)
    return float(counts.max(axis=1).sum() / counts.sum())


def quantization_error_scorer(estimator, X, y=None):
    """``-quantization_error``: a scorer for model selection."""
    return -quantization_error(estimator, X)


def topographic_error_scorer(estimator, X, y=None):
    """``-topographic_error``: a scorer for model selection."""
    return -topographic_error(estimator, X)


def combined_scorer(estimator, X, y=None):
    """``-(QE / QE_0 + TE)``, ``QE_0`` the mean distance of the rows to their mean."""
    som, X_som = _unwrap(estimator, X)
    bmu, dist, bmu2 = _assign(som, X_som, second=True)
    # |x - mean| without a dense centred copy (sparse X stays sparse).
    mean = np.asarray(X_som.mean(axis=0), dtype=np.float64).ravel()
    squared = row_norms(X_som, squared=True) - 2 * np.asarray(X_som @ mean).ravel() + mean @ mean
    spread = np.sqrt(np.maximum(squared, 0)).mean()
    qe = dist.mean() / spread if spread > 0 else 0.0
    return -float(qe + (~som._grid.are_neighbors(bmu, bmu2)).mean())
