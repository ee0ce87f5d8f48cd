"""Geometry: coordinates, exact grid distances, neighbours, wrap-around."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_som._grid import Grid


def _neighbour_counts(grid):
    return np.asarray(grid.adjacency().sum(axis=1)).ravel()


def test_rectangular_coordinates_are_rows_and_columns():
    coordinates = Grid(2, 3).coordinates()
    assert_array_equal(coordinates, [[0, 0], [1, 0], [2, 0], [0, 1], [1, 1], [2, 1]])


def test_hexagonal_coordinates_offset_odd_rows_by_half_and_space_rows_by_sqrt3_over_2():
    coordinates = Grid(3, 2, "hexagonal").coordinates()
    h = np.sqrt(3) / 2
    assert_allclose(coordinates, [[0, 0], [1, 0], [0.5, h], [1.5, h], [0, 2 * h], [1, 2 * h]])


@pytest.mark.parametrize("periodic", [False, True])
@pytest.mark.parametrize("shape", [(4, 5), (5, 6), (7, 7)])
def test_every_hexagonal_neighbour_is_exactly_at_distance_one(shape, periodic):
    grid = Grid(*shape, "hexagonal", periodic)
    d2 = grid.squared_distances()
    adjacency = grid.adjacency().toarray()
    # Neighbours are exactly the units at squared distance 1.0, no rounding.
    assert_array_equal(adjacency, d2 == 1.0)
    if not periodic:
        # Without wrap-around, the distance is the one between plane positions.
        xy = grid.coordinates()
        euclidean = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=-1)
        assert_allclose(d2, euclidean, atol=1e-12)
        interior = [
            r * shape[1] + c for r in range(1, shape[0] - 1) for c in range(1, shape[1] - 1)
        ]
        assert np.all(_neighbour_counts(grid)[interior] == 6)
        assert _neighbour_counts(grid).max() == 6
    else:
        # On a torus, every unit has six neighbours, odd numbers of rows included.
        assert np.all(_neighbour_counts(grid) == 6)


def test_rectangular_units_have_four_neighbours_inside_and_on_a_torus():
    assert np.all(_neighbour_counts(Grid(5, 6, periodic=True)) == 4)
    counts = _neighbour_counts(Grid(5, 6)).reshape(5, 6)
    assert counts[0, 0] == 2 and counts[0, 3] == 3 and counts[2, 3] == 4


def test_wrap_around_distances_by_hand():
    grid = Grid(5, 5, periodic=True)
    d2 = grid.squared_distances()
    # (0, 0) to (0, 4): one step left round the edge; to (4, 4): one diagonal step.
    assert d2[0, 4] == 1.0
    assert d2[0, 24] == 2.0
    # (0, 0) to (2, 2): two steps each way, the long way round is three.
    assert d2[0, 12] == 8.0
    # Without wrap-around the same pairs are far apart.
    flat = Grid(5, 5).squared_distances()
    assert flat[0, 4] == 16.0 and flat[0, 24] == 32.0


def test_hexagonal_wrap_around_with_odd_rows_by_hand():
    # 3x4 hexagonal torus: row 2 is even and unshifted, so closing the torus
    # shifts by one half; unit (2, 0) then touches (0, 0) and (0, 3).
    grid = Grid(3, 4, "hexagonal", periodic=True)
    d2 = grid.squared_distances()
    unit = 2 * 4 + 0
    assert d2[unit, 0] == 1.0
    assert d2[unit, 3] == 1.0
    assert d2[unit, 1] == 3.0  # sqrt(3) away: across one neighbour


def test_distances_are_symmetric_with_zero_diagonal():
    for grid in [
        Grid(4, 7, "hexagonal", True),
        Grid(3, 5, "hexagonal"),
        Grid(6, 2, periodic=True),
    ]:
        d2 = grid.squared_distances()
        assert_array_equal(d2, d2.T)
        assert_array_equal(np.diag(d2), 0)


def test_are_neighbors_agrees_with_adjacency_and_treats_missing_as_neighbour():
    grid = Grid(4, 4, "hexagonal")
    a, b = np.divmod(np.arange(256), 16)
    assert_array_equal(grid.are_neighbors(a, b), grid.adjacency().toarray().ravel())
    assert grid.are_neighbors(np.array([0]), np.array([-1]))[0]


@pytest.mark.parametrize(
    "grid",
    [
        Grid(4, 5),
        Grid(4, 4, "hexagonal"),
        Grid(4, 7, "hexagonal", True),
        Grid(5, 5, "hexagonal", True),
        Grid(2, 2, periodic=True),
        Grid(1, 6),
        Grid(1, 1),
    ],
)
def test_neighbor_lists_hold_each_units_neighbours(grid):
    lists = grid.neighbor_lists()
    adjacency = grid.adjacency().toarray()
    assert lists.shape[0] == grid.n_units
    for unit in range(grid.n_units):
        listed = lists[unit][lists[unit] >= 0]
        assert_array_equal(np.sort(listed), np.flatnonzero(adjacency[unit]))
        assert np.all(lists[unit][listed.size :] == -1)  # padding only after them
    assert not lists.flags.writeable


def test_derived_arrays_are_read_only():
    grid = Grid(3, 3)
    with pytest.raises(ValueError):
        grid.squared_distances()[0, 0] = 1
    with pytest.raises(ValueError):
        grid.coordinates()[0, 0] = 1


@pytest.mark.parametrize("periodic", [False, True])
def test_axis_distances_add_up_to_the_grid_distances(periodic):
    grid = Grid(4, 6, periodic=periodic)
    rows, columns = grid.axis_squared_distances()
    r, c = np.divmod(np.arange(24), 6)
    summed = rows[r][:, r] + columns[c][:, c]
    assert_array_equal(summed, grid.squared_distances())
    row_offsets, column_offsets = grid.axis_offsets()
    assert row_offsets.dtype.kind == "i" and row_offsets.max() == (2 if periodic else 3)
    assert_array_equal(row_offsets**2, rows)
    assert_array_equal(column_offsets**2, columns)
    with pytest.raises(ValueError, match="rectangular"):
        Grid(3, 3, "hexagonal").axis_squared_distances()
    with pytest.raises(ValueError, match="rectangular"):
        Grid(3, 3, "hexagonal").axis_offsets()


@pytest.mark.parametrize(
    "grid",
    [
        Grid(5, 6, "hexagonal"),
        Grid(4, 7, "hexagonal", periodic=True),
        Grid(6, 2, "hexagonal", periodic=True),
        Grid(1, 5, "hexagonal"),
    ],
    ids=str,
)
def test_hexagonal_offsets_rebuild_the_grid_distances(grid):
    rows, half_columns = grid.hexagonal_offsets()
    assert rows.dtype.kind == "i" and half_columns.dtype.kind == "i"
    assert half_columns.shape == (2, 2, grid.n_columns, grid.n_columns)
    r, c = np.divmod(np.arange(grid.n_units), grid.n_columns)
    parity = r % 2
    half = half_columns[parity[:, None], parity[None, :], c[:, None], c[None, :]]
    assert_array_equal((half**2 + 3 * rows[r][:, r] ** 2) / 4, grid.squared_distances())
    assert not rows.flags.writeable and not half_columns.flags.writeable


def test_hexagonal_offsets_refuse_grids_that_do_not_split():
    # A periodic hexagonal grid with an odd number of rows closes with a half shift.
    with pytest.raises(ValueError, match="odd number of rows"):
        Grid(5, 4, "hexagonal", periodic=True).hexagonal_offsets()
    with pytest.raises(ValueError, match="hexagonal"):
        Grid(3, 3).hexagonal_offsets()
