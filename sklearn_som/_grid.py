"""Geometry of the map: unit coordinates, grid distances and adjacency.

Every part of the package that needs to know where units are (training,
metrics, the U-matrix, plots) asks this module, so rectangular and hexagonal
grids, with or without wrap-around, are defined once.

Units are numbered row by row: unit ``k`` sits at row ``k // n_columns`` and
column ``k % n_columns``. On a hexagonal grid odd rows are shifted right by one
half and rows are ``sqrt(3) / 2`` apart, so each unit has six neighbours at
distance exactly 1.

Distances are computed in exact arithmetic: horizontal offsets are counted in
half units (``x2 = 2 * column + row % 2``) and the squared distance is
``(dx2**2 + k * dy**2) / 4`` with ``k = 3`` (hexagonal) or ``4``
(rectangular), a ratio of small integers, so neighbours are at squared
distance ``1.0`` with no rounding.
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import sparse


@dataclass(frozen=True)
class Grid:
    """Shape and topology of a map; hashable, so derived arrays are cached."""

    n_rows: int
    n_columns: int
    topology: str = "rectangular"
    periodic: bool = False

    @property
    def n_units(self):
        return self.n_rows * self.n_columns

    @property
    def shape(self):
        return (self.n_rows, self.n_columns)

    def coordinates(self):
        """Positions of the units in the plane, shape ``(n_units, 2)``, as (x, y)."""
        return _coordinates(self)

    def squared_distances(self):
        """Squared grid distances between all pairs of units, ``(n_units, n_units)``."""
        return _squared_distances(self)

    def distance_levels(self):
        """The distinct squared grid distances and, for each pair of units, which.

        Returns ``(levels, index)`` with ``levels[index] == squared_distances()``.
        A neighbourhood function then needs one evaluation per level (180 on a
        20x20 grid) instead of one per pair of units (160,000).
        """
        return _distance_levels(self)

    def axis_squared_distances(self):
        """Squared distances between rows and between columns of a rectangular grid.

        Returns ``(rows, columns)``, of shapes ``(n_rows, n_rows)`` and
        ``(n_columns, n_columns)``, with wrap-around when periodic; the squared
        distance of two units is their sum (what makes the Gaussian separable).
        """
        if self.topology != "rectangular":
            raise ValueError("only a rectangular grid's distances split by axis")
        return _axis_squared_distances(self.n_rows, self.periodic), _axis_squared_distances(
            self.n_columns, self.periodic
        )

    def axis_offsets(self):
        """How many rows and how many columns apart the units of a rectangular grid are.

        Returns ``(rows, columns)``, integer arrays of shapes ``(n_rows, n_rows)``
        and ``(n_columns, n_columns)``, the shorter way round when periodic:
        units ``j`` and ``k`` are ``rows[j // n_columns, k // n_columns]`` rows
        and ``columns[j % n_columns, k % n_columns]`` columns apart.
        """
        if self.topology != "rectangular":
            raise ValueError("only a rectangular grid's distances split by axis")
        return _axis_offsets(self.n_rows, self.periodic), _axis_offsets(
            self.n_columns, self.periodic
        )

    def hexagonal_offsets(self):
        """How many rows and how many half columns apart the units of a hexagonal grid are.

        Returns ``(rows, half_columns)``, integer arrays of shapes
        ``(n_rows, n_rows)`` and ``(2, 2, n_columns, n_columns)``: units ``j``
        and ``k`` in rows ``r, s`` and columns ``c, d`` are ``rows[r, s]``
        rows and ``half_columns[r % 2, s % 2, c, d]`` half units apart, the
        shorter way round when periodic, and their squared distance is
        ``(half_columns**2 + 3 * rows**2) / 4`` (so the Gaussian splits into
        a row factor and a column factor, as on a rectangular grid). A
        periodic grid with an odd number of rows is closed with a shift of
        one half, which couples the two axes: it raises ``ValueError``.
        """
        if self.topology != "hexagonal":
            raise ValueError("only a hexagonal grid's distances split into rows and half columns")
        if self.periodic and self.n_rows % 2:
            raise ValueError(
                "a periodic hexagonal grid with an odd number of rows is closed with a shift "
                "of one half, so its distances do not split into rows and columns"
            )
        return _axis_offsets(self.n_rows, self.periodic), _half_column_offsets(
            self.n_columns, self.periodic
        )

    def adjacency(self):
        """Sparse boolean matrix of grid neighbours (units at distance exactly 1)."""
        return _adjacency(self)

    def neighbor_lists(self):
        """Each unit's grid neighbours: ``(n_units, most)`` integers, rows padded with -1.

        ``most`` is the largest number of neighbours of a unit (at least 1).
        """
        return _neighbor_lists(self)

    def are_neighbors(self, units_a, units_b):
        """Whether each pair ``(units_a[i], units_b[i])`` are grid neighbours.

        A unit index of ``-1`` (no second-best unit, on a 1x1 map) counts as
        a neighbour, so such a map has no topographic error.
        """
        units_a, units_b = np.asarray(units_a), np.asarray(units_b)
        missing = (units_a < 0) | (units_b < 0)
        d2 = pairwise_squared_distances(self, units_a, units_b)
        return missing | (d2 == 1.0)


def _half_unit_positions(grid, units):
    """Integer coordinates (x2, row) of ``units``, x2 counted in half units."""
    rows, columns = np.divmod(np.asarray(units, dtype=np.int64), grid.n_columns)
    x2 = 2 * columns
    if grid.topology == "hexagonal":
        x2 = x2 + rows % 2
    return x2, rows


def pairwise_squared_distances(grid, units_a, units_b):
    """Exact squared grid distance between ``units_a`` and ``units_b`` (broadcast).

    With ``grid.periodic`` the grid is a torus and the shortest way round is
    taken. A hexagonal torus with an odd number of rows is closed with a shift
    of one half, which keeps it a hexagonal lattice: every unit still has six
    neighbours at distance 1.
    """
    xa, ya = _half_unit_positions(grid, units_a)
    xb, yb = _half_unit_positions(grid, units_b)
    dx2 = xb - xa
    dy = yb - ya
    k = 3 if grid.topology == "hexagonal" else 4
    if not grid.periodic:
        return (dx2 * dx2 + k * dy * dy) / 4.0
    width = 2 * grid.n_columns
    shift = grid.n_rows % 2 if grid.topology == "hexagonal" else 0
    best = None
    for m in (-1, 0, 1):
        dx_m = np.mod(dx2 + m * shift + grid.n_columns, width) - grid.n_columns
        dy_m = dy + m * grid.n_rows
        d2 = dx_m * dx_m + k * dy_m * dy_m
        best = d2 if best is None else np.minimum(best, d2)
    return best / 4.0


@lru_cache(maxsize=16)
def _coordinates(grid):
    rows, columns = np.divmod(np.arange(grid.n_units), grid.n_columns)
    x = columns.astype(np.float64)
    y = rows.astype(np.float64)
    if grid.topology == "hexagonal":
        x += 0.5 * (rows % 2)
        y *= np.sqrt(3.0) / 2.0
    coordinates = np.column_stack([x, y])
    coordinates.flags.writeable = False
    return coordinates


@lru_cache(maxsize=8)
def _squared_distances(grid):
    units = np.arange(grid.n_units)
    d2 = pairwise_squared_distances(grid, units[:, None], units[None, :])
    d2.flags.writeable = False
    return d2


@lru_cache(maxsize=16)
def _axis_offsets(length, periodic):
    offsets = np.abs(np.arange(length, dtype=np.int64)[:, None] - np.arange(length)[None, :])
    if periodic:
        offsets = np.minimum(offsets, length - offsets)
    offsets.flags.writeable = False
    return offsets


@lru_cache(maxsize=16)
def _half_column_offsets(n_columns, periodic):
    # x2[p, c]: the half-unit position of column c in a row of parity p.
    x2 = 2 * np.arange(n_columns, dtype=np.int64)[None, :] + np.arange(2)[:, None]
    dx2 = x2[None, :, None, :] - x2[:, None, :, None]  # [p, q, c, d] = x2[q, d] - x2[p, c]
    if periodic:
        dx2 = np.mod(dx2 + n_columns, 2 * n_columns) - n_columns
    offsets = np.abs(dx2)
    offsets.flags.writeable = False
    return offsets


@lru_cache(maxsize=16)
def _axis_squared_distances(length, periodic):
    offsets = _axis_offsets(length, periodic)
    d2 = (offsets * offsets).astype(np.float64)
    d2.flags.writeable = False
    return d2


@lru_cache(maxsize=8)
def _distance_levels(grid):
    levels, index = np.unique(grid.squared_distances(), return_inverse=True)
    index = index.reshape(grid.n_units, grid.n_units).astype(np.int32)
    levels.flags.writeable = False
    index.flags.writeable = False
    return levels, index


@lru_cache(maxsize=16)
def _neighbor_lists(grid):
    adjacency = grid.adjacency()
    counts = np.diff(adjacency.indptr)
    lists = np.full((grid.n_units, max(int(counts.max(initial=0)), 1)), -1, dtype=np.int64)
    rows = np.repeat(np.arange(grid.n_units), counts)
    lists[rows, np.arange(adjacency.indices.size) - adjacency.indptr[rows]] = adjacency.indices
    lists.flags.writeable = False
    return lists


@lru_cache(maxsize=16)
def _adjacency(grid):
    # Candidates are the units one row or one column away (with wrap-around
    # when periodic); the exact distance then decides which are neighbours.
    units = np.arange(grid.n_units)
    rows, columns = np.divmod(units, grid.n_columns)
    sources, targets = [], []
    for d_row in (-1, 0, 1):
        for d_col in (-1, 0, 1):
            if d_row == 0 and d_col == 0:
                continue
            r, c = rows + d_row, columns + d_col
            if grid.periodic:
                r, c = r % grid.n_rows, c % grid.n_columns
                keep = np.ones(grid.n_units, dtype=bool)
            else:
                keep = (r >= 0) & (r < grid.n_rows) & (c >= 0) & (c < grid.n_columns)
            candidates = r[keep] * grid.n_columns + c[keep]
            is_neighbour = pairwise_squared_distances(grid, units[keep], candidates) == 1.0
            is_neighbour &= candidates != units[keep]
            sources.append(units[keep][is_neighbour])
            targets.append(candidates[is_neighbour])
    sources, targets = np.concatenate(sources), np.concatenate(targets)
    adjacency = sparse.csr_array(
        (np.ones(sources.size, dtype=bool), (sources, targets)),
        shape=(grid.n_units, grid.n_units),
    )
    adjacency.sum_duplicates()  # small periodic grids reach a unit twice
    adjacency.data[:] = True
    return adjacency
