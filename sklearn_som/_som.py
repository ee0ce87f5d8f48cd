"""The SelfOrganizingMap estimator."""

import time
import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import InconsistentVersionWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import row_norms
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _batch_step, _final_pass, _small_batch, _train
from ._bmu import (
    Float32Search,
    auto_batch_size,
    best_matching_units,
    best_two_of,
    checked_row_norms,
    chunk_product_size,
    chunk_slices,
    distances,
    product_block_rows,
    safe_scale,
    search_origin,
    search_product_size,
    training_block_rows,
)
from ._grid import Grid
from ._init import initial_prototypes
from ._neighborhood import NEIGHBORHOODS
from ._online import compiled_online_epoch
from ._parallel import blas_limit, map_chunks
from ._random import random_state_from
from ._schedules import SCHEDULES, epoch_progress, sample_progress

# The online rule runs whole epochs back to back in one kernel call, up to
# this many steps per call (2 MiB of order, schedule and distances): on iris
# (150 rows) a call per epoch cost more in Python than the epoch's steps.
_ONLINE_STEPS_PER_CALL = 2**16
# The chunked batch map makes its neighbourhood tables for this many epochs at
# a time (one call of a few numpy calls instead of one per epoch), bounding
# their memory on long fits of large maps.
_TABLE_EPOCHS = 16


def _package_version():
    from . import __version__

    return __version__


def _weighted_mean(values, weights):
    return float(np.dot(values, weights) / weights.sum())


@contextmanager
def _all_or_nothing(estimator):
    """Restore the estimator as it was if the block raises.

    Covers bad input found late (after ``validate_data`` has set
    ``n_features_in_``), errors inside training and ``KeyboardInterrupt``:
    a fitted model stays as it was and an unfitted one stays unfitted.
    Fitted arrays are replaced, never changed in place, so a shallow copy
    suffices. Random generators are consumed in place: each one the block
    takes from :meth:`SelfOrganizingMap._random_state` that outlives a
    failed call (the map's own, which ``partial_fit`` continues, or a
    ``RandomState`` given as ``random_state``) has its state saved there,
    when first taken, and put back here. Blocks that take none save
    nothing: ``get_state`` costs about 34 us, and a refit with an integer
    seed or a batch ``partial_fit`` with PCA initialisation draws nothing
    from the old generator.
    """
    saved = dict(estimator.__dict__)
    taken = estimator._rng_taken = []
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(saved)
        for rng, state in taken:
            if state is not None:
                rng.set_state(state)
        raise
    finally:
        estimator.__dict__.pop("_rng_taken", None)


class SelfOrganizingMap(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator
):
    """Self-organizing map (Kohonen map).

    A grid of ``n_rows * n_columns`` units, each with a prototype vector in
    input space. Training repeats two steps: find each sample's best matching
    unit (BMU, the nearest prototype), then pull that unit and its grid
    neighbours towards the sample, with a neighbourhood radius and a learning
    rate that shrink over training. The fitted map is a clusterer (each row's
    cell), a transformer (distances to every prototype) and a picture of the
    data's shape (see :mod:`sklearn_som.metrics` and :mod:`sklearn_som.plotting`).

    Parameters
    ----------
    n_rows : int, default=10
        Number of rows of the grid.

    n_columns : int, default=10
        Number of columns of the grid.

    topology : {"rectangular", "hexagonal"}, default="rectangular"
        Rectangular grids have four neighbours per unit; hexagonal grids
        shift odd rows by one half and space rows by ``sqrt(3) / 2``, so each
        unit has six neighbours at distance 1.

    periodic : bool, default=False
        Whether the grid wraps around both axes (a torus).

    neighborhood : {"gaussian", "bubble", "triangle", "mexican_hat"}, \
            default="gaussian"
        Neighbourhood function ``h(d, sigma)`` of the grid distance ``d`` to
        the BMU: ``exp(-d**2 / (2 sigma**2))``, ``1 if d <= sigma else 0``,
        ``max(0, 1 - d / sigma)``, or
        ``(1 - d**2 / sigma**2) exp(-d**2 / (2 sigma**2))``.

    sigma : float, default=None
        Starting neighbourhood radius, in grid units. ``None`` uses
        ``max(n_rows, n_columns) / 2``.

    sigma_final : float, default=None
        Final neighbourhood radius. ``None`` uses ``min(1, sigma / 3)``: 1 on
        maps of 6x6 units and more (``sigma >= 3``), as in SOM Toolbox's
        fine-tuning phase, where a Gaussian neighbourhood still gives the
        adjacent units a weight of ``exp(-1/2) = 0.61`` and keeps the map
        ordered (low topographic error); less on smaller maps, whose units
        would otherwise all be pulled to the middle of the data. Smaller
        values lower the quantization error and raise the topographic error.

    learning_rate : float or "auto", default="auto"
        Starting learning rate. ``"auto"`` is 1 for ``algorithm="batch"``
        (the pure batch map) and 0.5 for ``algorithm="online"``. For the batch
        rule it relaxes each epoch's step: ``W <- W + lr * (W_batch - W)``.

    learning_rate_final : float, default=None
        Final learning rate. ``None`` keeps the batch rule's learning rate
        constant and ends the online rule's at 1/50 of its start.

    decay : {"exponential", "linear", "inverse"}, default="exponential"
        Shape of the schedule of both sigma and the learning rate over the
        training progress ``p`` from 0 to 1: ``start * (final / start)**p``,
        ``start + (final - start) * p``, or
        ``start / (1 + (start / final - 1) * p)``.

    algorithm : {"batch", "online"}, default="batch"
        ``"batch"`` is Kohonen's batch map: each epoch assigns every row to
        its BMU with one matrix product and moves every prototype to the
        neighbourhood-weighted mean of the rows; deterministic and
        independent of row order. ``"online"`` is the classic sequential rule:
        one row at a time, in a random order, ``w += lr(t) * h(t) * (x - w)``.

    max_iter : int, default=20
        Number of epochs (passes over the training data).

    batch_size : int, default=None
        Rows per chunk of the BMU search and the batch update; bounds memory
        to about ``batch_size * n_units`` numbers (far less where the searches
        go a few rows at a time, as below). It does not change the
        result beyond floating-point rounding. ``None`` chooses equal chunks
        of at most about ``2**20 / n_units`` rows, as many as a multiple of
        the number of threads that have enough work (small data stays in one
        chunk on the calling thread); dense data with up to 64 features,
        whose searches go a few rows at a time and never hold a chunk's
        distances, take chunks of up to ``2**20 / n_features`` rows instead.

    init : {"pca", "random", "sample"} or array-like of shape \
            (n_rows * n_columns, n_features), default="pca"
        Initial prototypes. ``"pca"`` spreads the grid over the plane of the
        first two principal axes of the (weighted) data; ``"random"`` draws
        uniformly in the data's bounding box; ``"sample"`` draws rows of the
        data (with probability proportional to ``sample_weight``).

    random_state : int, RandomState instance or None, default=None
        Determines the random choices: ``"random"`` and ``"sample"``
        initialisation, the randomized PCA used for more than 128 features
        (and the rows it uses, with more than 8,192), and the order of rows
        in the online rule.

    verbose : int, default=0
        If positive, print one line per epoch: epoch, elapsed seconds and the
        quantization error measured during that epoch.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_rows * n_columns, n_features)
        Prototype vectors, unit ``k`` at row ``k // n_columns`` and column
        ``k % n_columns``. Same dtype as the training data.

    labels_ : ndarray of shape (n_samples,)
        Cell (flat unit index) of each training row, for the final prototypes
        (after ``partial_fit``: of the rows of the last chunk).

    unit_coordinates_ : ndarray of shape (n_rows * n_columns, 2)
        Positions ``(x, y)`` of the units in the plane.

    n_iter_ : int
        Epochs run: ``max_iter`` after ``fit``, plus one per ``partial_fit``.

    quantization_error_ : float
        Mean distance of the training rows to their BMU (weighted by
        ``sample_weight``), for the final prototypes.

    topographic_error_ : float
        Weighted fraction of the training rows whose best and second-best
        units are not grid neighbours.

    quantization_errors_ : ndarray of shape (``n_iter_``,)
        Quantization error measured during each epoch: for the batch rule,
        of the prototypes the epoch started from; for the online rule, the
        mean distance of each row to its BMU when it was presented.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features seen during fit, when they are all strings.

    See Also
    --------
    sklearn.cluster.KMeans : Prototypes without a grid.
    sklearn.cluster.MiniBatchKMeans : The same, learned from mini-batches.

    Notes
    -----
    One batch epoch costs one matrix product of the data with the prototypes,
    ``O(n_samples * n_units * n_features)``, plus
    ``O(n_units**2 * n_features)`` for the neighbourhood smoothing, or
    ``O(n_units * (n_rows + n_columns) * n_features)`` for the Gaussian,
    which splits by grid axis (on hexagonal grids from 150 units). The online
    rule costs the same per epoch but as ``n_samples`` small steps.

    A ``fit`` or ``partial_fit`` that raises, or is interrupted with
    ``KeyboardInterrupt``, leaves the estimator exactly as it was before the
    call: unfitted, or with its previous map. Input arrays are never modified.
    Data far from unit scale are trained in a power-of-two rescaled copy, so
    squared distances neither overflow nor underflow. Dense data far from
    zero next to their spread (float32 values around 1000 that vary by a few
    units, say) are trained and searched minus a point near their centre, as
    ``KMeans`` centres its data: distances do not change, and the
    cancellation in ``|x|^2 - 2 x.w + |w|^2`` that would cost them their
    precision does not happen (sparse rows are searched as they are).

    ``partial_fit`` counts each call as one epoch of the schedule: call ``k``
    (counting the epochs of an earlier ``fit``) trains at progress
    ``k / (max_iter - 1)``, and after ``max_iter`` calls training continues at
    the final sigma and learning rate.

    References
    ----------
    T. Kohonen, "Self-organized formation of topologically correct feature
    maps", Biological Cybernetics 43, 1982.

    T. Kohonen, "The self-organizing map (SOM)", Neurocomputing 21, 1998
    (the batch map).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_som import SelfOrganizingMap
    >>> X, y = load_iris(return_X_y=True)
    >>> som = SelfOrganizingMap(6, 6, random_state=0).fit(X)
    >>> som.cluster_centers_.shape
    (36, 4)
    >>> som.predict(X[:3])
    array([30, 24, 24])
    >>> round(som.quantization_error_, 3)
    0.385
    >>> som.transform(X[:2]).shape
    (2, 36)
    """

    _parameter_constraints: dict = {
        "n_rows": [Interval(Integral, 1, None, closed="left")],
        "n_columns": [Interval(Integral, 1, None, closed="left")],
        "topology": [StrOptions({"rectangular", "hexagonal"})],
        "periodic": ["boolean"],
        "neighborhood": [StrOptions(set(NEIGHBORHOODS))],
        "sigma": [Interval(Real, 0, None, closed="neither"), None],
        "sigma_final": [Interval(Real, 0, None, closed="neither"), None],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "learning_rate_final": [Interval(Real, 0, None, closed="neither"), None],
        "decay": [StrOptions(set(SCHEDULES))],
        "algorithm": [StrOptions({"batch", "online"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "init": [StrOptions({"pca", "random", "sample"}), "array-like"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_rows=10,
        n_columns=10,
        *,
        topology="rectangular",
        periodic=False,
        neighborhood="gaussian",
        sigma=None,
        sigma_final=None,
        learning_rate="auto",
        learning_rate_final=None,
        decay="exponential",
        algorithm="batch",
        max_iter=20,
        batch_size=None,
        init="pca",
        random_state=None,
        verbose=0,
    ):
        self.n_rows = n_rows
        self.n_columns = n_columns
        self.topology = topology
        self.periodic = periodic
        self.neighborhood = neighborhood
        self.sigma = sigma
        self.sigma_final = sigma_final
        self.learning_rate = learning_rate
        self.learning_rate_final = learning_rate_final
        self.decay = decay
        self.algorithm = algorithm
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.init = init
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------
    # Resolved parameters

    def _make_grid(self):
        return Grid(int(self.n_rows), int(self.n_columns), self.topology, bool(self.periodic))

    def _sigma_range(self):
        start = self.sigma if self.sigma is not None else max(self.n_rows, self.n_columns) / 2
        final = self.sigma_final if self.sigma_final is not None else min(1.0, start / 3)
        return float(start), float(final)

    def _learning_rate_range(self):
        if self.learning_rate == "auto":
            start = 1.0 if self.algorithm == "batch" else 0.5
        else:
            start = float(self.learning_rate)
        if self.learning_rate_final is not None:
            final = float(self.learning_rate_final)
        else:
            final = start if self.algorithm == "batch" else start / 50
        return start, final

    def _schedule(self, progress):
        """Sigma and learning rate at ``progress`` (a number or an array)."""
        shape = SCHEDULES[self.decay]
        return shape(*self._sigma_range(), progress), shape(*self._learning_rate_range(), progress)

    def _batch_size_for(self, X):
        """Rows per chunk for ``X``: ``batch_size``, or chosen from its shape."""
        if self.batch_size is not None:
            return int(self.batch_size)
        n_units = self.n_rows * self.n_columns
        blocked = training_block_rows(X, n_units) is not None
        return auto_batch_size(X.shape[0], n_units, X.shape[1], blocked=blocked)

    # ------------------------------------------------------------------
    # Input checks

    def _validate_init(self, n_features):
        if isinstance(self.init, str):
            return self.init
        init = np.asarray(self.init)
        if init.dtype.kind not in "iufb":
            raise TypeError(f"init must be a numeric array; got an array of dtype {init.dtype}.")
        expected = (self.n_rows * self.n_columns, n_features)
        if init.shape != expected:
            raise ValueError(
                f"init has shape {init.shape}, but this map needs an array of shape "
                f"(n_rows * n_columns, n_features) = {expected}."
            )
        if not np.all(np.isfinite(init)):
            raise ValueError("init contains NaN or infinity.")
        return init

    def _check_test_data(self, X, reset=False, ensure_all_finite=True):
        return validate_data(
            self,
            X,
            accept_sparse="csr",
            reset=reset,
            dtype=[np.float64, np.float32],
            order="C",
            ensure_all_finite=ensure_all_finite,
        )

    def _validate_training_data(self, X, sample_weight, reset):
        """Validated ``X`` and ``sample_weight``, and the squared norms of the rows of ``X``.

        The finite check is :func:`~sklearn_som._bmu.checked_row_norms`'s,
        which reads it from the row norms that training needs: one pass over
        ``X`` instead of two.
        """
        X = self._check_test_data(X, reset=reset, ensure_all_finite=False)
        x_sq = checked_row_norms(X, estimator_name=type(self).__name__)
        if sample_weight is None:
            # What _check_sample_weight returns for None, without its checks:
            # a 10-epoch fit of iris took 545 against 569 us (batch) and 1127
            # against 1166 us (online), interleaved in one process.
            return X, np.ones(X.shape[0], dtype=X.dtype), x_sq
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
        return X, sample_weight, x_sq

    # ------------------------------------------------------------------
    # Training

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Train the map on ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : Ignored
            Not used, present for API consistency.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row; a weight of 2 counts the row
            twice (exactly so for the batch rule). ``None`` weighs all rows 1.

        Returns
        -------
        self : object
            The fitted map.
        """
        self._fit(X, sample_weight)
        return self

    def _fit(self, X, sample_weight, keep_distances=False):
        """Train on ``X``; returns its distances to every unit if ``keep_distances``."""
        with _all_or_nothing(self):
            X, sample_weight, x_sq = self._validate_training_data(X, sample_weight, reset=True)
            batch_size = self._batch_size_for(X)
            with self._blas_limit(X, batch_size):
                X, W, factors = self._start(X, sample_weight, x_sq)
                x_sq = self._frame_row_norms(X, x_sq)  # fixed for the whole fit
                W, errors = self._train_epochs(
                    X, sample_weight, W, 0, self.max_iter, batch_size, x_sq, factors
                )
                self.n_iter_ = self.max_iter
                self.quantization_errors_ = errors
                return self._set_fitted_state(
                    W, X, sample_weight, batch_size, x_sq, keep_distances
                )

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Train the map for one epoch on one chunk of a stream.

        The first call (on an unfitted map) initialises the prototypes from
        its chunk; each call advances the schedule by one epoch, continuing
        from where ``fit`` or the previous call left it (see Notes).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            One chunk of training data.

        y : Ignored
            Not used, present for API consistency.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row.

        Returns
        -------
        self : object
            The updated map.
        """
        first_call = not hasattr(self, "cluster_centers_")
        with _all_or_nothing(self):
            X, sample_weight, x_sq = self._validate_training_data(
                X, sample_weight, reset=first_call
            )
            batch_size = self._batch_size_for(X)
            with self._blas_limit(X, batch_size):
                if first_call:
                    X, W, factors = self._start(X, sample_weight, x_sq)
                    self.n_iter_ = 0
                    self.quantization_errors_ = np.empty(0)
                else:
                    (X, W), factors = self._resume(X), None
                x_sq = self._frame_row_norms(X, x_sq)
                W, errors = self._train_epochs(
                    X, sample_weight, W, self.n_iter_, 1, batch_size, x_sq, factors
                )
                self.n_iter_ += 1
                self.quantization_errors_ = np.append(self.quantization_errors_, errors)
                self._set_fitted_state(W, X, sample_weight, batch_size, x_sq)
        return self

    def _blas_limit(self, X, batch_size):
        """BLAS on one thread for the whole of a fit (see :mod:`sklearn_som._parallel`).

        Taken once per fit rather than once per epoch, unless the data are
        one chunk and every product small: the searches' ``X @ W.T`` (a
        block's, where they go by blocks of rows) and the neighbourhood's
        ``H @ [S n]``. Steps with larger products of their own (the
        initialisation's on many rows) take the limit themselves.
        """
        n_units = self.n_rows * self.n_columns
        chunks = chunk_slices(X.shape[0], batch_size)
        search = search_product_size(X, chunks, n_units)
        neighborhood = n_units * n_units * (X.shape[1] + 1)
        return blas_limit(len(chunks), max(search, neighborhood))

    def _start(self, X, sample_weight, x_sq):
        """Set up what training continues from: ``X``, initial prototypes and their factors.

        ``X`` and the prototypes are in the map's frame; the factors are
        :func:`~sklearn_som._init.initial_prototypes`' (``None`` but for PCA).

        Fixes the grid, the random generator, the power-of-two scale of the
        data (see :func:`sklearn_som._bmu.safe_scale`), from ``x_sq``, the
        squared norms of the rows of ``X``, and the origin the searches
        measure from (:func:`sklearn_som._bmu.search_origin`; ``None`` for
        most data): the map's frame is ``(X - origin) / scale``.
        """
        init = self._validate_init(X.shape[1])
        self._grid = self._make_grid()
        self._rng = None  # made on first use: see _random_state
        self._scale = safe_scale(X, x_sq)
        self._origin = search_origin(X, x_sq)
        if not isinstance(init, str):
            # A copy (np.array): the user's array is never trained in place.
            init = self._in_frame(np.array(init, dtype=np.float64), self._origin_for(X))
        X = self._to_frame(X)
        W, factors = initial_prototypes(init, X, sample_weight, self._grid, self._random_state)
        return X, W, factors

    def _resume(self, X):
        """``X`` and the fitted prototypes in the map's frame, for ``partial_fit`` to go on."""
        if self._grid != self._make_grid():
            raise ValueError(
                "The grid parameters changed since the map was fitted "
                f"({self._grid} became {self._make_grid()}); call fit to start anew."
            )
        if self._origin_for(X) is not None:
            return self._to_frame(X), self._prototypes_for(X)
        return self._to_frame(X), (self.cluster_centers_ / self._scale).astype(X.dtype)

    def _frame_row_norms(self, X, x_sq):
        """Squared norms of the rows of ``X`` in the map's frame, from ``x_sq``, those before."""
        unchanged = self._scale == 1 and self._origin_for(X) is None
        return x_sq if unchanged else row_norms(X, squared=True)

    def _random_state(self):
        """The fit's random generator, made from ``random_state`` on first use.

        Made by :func:`~sklearn_som._random.random_state_from`, which is
        ``check_random_state`` at a fraction of its cost for integer seeds
        (6 against 150 us); still, the batch map with PCA initialisation
        never draws a random number, so never makes one.
        Later calls (the online rule's epochs, ``partial_fit``) continue the
        same generator. Inside ``fit`` and ``partial_fit`` the first use
        saves the state of a generator that outlives a failed call, for
        :func:`_all_or_nothing` to put back; a generator made here from an
        integer seed is dropped with the failed call, so needs no saving.
        """
        made_here = self._rng is None
        if made_here:
            self._rng = random_state_from(self.random_state)
        rng = self._rng
        taken = self.__dict__.get("_rng_taken")
        if taken is not None and all(rng is not seen for seen, _ in taken):
            fresh = made_here and isinstance(self.random_state, Integral)
            taken.append((rng, None if fresh else rng.get_state()))
        return rng

    def _train_epochs(self, X, sample_weight, W, first, count, batch_size, x_sq, factors=None):
        """Epochs ``first`` to ``first + count - 1`` of the schedule; returns prototypes and QEs.

        ``x_sq`` holds the rows' squared norms; ``factors``, if given, are
        those of ``W`` (the PCA start's plane), for the first epoch's search
        (:func:`~sklearn_som._bmu.prototype_factors`). Where the per-call
        cost of an epoch outweighs its arithmetic, several epochs go to one
        call: small dense data under the batch rule takes the compiled path
        (:mod:`sklearn_som._small_batch`), all epochs at once, and the
        online rule runs up to ``_ONLINE_STEPS_PER_CALL`` steps (whole
        epochs) per call. ``verbose`` asks for one call per epoch, to report
        after each.
        """
        epochs = list(range(first, first + count))
        if self.algorithm == "batch":
            compiled = X.shape[0] <= batch_size and _small_batch.applies(X, W.shape[0])
            per_call = count if compiled else 1
        else:
            compiled = False
            per_call = max(1, _ONLINE_STEPS_PER_CALL // max(X.shape[0], 1))
        if self.verbose:
            per_call = 1
        errors = []
        float32_search = Float32Search()  # the fit's, across its epochs
        start = time.perf_counter()
        for k in range(0, count, per_call):
            group = epochs[k : k + per_call]
            if compiled:
                progress = [epoch_progress(e, self.max_iter) for e in group]
                sigmas, rates = self._schedule(np.array(progress))
                W, qes = _small_batch.batch_epochs(
                    X, sample_weight, x_sq, W, self._grid, self.neighborhood, sigmas, rates
                )
            elif self.algorithm == "batch":  # one epoch per call
                if k % _TABLE_EPOCHS == 0:
                    steps = self._batch_steps(epochs[k : k + _TABLE_EPOCHS], W.dtype)
                W, qes = self._batch_epoch(
                    X, sample_weight, W, steps[k % _TABLE_EPOCHS], batch_size, x_sq,
                    float32_search, factors if k == 0 else None,
                )  # fmt: skip
            else:
                W, qes = self._online_epochs(X, sample_weight, W, group)
            # In the data's own scale (the epochs see it divided by _scale).
            errors.extend(np.asarray(qes, dtype=np.float64) * self._scale)
            if self.verbose:
                print(
                    f"Epoch {group[-1] + 1}/{self.max_iter}: "
                    f"{time.perf_counter() - start:.2f} s, quantization error {errors[-1]:.6g}"
                )
        return W, np.asarray(errors, dtype=np.float64)

    def _batch_steps(self, epochs, dtype):
        """Each epoch's ``(sigma, learning_rate, tables)``, the tables from one call.

        The tables are :func:`~sklearn_som._batch_step.step_tables`' for the
        prototypes' ``dtype``.
        """
        schedule = [self._schedule(epoch_progress(e, self.max_iter)) for e in epochs]
        tables = _batch_step.step_tables(
            self._grid, self.neighborhood, [sigma for sigma, _ in schedule], dtype
        )
        return [(*step, table) for step, table in zip(schedule, tables, strict=True)]

    def _batch_epoch(
        self, X, sample_weight, W, step, batch_size, x_sq, float32_search, factors=None
    ):
        """One epoch of the batch map, chunk by chunk; returns new prototypes and ``[QE]``.

        ``step`` is the epoch's ``(sigma, learning_rate, tables)``, the tables
        from :func:`~sklearn_som._batch_step.step_tables`.
        """
        sigma, rate, tables = step
        _, dist, S, n = _train.batch_statistics(
            X, sample_weight, W, batch_size, x_sq, float32_search, factors
        )
        W = _batch_step.batch_update(
            W, S, n, self._grid, self.neighborhood, sigma, rate, tables=tables
        )
        return W, [_weighted_mean(dist, sample_weight)]

    def _online_epochs(self, X, sample_weight, W, epochs):
        """Consecutive epochs of the online rule in one pass; returns new prototypes and QEs.

        Each epoch visits the rows in a fresh random order; the epochs' steps
        run back to back, as one sequence, through the compiled kernel (or
        the reference loop for sparse data or without numba).
        """
        n_samples = X.shape[0]
        # Each epoch's order is ``rng.permutation(n_samples)`` (which shuffles
        # an ``arange``), shuffled in place in one array of all the epochs.
        rng = self._random_state()
        order = np.tile(np.arange(n_samples), len(epochs))
        for start in range(0, order.size, n_samples):
            rng.shuffle(order[start : start + n_samples])
        sigmas, rates = self._schedule(sample_progress(epochs, n_samples, self.max_iter))
        W = W.copy()
        kernel = None if sparse.issparse(X) else compiled_online_epoch(self.neighborhood)
        if kernel is None:
            d2_grid = self._grid.squared_distances()
            neighborhood = NEIGHBORHOODS[self.neighborhood]
            dist = _train.online_epoch(
                X, sample_weight, W, order, d2_grid, neighborhood, sigmas, rates
            )
        else:
            dist = np.empty(order.size, dtype=np.float64)
            negligible = _train.negligible_step(W.dtype)
            kernel(X, sample_weight, W, order, self._grid, sigmas, rates, negligible, dist)
        # Each epoch's QE: the mean of its rows' distances, weighted. The sums
        # are running sums (cumsum), whose order of additions does not depend
        # on how many epochs share a call: ``sum(axis=1)`` of a 7-epoch block
        # and of a 1-epoch one differed in the last bit on an AVX-512 machine.
        dist = dist.reshape(len(epochs), n_samples)
        if np.all(sample_weight == 1):
            # What the sums below give, without gathering the weights: a
            # weight of 1 leaves each term as it is, and their running sum is
            # n_samples (rgb 3000 x 3 on 10x10, whole online fits 1.08x).
            return W, np.cumsum(dist, axis=1)[:, -1] / n_samples
        weights = sample_weight[order].reshape(dist.shape)
        qes = np.cumsum(dist * weights, axis=1)[:, -1] / np.cumsum(weights, axis=1)[:, -1]
        return W, qes

    def _set_fitted_state(self, W, X, sample_weight, batch_size, x_sq, keep_distances=False):
        """Prototypes and training-set measures from ``W`` and ``X`` (both in the map's frame).

        The final pass searches the prototypes that ``predict`` will, made
        back from ``cluster_centers_`` (the same as ``W`` unless the frame
        has an origin), so that ``labels_`` is ``predict`` of the training
        rows to the bit. With ``keep_distances`` (``fit_transform``) the
        BMUs are read from the distances that ``transform`` would return,
        made once here for both (the same BMUs as the search's, to the bit),
        and those are returned; otherwise ``None``.
        """
        origin = self._origin_for(X)
        self.cluster_centers_ = W * W.dtype.type(self._scale) if self._scale != 1 else W
        if origin is not None:
            self.cluster_centers_ = self.cluster_centers_ + origin
            W = self._prototypes_for(X)
        D = None
        if not keep_distances and _final_pass.applies(X, batch_size, W.shape[0]):
            bmu, qe, te = _final_pass.fitted_labels_and_errors(
                X, W, sample_weight, x_sq, self._grid
            )
        else:
            if keep_distances:
                D = self._chunked_distances(X, W, batch_size, x_sq)
                bmu, dist, bmu2 = best_two_of(D)
            else:
                bmu, dist, bmu2 = best_matching_units(X, W, batch_size, second=True, x_sq=x_sq)
            qe, te = _final_pass.errors(dist, bmu, bmu2, sample_weight, self._grid)
        self.labels_ = bmu
        self.unit_coordinates_ = np.array(self._grid.coordinates())
        self.quantization_error_ = qe * self._scale
        self.topographic_error_ = te
        if D is not None and self._scale != 1:
            D *= D.dtype.type(self._scale)
        return D

    # ------------------------------------------------------------------
    # Using the map

    def _origin_for(self, X):
        """The origin of the map's frame, in the dtype of ``X``; ``None`` if none or ``X`` sparse.

        Sparse rows are searched from the data's own origin (subtracting a
        point would make them dense), as a map fitted on sparse data always is.
        """
        origin = self.__dict__.get("_origin")  # maps pickled before it have none
        if origin is None or sparse.issparse(X):
            return None
        return origin.astype(X.dtype, copy=False)

    def _in_frame(self, A, origin):
        """``A`` minus ``origin`` (if not ``None``), divided by the scale (almost always 1)."""
        if origin is not None:
            A = A - origin
            if self._scale != 1:
                A /= A.dtype.type(self._scale)
            return A
        return A if self._scale == 1 else A / A.dtype.type(self._scale)

    def _to_frame(self, X):
        """Validated ``X`` in the map's frame: ``(X - origin) / scale`` (see :meth:`_start`)."""
        return self._in_frame(X, self._origin_for(X))

    def _prototypes_for(self, X):
        """Prototypes in the dtype of validated ``X``, in the map's frame for ``X``."""
        W = self.cluster_centers_.astype(X.dtype, copy=False)
        return self._in_frame(W, self._origin_for(X))

    def _best_matching_units(self, X, second=False):
        """BMUs of validated ``X`` and their distances (the exact search)."""
        result = best_matching_units(
            self._to_frame(X),
            self._prototypes_for(X),
            self._batch_size_for(X),
            second=second,
        )
        if self._scale != 1:
            result = (result[0], result[1] * X.dtype.type(self._scale), *result[2:])
        return result

    def _distances(self, X):
        """Distances of validated ``X`` to every unit."""
        out = self._chunked_distances(
            self._to_frame(X), self._prototypes_for(X), self._batch_size_for(X)
        )
        if self._scale != 1:
            out *= X.dtype.type(self._scale)
        return out

    def _chunked_distances(self, X, W, batch_size, x_sq=None):
        """Distances of ``X`` to ``W`` (both rescaled), each chunk written in place.

        ``x_sq``, if given, holds the rows' squared norms.
        """
        w_sq = row_norms(W, squared=True)
        WT = np.ascontiguousarray(W.T)
        out = np.empty((X.shape[0], W.shape[0]), dtype=X.dtype)
        chunks = chunk_slices(X.shape[0], batch_size)

        def work(chunk):
            chunk_sq = None if x_sq is None else x_sq[chunk]
            distances(X[chunk], W, w_sq, out=out[chunk], WT=WT, x_sq=chunk_sq)

        product_size = chunk_product_size(chunks, *W.shape, product_block_rows(X, W.shape[0]))
        with blas_limit(len(chunks), product_size):
            for _ in map_chunks(work, chunks):  # in place: nothing to collect
                pass
        return out

    def predict(self, X):
        """Cell of each row: the flat index of its best matching unit.

        The cell of unit (row ``r``, column ``c``) is ``r * n_columns + c``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            New data.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the best matching unit of each row; equal to
            ``transform(X).argmin(axis=1)``.
        """
        check_is_fitted(self)
        X = self._check_test_data(X)
        return self._best_matching_units(X)[0]

    def transform(self, X):
        """Euclidean distance of each row to every prototype.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            New data.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_rows * n_columns)
            Distances, in the dtype of ``X`` (float32 stays float32).
        """
        check_is_fitted(self)
        return self._distances(self._check_test_data(X))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None, sample_weight=None):
        """Train the map and return the distances of ``X`` to every prototype.

        The same as ``fit(X).transform(X)``, to the bit, with one pass over
        ``X`` fewer: the fit's final pass makes the distances once and reads
        ``labels_`` and the errors from them.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : Ignored
            Not used, present for API consistency.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_rows * n_columns)
            Distances of the training rows to every prototype.
        """
        return self._fit(X, sample_weight, keep_distances=True)

    def score(self, X, y=None, sample_weight=None):
        """Minus the mean quantization error of ``X`` (higher is better).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        y : Ignored
            Not used, present for API consistency.

        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the mean.

        Returns
        -------
        score : float
            ``-mean(distance of each row to its BMU)``.
        """
        check_is_fitted(self)
        X = self._check_test_data(X)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        _, dist = self._best_matching_units(X)
        return -_weighted_mean(dist, sample_weight)

    def __getstate__(self):
        state = super().__getstate__()
        state["_sklearn_som_version"] = _package_version()
        return state

    def __setstate__(self, state):
        # scikit-learn checks its own version for its own estimators only;
        # a map pickled by another version of this package warns the same way.
        saved = state.pop("_sklearn_som_version", "pre-0.1")
        if saved != _package_version():
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=f"{type(self).__name__} (sklearn_som)",
                    current_sklearn_version=_package_version(),
                    original_sklearn_version=saved,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)

    @classmethod
    def _get_param_names(cls):
        # sklearn reads the names from ``inspect.signature(__init__)`` on every
        # ``get_params``, which ``fit`` calls to validate the parameters: 30 us
        # of a 0.8 ms fit on iris. They are fixed per class, so read them once.
        names = cls.__dict__.get("_param_names")
        if names is None:
            names = tuple(super()._get_param_names())
            cls._param_names = names
        return list(names)

    @property
    def _n_features_out(self):
        return self.cluster_centers_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
