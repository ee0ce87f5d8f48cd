"""One function per library: train a rectangular map, return its prototypes.

Each takes ``(X, case, seed)`` and returns an array ``(n_rows * n_columns,
n_features)`` with unit ``(r, c)`` at row ``r * n_columns + c``, so that one
implementation of the quality measures serves every library. Settings are
each library's defaults, except where the notes say (the same epochs for all;
radii where a default gives a degenerate map).
"""

import contextlib
import io

import numpy as np

NOTES = {
    "sklearn_som": "defaults (batch map, PCA init, sigma R/2 -> 1)",
    "sklearn_som online": 'algorithm="online" (lr 0.5 -> 0.01, sigma R/2 -> 1)',
    "sklearn_som sigma=R/4 sigma_final=0.8": (
        "batch map, sigma from a quarter of the longer side (R/4) to 0.8 (time to quality only)"
    ),
    "sklearn_som online triangle sigma_final=0.7": (
        'algorithm="online", neighborhood="triangle", sigma_final=0.7 (time to quality only)'
    ),
    "fastersom": "BatchSOM on the CPU, precision of the data, defaults",
    "xpysom": "defaults (batch, numpy)",
    "somoclu": "defaults, exponential radius cooling (linear gives NaN maps for 1 epoch)",
    "numbasom": "defaults (online, numba, random init, float64 only)",
    "minisom": "sigma R/2, PCA init, random order, use_epochs (online, float64 only)",
    "susi": "online, n_iter = epochs x rows (float64 only)",
}


def _flat(W):
    W = np.asarray(W)
    return W.reshape(-1, W.shape[-1])


def sklearn_som_with(sigma_share=None, **settings):
    """Our estimator with ``settings`` beside the case's map size, epochs and seed.

    ``sigma_share``, if given, sets the starting radius to that share of the
    map's longer side.
    """

    def fit(X, case, seed):
        from sklearn_som import SelfOrganizingMap

        radius = {}
        if sigma_share is not None:
            radius["sigma"] = sigma_share * max(case.n_rows, case.n_columns)
        som = SelfOrganizingMap(
            case.n_rows,
            case.n_columns,
            max_iter=case.epochs,
            random_state=seed,
            **radius,
            **settings,
        )
        return som.fit(X).cluster_centers_

    return fit


def fastersom(X, case, seed):
    import torch
    from fastersom import BatchSOM

    torch.set_num_threads(2)
    precision = "float64" if X.dtype == np.float64 else "float32"
    som = BatchSOM(
        case.n_rows,
        case.n_columns,
        n_epochs=case.epochs,
        random_state=seed,
        device="cpu",
        precision=precision,
    )
    som.fit(X)
    W = som.weights_
    return _flat(W.cpu().numpy() if hasattr(W, "cpu") else W)


def xpysom(X, case, seed):
    from xpysom import XPySom

    som = XPySom(case.n_rows, case.n_columns, X.shape[1], random_seed=seed)
    som.train(X, case.epochs)
    return _flat(som.get_weights())


def somoclu(X, case, seed):
    import somoclu as sc

    som = sc.Somoclu(case.n_columns, case.n_rows, initialization="pca")
    som.train(
        np.ascontiguousarray(X, dtype=np.float32), epochs=case.epochs, radiuscooling="exponential"
    )
    return _flat(som.codebook)


def numbasom(X, case, seed):
    from numbasom import SOM

    with contextlib.redirect_stdout(io.StringIO()):
        lattice = SOM((case.n_rows, case.n_columns)).train(
            np.asarray(X, dtype=np.float64), case.epochs * X.shape[0]
        )
    return _flat(lattice)


def minisom(X, case, seed):
    from minisom import MiniSom

    X = np.asarray(X, dtype=np.float64)
    som = MiniSom(
        case.n_rows,
        case.n_columns,
        X.shape[1],
        sigma=max(case.n_rows, case.n_columns) / 2,
        random_seed=seed,
    )
    som.pca_weights_init(X)
    som.train(X, case.epochs, random_order=True, use_epochs=True)
    return _flat(som.get_weights())


def susi(X, case, seed):
    import susi as su

    som = su.SOMClustering(
        case.n_rows,
        case.n_columns,
        n_iter_unsupervised=case.epochs * X.shape[0],
        random_state=seed,
    )
    som.fit(np.asarray(X, dtype=np.float64))
    return _flat(som.unsuper_som_)


LIBRARIES = {
    "sklearn_som": sklearn_som_with(),
    "sklearn_som online": sklearn_som_with(algorithm="online"),
    "sklearn_som sigma=R/4 sigma_final=0.8": sklearn_som_with(sigma_share=0.25, sigma_final=0.8),
    "sklearn_som online triangle sigma_final=0.7": sklearn_som_with(
        algorithm="online", neighborhood="triangle", sigma_final=0.7
    ),
    "fastersom": fastersom,
    "xpysom": xpysom,
    "somoclu": somoclu,
    "numbasom": numbasom,
    "minisom": minisom,
    "susi": susi,
}

# A library's name with this suffix (``"numbasom marginal"``) times the cost of
# the case's epochs once more, without the per-fit costs: a fit of twice the
# epochs minus a fit of them (see worker.py). The online rule's per-sample
# comparison takes it beside the whole fit, on the cases where per-fit costs
# are a visible share of the fit.
MARGINAL = " marginal"
MARGINAL_LIBRARIES = ["sklearn_som online", "numbasom"]

# Libraries that cannot finish a case in reasonable time here, and why.
TOO_SLOW = {
    ("minisom", "mnist_sized"): "more than 300 s for one epoch (SPEC)",
    ("susi", "mnist_sized"): "online in pure numpy: minutes per epoch",
    ("susi", "blobs"): "online in pure numpy: minutes for 10 epochs",
    ("minisom", "blobs"): "1,000,000 online steps: over a minute per run",
}
