"""Pictures of a fitted map, in scikit-learn's ``Display`` style.

Each display is built with ``XDisplay.from_estimator(som, ...)``, which computes
what it shows and calls ``plot``; ``plot(ax=...)`` draws it (again) on given
axes. After plotting, ``figure_`` and ``ax_`` hold the matplotlib figure and
axes, and the plotted data stay on the display. Units are drawn where
:attr:`SelfOrganizingMap.unit_coordinates_` puts them: squares on a
rectangular map, hexagons on a hexagonal one, row 0 at the top.

matplotlib is imported only when something is drawn; install it with
``pip install "sklearn-som-estimator[plot]"``.

=============================  ==============================================
``UMatrixDisplay``             mean distance of each prototype to its
                               neighbours (light: cluster, dark: border)
``HitMapDisplay``              number of rows mapped to each unit
``ComponentPlanesDisplay``     one panel per feature: the prototypes' values
``LabelMapDisplay``            the rows' classes at their units, jittered
``PrototypeColorsDisplay``     three-feature prototypes as RGB colours
``TrainingCurveDisplay``       quantization error per epoch
=============================  ==============================================
"""

import numpy as np

from .metrics import _assign, _unwrap, hit_map, u_matrix

__all__ = [
    "UMatrixDisplay",
    "HitMapDisplay",
    "ComponentPlanesDisplay",
    "LabelMapDisplay",
    "PrototypeColorsDisplay",
    "TrainingCurveDisplay",
]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "sklearn_som.plotting needs matplotlib: pip install matplotlib"
        ) from error
    return plt


def _figure_and_axes(ax):
    if ax is None:
        _, ax = _pyplot().subplots()
    return ax.figure, ax


def _unit_polygons(grid):
    """Vertices of each unit's cell: squares, or hexagons that tile the plane."""
    centres = np.asarray(grid.coordinates())
    if grid.topology == "hexagonal":
        # Pointy-top hexagons of width 1: neighbours' cells share an edge.
        angles = np.deg2rad(30 + 60 * np.arange(6))
        shape = np.column_stack([np.cos(angles), np.sin(angles)]) / np.sqrt(3)
    else:
        shape = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    return centres[:, None, :] + shape[None, :, :]


def _draw_units(ax, grid, values=None, colors=None, cmap=None, **kwargs):
    """Draw one cell per unit, coloured by ``values`` (with ``cmap``) or ``colors``."""
    from matplotlib.collections import PolyCollection

    collection = PolyCollection(_unit_polygons(grid), edgecolors="face", **kwargs)
    if values is not None:
        collection.set_array(np.asarray(values, dtype=float).ravel())
        collection.set_cmap(cmap)
    else:
        collection.set_facecolor(colors)
    ax.add_collection(collection)
    vertices = _unit_polygons(grid).reshape(-1, 2)
    ax.set_xlim(vertices[:, 0].min(), vertices[:, 0].max())
    ax.set_ylim(vertices[:, 1].max(), vertices[:, 1].min())  # row 0 at the top
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    return collection


class _UnitValuesDisplay:
    """A map coloured by one value per unit, with a labelled colour bar."""

    _label = ""
    _title = ""

    def __init__(self, values, grid):
        self.values = np.asarray(values)
        self.grid = grid

    def plot(self, ax=None, *, cmap="viridis", colorbar=True, title=None):
        """Draw the map.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` makes a new figure.
        cmap : str or Colormap, default="viridis"
        colorbar : bool, default=True
            Add a colour bar labelled with what the colours mean.
        title : str, default=None
            Axes title; ``None`` uses the display's own.

        Returns
        -------
        self
        """
        self.figure_, self.ax_ = _figure_and_axes(ax)
        self.collection_ = _draw_units(self.ax_, self.grid, values=self.values, cmap=cmap)
        self.colorbar_ = None
        if colorbar:
            self.colorbar_ = self.figure_.colorbar(self.collection_, ax=self.ax_)
            self.colorbar_.set_label(self._label)
        self.ax_.set_title(self._title if title is None else title)
        return self


class UMatrixDisplay(_UnitValuesDisplay):
    """U-matrix: the mean distance of each unit's prototype to its neighbours'.

    Low values (similar neighbours) mark clusters; ridges of high values mark
    the borders between them.

    Parameters
    ----------
    u_matrix : ndarray of shape (n_rows, n_columns)
    grid : Grid
        The fitted map's geometry (``som._grid``).

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    collection_ : matplotlib PolyCollection
        The units' cells.
    colorbar_ : matplotlib Colorbar or None

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_som import SelfOrganizingMap
    >>> from sklearn_som.plotting import UMatrixDisplay
    >>> X, _ = load_iris(return_X_y=True)
    >>> som = SelfOrganizingMap(8, 8, topology="hexagonal", random_state=0).fit(X)
    >>> display = UMatrixDisplay.from_estimator(som)
    >>> display.u_matrix.shape
    (8, 8)
    """

    _label = "mean distance to neighbours"
    _title = "U-matrix"

    def __init__(self, u_matrix, grid):
        super().__init__(u_matrix, grid)
        self.u_matrix = self.values

    @classmethod
    def from_estimator(cls, som, X=None, *, ax=None, cmap="bone_r", colorbar=True, title=None):
        """Compute the U-matrix of a fitted map and plot it.

        Parameters
        ----------
        som : fitted SelfOrganizingMap or Pipeline ending in one
        X : ignored
            Accepted for symmetry with the other displays.
        ax, cmap, colorbar, title : see :meth:`plot`

        Returns
        -------
        display : UMatrixDisplay
        """
        som, _ = _unwrap(som)
        return cls(u_matrix(som), som._grid).plot(ax=ax, cmap=cmap, colorbar=colorbar, title=title)


class HitMapDisplay(_UnitValuesDisplay):
    """Hit map: how many rows of ``X`` each unit wins.

    Parameters
    ----------
    hits : ndarray of shape (n_rows, n_columns)
    grid : Grid

    Attributes
    ----------
    figure_, ax_, collection_, colorbar_ : as :class:`UMatrixDisplay`
    """

    _label = "rows per unit"
    _title = "hit map"

    def __init__(self, hits, grid):
        super().__init__(hits, grid)
        self.hits = self.values

    @classmethod
    def from_estimator(cls, som, X, *, ax=None, cmap="Blues", colorbar=True, title=None):
        """Count the rows of ``X`` at each unit and plot the counts.

        Parameters
        ----------
        som : fitted SelfOrganizingMap or Pipeline ending in one
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        ax, cmap, colorbar, title : see :meth:`UMatrixDisplay.plot`

        Returns
        -------
        display : HitMapDisplay
        """
        hits = hit_map(som, X)
        som, _ = _unwrap(som)
        return cls(hits, som._grid).plot(ax=ax, cmap=cmap, colorbar=colorbar, title=title)


class ComponentPlanesDisplay:
    """Component planes: one map per feature, coloured by the prototypes' values.

    Parameters
    ----------
    prototypes : ndarray of shape (n_units, n_features)
    grid : Grid
    feature_names : list of str

    Attributes
    ----------
    figure_ : matplotlib Figure
    axes_ : ndarray of matplotlib Axes, one per feature
    ax_ : matplotlib Axes
        The first panel.
    collections_ : list of PolyCollection
    """

    def __init__(self, prototypes, grid, feature_names):
        self.prototypes = np.asarray(prototypes)
        self.grid = grid
        self.feature_names = list(feature_names)

    @classmethod
    def from_estimator(cls, som, X=None, *, feature_names=None, n_cols=None, cmap="coolwarm"):
        """Plot one panel per feature, named by ``feature_names_in_`` when present.

        Parameters
        ----------
        som : fitted SelfOrganizingMap or Pipeline ending in one
        X : ignored
        feature_names : list of str, default=None
            Panel titles; ``None`` uses ``som.feature_names_in_`` or
            ``feature 0``, ``feature 1``, ...
        n_cols : int, default=None
            Panels per row of the figure; ``None`` makes it about square.
        cmap : str or Colormap, default="coolwarm"

        Returns
        -------
        display : ComponentPlanesDisplay
        """
        som, _ = _unwrap(som)
        n_features = som.cluster_centers_.shape[1]
        if feature_names is None:
            feature_names = getattr(
                som, "feature_names_in_", [f"feature {k}" for k in range(n_features)]
            )
        if len(feature_names) != n_features:
            raise ValueError(
                f"feature_names has {len(feature_names)} names for {n_features} features."
            )
        return cls(som.cluster_centers_, som._grid, feature_names).plot(n_cols=n_cols, cmap=cmap)

    def plot(self, axes=None, *, n_cols=None, cmap="coolwarm"):
        """Draw the planes on ``axes`` (one per feature) or on a new figure."""
        n_features = self.prototypes.shape[1]
        if axes is None:
            n_cols = n_cols or int(np.ceil(np.sqrt(n_features)))
            n_rows = int(np.ceil(n_features / n_cols))
            figure, axes = _pyplot().subplots(
                n_rows, n_cols, figsize=(3 * n_cols, 2.6 * n_rows), squeeze=False
            )
            for extra in axes.ravel()[n_features:]:
                extra.set_visible(False)
        axes = np.asarray(axes).ravel()[:n_features]
        self.axes_, self.ax_, self.figure_ = axes, axes[0], axes[0].figure
        self.collections_ = []
        for k, ax in enumerate(axes):
            collection = _draw_units(ax, self.grid, values=self.prototypes[:, k], cmap=cmap)
            colorbar = self.figure_.colorbar(collection, ax=ax)
            colorbar.set_label("prototype value")
            ax.set_title(str(self.feature_names[k]))
            self.collections_.append(collection)
        return self


class LabelMapDisplay:
    """The rows' classes drawn at their units, with jitter, over the U-matrix.

    The classic picture of a labelled map (iris species, digit classes,
    fraud): each row is a marker at its best matching unit, moved by a small
    random offset so that rows sharing a unit stay visible.

    Parameters
    ----------
    positions : ndarray of shape (n_samples, 2)
        Jittered plane positions of the rows.
    labels : ndarray of shape (n_samples,)
    classes : ndarray
    u_matrix : ndarray of shape (n_rows, n_columns)
    grid : Grid

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    scatters_ : dict
        The scatter of each class.
    """

    def __init__(self, positions, labels, classes, u_matrix, grid):
        self.positions = positions
        self.labels = labels
        self.classes = classes
        self.u_matrix = u_matrix
        self.grid = grid

    @classmethod
    def from_estimator(
        cls, som, X, y, *, jitter=0.3, random_state=0, ax=None, text=False, class_names=None
    ):
        """Map the rows of ``X`` to their units and plot their classes ``y``.

        Parameters
        ----------
        som : fitted SelfOrganizingMap or Pipeline ending in one
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        jitter : float, default=0.3
            Largest offset of a marker from its unit's centre, in grid units.
        random_state : int, RandomState instance or None, default=0
            For the jitter.
        ax : matplotlib Axes, default=None
        text : bool, default=False
            Draw each row's label as text (as in the classic digits picture)
            instead of a marker.
        class_names : list of str, default=None
            Legend names of the classes, in the order of ``np.unique(y)``.

        Returns
        -------
        display : LabelMapDisplay
        """
        from sklearn.utils import check_random_state

        som, X_som = _unwrap(som, X)
        y = np.asarray(y)
        if y.shape[0] != X_som.shape[0]:
            raise ValueError(f"X has {X_som.shape[0]} rows but y has {y.shape[0]} labels.")
        rng = check_random_state(random_state)
        cells, _ = _assign(som, X_som)
        positions = np.asarray(som._grid.coordinates())[cells]
        positions = positions + rng.uniform(-jitter, jitter, size=positions.shape)
        classes = np.unique(y)
        display = cls(positions, y, classes, u_matrix(som), som._grid)
        return display.plot(ax=ax, text=text, class_names=class_names)

    def plot(self, ax=None, *, text=False, class_names=None):
        """Draw the U-matrix in grey and the rows' classes over it."""
        plt = _pyplot()
        self.figure_, self.ax_ = _figure_and_axes(ax)
        _draw_units(self.ax_, self.grid, values=self.u_matrix, cmap="Greys", alpha=0.5)
        colors = plt.get_cmap("tab10" if len(self.classes) <= 10 else "tab20")
        names = class_names if class_names is not None else [str(c) for c in self.classes]
        self.scatters_ = {}
        for k, label in enumerate(self.classes):
            at = self.positions[self.labels == label]
            color = colors(k % colors.N)
            if text:
                for x, y in at:
                    self.ax_.text(
                        x, y, names[k], color=color, fontsize=7, ha="center", va="center"
                    )
                self.scatters_[label] = self.ax_.scatter([], [], color=color, label=names[k])
            else:
                self.scatters_[label] = self.ax_.scatter(
                    at[:, 0], at[:, 1], s=12, color=color, label=names[k], alpha=0.8
                )
        self.ax_.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        self.ax_.set_title("classes at their best matching units")
        return self


class PrototypeColorsDisplay:
    """A three-feature map drawn with each unit in its prototype's colour.

    Features are used as red, green and blue after scaling each to [0, 1]
    over the prototypes (values already in [0, 1] are shown as they are).

    Parameters
    ----------
    colors : ndarray of shape (n_units, 3), values in [0, 1]
    grid : Grid

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    collection_ : matplotlib PolyCollection
    """

    def __init__(self, colors, grid):
        self.colors = colors
        self.grid = grid

    @classmethod
    def from_estimator(cls, som, X=None, *, ax=None, title="prototypes as colours"):
        """Plot the prototypes of a fitted three-feature map as colours."""
        som, _ = _unwrap(som)
        W = np.asarray(som.cluster_centers_, dtype=np.float64)
        if W.shape[1] != 3:
            raise ValueError(
                f"PrototypeColorsDisplay needs a map of 3 features; this one has {W.shape[1]}."
            )
        if W.min() < 0 or W.max() > 1:
            low, high = W.min(axis=0), W.max(axis=0)
            W = (W - low) / np.where(high > low, high - low, 1.0)
        return cls(W, som._grid).plot(ax=ax, title=title)

    def plot(self, ax=None, *, title="prototypes as colours"):
        """Draw the map."""
        self.figure_, self.ax_ = _figure_and_axes(ax)
        self.collection_ = _draw_units(self.ax_, self.grid, colors=np.clip(self.colors, 0, 1))
        self.ax_.set_title(title)
        return self


class TrainingCurveDisplay:
    """Quantization error per epoch, as recorded while fitting.

    Parameters
    ----------
    errors : ndarray of shape (n_epochs,)

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    line_ : matplotlib Line2D
    """

    def __init__(self, errors):
        self.errors = np.asarray(errors)

    @classmethod
    def from_estimator(cls, som, X=None, *, ax=None):
        """Plot ``som.quantization_errors_``."""
        som, _ = _unwrap(som)
        return cls(som.quantization_errors_).plot(ax=ax)

    def plot(self, ax=None):
        """Draw the curve."""
        self.figure_, self.ax_ = _figure_and_axes(ax)
        epochs = np.arange(1, self.errors.size + 1)
        (self.line_,) = self.ax_.plot(epochs, self.errors, marker="o")
        self.ax_.set_xlabel("epoch")
        self.ax_.set_ylabel("quantization error")
        self.ax_.set_title("training curve")
        return self
