"""Best-matching-unit search: distances as one matrix product per chunk.

For a chunk of rows ``X_c`` and prototypes ``W``, the squared Euclidean
distances are ``|x|^2 - 2 x.w + |w|^2``; the ``x.w`` term is one BLAS matrix
product (``X_c @ W.T``). Chunks of ``batch_size`` rows bound the memory to
``batch_size * n_units`` numbers, whatever the number of rows. ``X`` may be a
dense array or a CSR matrix; results have the dtype of ``X`` and ``W``.

Two searches share that product:

- ``exact=False`` (training): the argmin of ``|w|^2 - 2 x.w``, which needs no
  pass over the chunk for ``|x|^2``;
- ``exact=True`` (``predict``, ``labels_``, the metrics): the argmin of the
  very distances ``transform`` returns, so ``predict(X)`` always equals
  ``transform(X).argmin(axis=1)``, ties and rounding included.
"""

import numpy as np
from sklearn.utils.extmath import row_norms

# Rows per chunk when the caller does not say: the chunk's distance block
# holds about 2**20 numbers (4 MiB in float32).
_CHUNK_ELEMENTS = 2**20


def auto_batch_size(n_samples, n_units):
    return int(max(1, min(n_samples, _CHUNK_ELEMENTS // max(n_units, 1))))


def chunk_slices(n_samples, batch_size):
    for start in range(0, n_samples, batch_size):
        yield slice(start, min(start + batch_size, n_samples))


def _partial_distances(X_chunk, W, w_sq):
    """``|w|^2 - 2 x.w`` for every row of the chunk and every unit."""
    d = np.asarray(X_chunk @ W.T)
    d *= -2.0
    d += w_sq
    return d


def distances(X_chunk, W, w_sq=None):
    """Euclidean distances of one chunk of rows to every unit."""
    if w_sq is None:
        w_sq = row_norms(W, squared=True)
    d = _partial_distances(X_chunk, W, w_sq)
    d += row_norms(X_chunk, squared=True)[:, None]
    np.maximum(d, 0.0, out=d)
    return np.sqrt(d, out=d)


def best_matching_units(X, W, batch_size, *, second=False, exact=True):
    """BMU of every row of ``X`` and its distance.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    W : ndarray of shape (n_units, n_features), same dtype as ``X``
    batch_size : int
        Rows per chunk.
    second : bool, default=False
        Also return the second-best unit of each row (``-1`` when the map
        has a single unit).
    exact : bool, default=True
        Take the argmin of the distances ``transform`` returns (see the
        module docstring); ``False`` skips the passes that needs.

    Returns
    -------
    bmu : ndarray of shape (n_samples,), int64
    dist : ndarray of shape (n_samples,)
        Euclidean distance of each row to its BMU.
    bmu2 : ndarray of shape (n_samples,), int64
        Only when ``second=True``.
    """
    n_samples = X.shape[0]
    w_sq = row_norms(W, squared=True)
    bmu = np.empty(n_samples, dtype=np.int64)
    dist = np.empty(n_samples, dtype=W.dtype)
    bmu2 = np.full(n_samples, -1, dtype=np.int64) if second else None
    for chunk in chunk_slices(n_samples, batch_size):
        X_chunk = X[chunk]
        rows = np.arange(X_chunk.shape[0])
        if exact:
            d = distances(X_chunk, W, w_sq)
            best = np.argmin(d, axis=1)
            dist[chunk] = d[rows, best]
        else:
            d = _partial_distances(X_chunk, W, w_sq)
            best = np.argmin(d, axis=1)
            d_best = d[rows, best] + row_norms(X_chunk, squared=True)
            dist[chunk] = np.sqrt(np.maximum(d_best, 0.0))
        bmu[chunk] = best
        if second and W.shape[0] > 1:
            d[rows, best] = np.inf
            bmu2[chunk] = np.argmin(d, axis=1)
    return (bmu, dist, bmu2) if second else (bmu, dist)
