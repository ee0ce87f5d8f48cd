"""The online rule's inner loop, compiled with numba when it is installed.

The same rule as :func:`sklearn_som._train.online_epoch`, which stays as the
readable reference and the fallback without numba: for each row in turn,
find its BMU with one pass over the prototypes, then move every unit towards
the row by ``a_j = lr * h(d2(j, b), sigma)`` (``1 - (1 - a_j)**s`` for a
weight ``s``), skipping steps below ``negligible`` as the reference does.
Arithmetic stays in the prototypes' dtype, and a step allocates nothing.

On a rectangular grid the Gaussian is separable: a unit ``dr`` rows and
``dc`` columns from the BMU takes ``lr * q**(dr**2) * q**(dc**2)`` with
``q = exp(-1 / (2 sigma**2))``, so a step needs ``q**(k**2)`` for each
offset ``k`` along an axis (a running product of ``q**(2k + 1)``) and one
multiplication per unit, which the compiler vectorises. Measured per step,
A/B in one process: 0.24 against 0.41 us on RGB 10x10, 1.7 against 3.1 us
on RGB 30x30, 0.27 against 0.44 us on iris 10x10, 5.7 against 6.2 us on
digits 20x20 (float64). A hexagonal grid splits the same way in rows and
half columns (:meth:`Grid.hexagonal_offsets`): ``p**(dx2**2) *
(p**3)**(dy**2)`` with ``p = exp(-1 / (8 sigma**2))``, where a row's column
factors depend on its parity and the BMU row's, so there are two sets of
them. Per sample, whole online fits A/B in one process: RGB 30x30 1.36x
(float64) and 1.45x (float32) faster than the general path, RGB 10x10 1.16x
and 1.19x, digits 20x20 1.06x and 1.10x, iris 10x10 1.09x. Rows of another
weight, periodic hexagonal grids with an odd number of rows (closed with a
half shift, which couples the axes) and the other neighbourhoods take the
general path below.

Otherwise the neighbourhood is evaluated once per distinct grid distance
(nearest first, stopping where a decreasing one becomes negligible). The Gaussian and
the Mexican hat are ``factor(d2 / sigma**2) * q**d2`` with
``q = exp(-1 / (2 sigma**2))``, and the grid's squared distances are whole
numbers, so their exponentials come from one ``exp`` and a running product
rather than one ``exp`` per distance: a 30x30 map has 382 distinct
distances, 2.5 us of ``exp`` per step against 0.4 us for the product, whose
relative rounding (one per multiplication) stays below 1e-13.

A step then costs one sweep over the prototypes, ``O(n_units * n_features)``:
the sweep that moves the units towards row ``t`` also finds the BMU of row
``t + 1`` (the search needs the prototypes as they are after step ``t``,
which is what the sweep has just written), so each prototype is read once
per step instead of twice; the BMU is the first minimum of the units'
``|w|^2 - 2 x.w``, found by :func:`sklearn_som._bmu.first_argmin` (on RGB
30x30 a step took 1.34 against 1.68 us in float64 with it, 1.00 against
1.35 us in float32). The sweep comes in two layouts:

* unit by unit over the prototypes as stored (row-major), skipping the move
  for units whose step is zero: best with many features, where each unit's
  row is a long contiguous vector;
* feature by feature over a transposed copy (one contiguous row of
  ``n_units`` values per feature), which the compiler vectorises across
  units: with few features the unit-by-unit loop is all overhead. Units
  with a zero step are moved by ``0 * (x - w)``, which leaves them exact.

Measured with the transposed sweep's one running sum per unit (see the
sweep), whole online fits, row-major time over transposed (2-core Xeon,
medians of 2 - 3 fits each, alternated in one process). float32 gains up
to 64 features on every map tried: 1.10x - 1.47x on 1,500 random rows of
32 and 64 features on 20x20, 40x40 and 60x60 maps, 1.87x on digits (64
features, 20x20), 1.37x on 20,000 x 50 blobs; level on 128 and 200, 0.96x
on 96, 0.83x on 784 (MNIST-sized rows). float64 depends on the map: 16
features 1.27x (20x20) and 1.22x (40x40) but 0.83x on 60x60, 32 features
1.21x, 1.05x and 0.66x, 64 features 0.97x, 0.89x and 0.65x, where the
row-major sweep skips the units with a zero step and the transposed one
reads and writes every unit (at 60x60, 3,600 units of 32 float64 are
0.9 MB). Hence the transposed sweep up to ``_TRANSPOSED_MAX_FEATURES``
features: 24 in float64, as before this sum (2-core AMD EPYC, two sums per
unit), and 64 in float32 (was 48). Dense rows only: sparse input goes
through the reference loop.
"""

import numpy as np

from . import _neighborhood

try:
    import numba
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None
else:
    from numba.extending import overload

    from ._bmu import first_argmin

_TRANSPOSED_MAX_FEATURES = {np.dtype(np.float64): 24, np.dtype(np.float32): 64}

# The kernels are module-level functions that take the neighbourhood as a
# code, not closures made per neighbourhood: numba keys its disk cache of a
# closure on the compiled functions it captures, whose serialised form
# differs in every process, so closures were compiled anew (about 6 s) in
# every new process and left one more cache file each time (numba issue
# #6264).
GAUSSIAN, BUBBLE, TRIANGLE, MEXICAN_HAT = range(4)
_CODES = {"gaussian": GAUSSIAN, "bubble": BUBBLE, "triangle": TRIANGLE, "mexican_hat": MEXICAN_HAT}

if numba is not None:
    _gaussian = numba.njit(inline="always")(_neighborhood.gaussian)
    _bubble = numba.njit(inline="always")(_neighborhood.bubble)
    _triangle = numba.njit(inline="always")(_neighborhood.triangle)
    _mexican_hat = numba.njit(inline="always")(_neighborhood.mexican_hat)

    @numba.njit(inline="always")
    def _h(code, d2, sigma):
        if code == GAUSSIAN:
            return _gaussian(d2, sigma)
        if code == BUBBLE:
            return _bubble(d2, sigma)
        if code == TRIANGLE:
            return _triangle(d2, sigma)
        return _mexican_hat(d2, sigma)

    @numba.njit(inline="always")
    def _gaps_between(levels, code):
        """Gaps between consecutive levels and whether the running product applies.

        The Gaussian and the Mexican hat are ``factor(d2 / sigma**2) * q**d2``
        (factor 1 and ``1 - r``); on grids whose levels are whole numbers
        ``q**d2`` is a running product.
        """
        gaps = np.zeros(levels.shape[0], dtype=np.int64)
        whole = code == GAUSSIAN or code == MEXICAN_HAT
        for level in range(levels.shape[0]):
            gap = levels[level] - (levels[level - 1] if level > 0 else 0.0)
            gaps[level] = int(gap)
            whole = whole and gap == gaps[level]
        return gaps, whole

    @numba.njit(inline="always")
    def _fill(step_size, levels, gaps, whole, powers, code, sigma, rate, s, negligible):
        """Each grid level's step for one row."""
        n_levels = levels.shape[0]
        # Levels ascend; a non-increasing neighbourhood that falls below the
        # negligible step stays below it, so the rest are skipped. No step
        # for a zero weight.
        cut = n_levels if s != 0 else 0
        if whole:
            powers[0] = 1.0
            q = np.exp(-0.5 / (sigma * sigma))
            for gap in range(1, powers.shape[0]):
                powers[gap] = powers[gap - 1] * q
        q_power = 1.0
        for level in range(cut):
            if whole:
                q_power *= powers[gaps[level]]
                factor = 1.0 - levels[level] / (sigma * sigma) if code == MEXICAN_HAT else 1.0
                a = rate * factor * q_power
            else:
                a = rate * _h(code, levels[level], sigma)
            if s != 1:
                keep = 1.0 - a
                a = 1.0 - abs(keep) ** s if keep >= 0 else a * s
            if abs(a) < negligible:
                step_size[level] = 0.0
                if code != MEXICAN_HAT:
                    cut = level
                    break
            else:
                step_size[level] = a
        for level in range(cut, n_levels):
            step_size[level] = 0.0

    # ``_unit_steps`` and ``_step_buffers`` are chosen when compiling, by the
    # type of the grid's offsets (two 2-d arrays: rectangular; a 2-d and a
    # 4-d one: hexagonal), so each topology gets its own machine code with
    # no branch between them in the step. (Two attempts with one body and a
    # branch per topology measured 3% - 13% slower rectangular fits, same
    # bits; this way 0.96x - 1.08x, while an A/A run of identical code here
    # varies by 0.95x - 1.08x.) ``inline="always"`` matters: as a call, the
    # overload took rectangular RGB 30x30 from 1.3 to 2.5 us per sample.

    def _unit_steps(a, best, s, code, sigma, rate, negligible, by_level, by_axis):
        """Every unit's step towards one row (compiled code only).

        The Gaussian takes the product of a row factor and a column factor
        for rows of weight 1 on grids that split by axis (offsets not
        empty); otherwise each unit reads its level's step from ``_fill``.
        """
        raise NotImplementedError

    def _step_buffers(W, levels, level_index, axis_offsets, code):
        """The units' steps ``a`` and ``_unit_steps``'s scratch arrays, allocated once."""
        raise NotImplementedError

    @overload(_unit_steps, inline="always")
    def _unit_steps_for(a, best, s, code, sigma, rate, negligible, by_level, by_axis):
        if len(by_axis) == 4:
            return _rectangular_unit_steps
        return _hexagonal_unit_steps

    @overload(_step_buffers, inline="always")
    def _step_buffers_for(W, levels, level_index, axis_offsets, code):
        if axis_offsets.types[1].ndim == 2:
            return _rectangular_step_buffers
        return _hexagonal_step_buffers

    @numba.njit(inline="always")
    def _level_buffers(W, levels, level_index, code):
        """The grid's levels and ``_fill``'s scratch arrays."""
        gaps, whole = _gaps_between(levels, code)
        powers = np.empty(gaps.max() + 1 if whole and gaps.shape[0] > 0 else 1)
        step_size = np.empty(levels.shape[0], dtype=W.dtype)
        return levels, level_index, gaps, whole, powers, step_size

    @numba.njit(inline="always")
    def _level_steps(a, best, s, code, sigma, rate, negligible, by_level):
        """Every unit's step read from its grid level's (``_fill``)."""
        levels, level_index, gaps, whole, powers, step_size = by_level
        _fill(step_size, levels, gaps, whole, powers, code, sigma, rate, s, negligible)
        row = level_index[best]
        for j in range(a.shape[0]):
            a[j] = step_size[row[j]]

    @numba.njit(inline="always")
    def _running_squares(power, q, scale, negligible):
        """``power[k] = q**(k*k)`` while ``scale * power[k]`` is not negligible, 0 after.

        ``q**((k+1)**2) = q**(k*k) * q**(2k+1)``, one multiplication per
        offset. Past the cut, every unit that far apart along this axis has
        a negligible step, whatever the other axis.
        """
        q_squared = q * q
        value, odd = 1.0, q
        n = power.shape[0]
        k = 0
        while k < n and scale * value >= negligible:
            power[k] = value
            value *= odd
            odd *= q_squared
            k += 1
        power[k:] = 0.0

    @numba.njit(inline="always")
    def _product_steps(a, rate, row_power, rows, column_factor, negligible):
        """``a[r, c] = rate * row_power[rows[r]] * column_factor[r % k, c]``, 0 where negligible.

        ``k`` is the number of column factor sets: 1 on a rectangular grid,
        2 on a hexagonal one (by row parity).
        """
        n_sets, n_columns = column_factor.shape
        for r in range(rows.shape[0]):
            row_rate = rate * row_power[rows[r]]
            factor = column_factor[r % n_sets]
            for c in range(n_columns):
                value = row_rate * factor[c]
                a[r * n_columns + c] = value if value >= negligible else 0.0

    def _rectangular_unit_steps(a, best, s, code, sigma, rate, negligible, by_level, by_axis):
        row_offsets, column_offsets, axis_power, column_factor = by_axis
        n_columns = column_offsets.shape[0]
        if code == GAUSSIAN and s == 1 and n_columns > 0:
            # h = q**(dr**2) * q**(dc**2) with q = exp(-1 / (2 sigma**2)).
            _running_squares(axis_power, np.exp(-0.5 / (sigma * sigma)), rate, negligible)
            columns = column_offsets[best % n_columns]
            for c in range(n_columns):
                column_factor[0, c] = axis_power[columns[c]]
            _product_steps(
                a, rate, axis_power, row_offsets[best // n_columns], column_factor, negligible
            )
        else:
            _level_steps(a, best, s, code, sigma, rate, negligible, by_level)

    def _rectangular_step_buffers(W, levels, level_index, axis_offsets, code):
        by_level = _level_buffers(W, levels, level_index, code)
        row_offsets, column_offsets = axis_offsets
        axis_power = np.empty(max(row_offsets.shape[0], column_offsets.shape[0]))
        by_axis = (row_offsets, column_offsets, axis_power, np.empty((1, column_offsets.shape[0])))
        return np.zeros(W.shape[0], dtype=W.dtype), by_level, by_axis

    def _hexagonal_unit_steps(a, best, s, code, sigma, rate, negligible, by_level, by_axis):
        row_offsets, half_columns, row_power, half_power, column_factor = by_axis
        if code == GAUSSIAN and s == 1:
            # d2 = (dx2**2 + 3 dy**2) / 4 with dx2 in half units, so
            # h = p**(dx2**2) * (p**3)**(dy**2) with p = exp(-1 / (8 sigma**2));
            # a row's column factors depend on its parity and the BMU's.
            n_columns = half_columns.shape[3]
            p = np.exp(-0.125 / (sigma * sigma))
            _running_squares(row_power, p * p * p, rate, negligible)
            _running_squares(half_power, p, rate, negligible)
            best_row, best_column = best // n_columns, best % n_columns
            for parity in range(2):
                halves = half_columns[best_row % 2, parity, best_column]
                for c in range(n_columns):
                    column_factor[parity, c] = half_power[halves[c]]
            _product_steps(a, rate, row_power, row_offsets[best_row], column_factor, negligible)
        else:
            _level_steps(a, best, s, code, sigma, rate, negligible, by_level)

    def _hexagonal_step_buffers(W, levels, level_index, axis_offsets, code):
        by_level = _level_buffers(W, levels, level_index, code)
        row_offsets, half_columns = axis_offsets
        n_columns = half_columns.shape[3]
        row_power = np.empty(row_offsets.shape[0])
        half_power = np.empty(2 * n_columns + 1)
        column_factor = np.empty((2, n_columns))
        by_axis = (row_offsets, half_columns, row_power, half_power, column_factor)
        return np.zeros(W.shape[0], dtype=W.dtype), by_level, by_axis

    # Every _FLUSH_STEPS steps both sweeps set the prototype values below the
    # smallest normal float to 0. A feature that is 0 in every row (digits'
    # border pixels) shrinks each unit's value on it geometrically, into the
    # subnormal range, where Intel cores take about a hundred cycles an
    # operation: online digits 20x20 took 675 ms (float64) and 280 ms (float32)
    # on a Xeon, against 7 us a sample on an EPYC. The same test on every value
    # of every step cut digits to 141 and 134 ms but slowed 100,000 x 50 blobs
    # from 5.7 to 7.0 s. Once every 64 steps (and after the last), one pass over
    # W per 64 sweeps of it: digits float64 665 -> 111 ms, blobs 5.72 -> 5.65 s
    # (A/B, fresh processes).
    _FLUSH_STEPS = 64

    @numba.njit(nogil=True)
    def _flush_subnormals(W, tiny, zero):
        # ``w if abs(w) >= tiny else zero`` as arithmetic: as a choice, the
        # compiler stored only the zeros, with masked stores (vmaskmovpd),
        # slow on AMD's Zen 3. ``+ zero`` makes the -0.0 of a negative
        # subnormal times 0 a 0.0, as before (not under fastmath: no "nsz").
        for j in range(W.shape[0]):
            for f in range(W.shape[1]):
                w = W[j, f]
                W[j, f] = w * (abs(w) >= tiny) + zero

    @numba.njit(inline="always")
    def _flush_on_schedule(step, W, tiny, zero):
        """:func:`_flush_subnormals` at the end of every ``_FLUSH_STEPS`` steps."""
        if step % _FLUSH_STEPS == _FLUSH_STEPS - 1:
            _flush_subnormals(W, tiny, zero)

    @numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz"})
    def _row_major_epoch(
        X,
        sample_weight,
        W,
        order,
        levels,
        level_index,
        axis_offsets,
        code,
        sigmas,
        rates,
        negligible,
        dist,
    ):
        n_units, n_features = W.shape
        n_steps = order.shape[0]
        if n_steps == 0:
            return
        w_sq = np.empty(n_units, dtype=W.dtype)
        zero = np.zeros(1, dtype=W.dtype)[0]
        tiny = np.full(1, np.finfo(W.dtype).tiny, dtype=W.dtype)[0]
        a, by_level, by_axis = _step_buffers(W, levels, level_index, axis_offsets, code)
        # The first row's BMU; each later row's is found in the sweep that
        # applies the step before it (below).
        x = X[order[0]]
        d = np.empty(n_units, dtype=W.dtype)
        for j in range(n_units):
            total = zero
            dot = zero
            for f in range(n_features):
                total += W[j, f] * W[j, f]
                dot += W[j, f] * x[f]
            w_sq[j] = total
            d[j] = total - 2 * dot
        best, best_d = first_argmin(d)
        for step in range(n_steps):
            _flush_on_schedule(step, W, tiny, zero)
            x = X[order[step]]
            x_sq = zero
            for f in range(n_features):
                x_sq += x[f] * x[f]
            dist[step] = np.sqrt(max(np.float64(best_d) + x_sq, 0.0))
            s = sample_weight[order[step]]
            sigma, rate = sigmas[step], rates[step]
            _unit_steps(a, best, s, code, sigma, rate, negligible, by_level, by_axis)
            # One sweep over the units: move each by its step, and in the
            # same pass (the unit still in cache) take its distance to the
            # next row.
            x_next = X[order[step + 1]] if step + 1 < n_steps else x
            for j in range(n_units):
                a_j = a[j]
                dot = zero
                if a_j != 0:
                    total = zero
                    for f in range(n_features):
                        w = W[j, f] + a_j * (x[f] - W[j, f])
                        W[j, f] = w
                        total += w * w
                        dot += w * x_next[f]
                    w_sq[j] = total
                else:
                    for f in range(n_features):
                        dot += W[j, f] * x_next[f]
                d[j] = w_sq[j] - 2 * dot
            best, best_d = first_argmin(d)
        _flush_subnormals(W, tiny, zero)

    @numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz"})
    def _transposed_epoch(
        X,
        sample_weight,
        W,
        order,
        levels,
        level_index,
        axis_offsets,
        code,
        sigmas,
        rates,
        negligible,
        dist,
    ):
        n_units, n_features = W.shape
        n_steps = order.shape[0]
        if n_steps == 0:
            return
        WT = np.ascontiguousarray(W.T)
        zero = np.zeros(1, dtype=W.dtype)[0]
        tiny = np.full(1, np.finfo(W.dtype).tiny, dtype=W.dtype)[0]
        a, by_level, by_axis = _step_buffers(W, levels, level_index, axis_offsets, code)
        # Each unit's |w|^2 - 2 x.w, summed feature by feature as w (w - 2x):
        # one running sum per unit instead of two (see the sweep below).
        x = X[order[0]]
        d = np.zeros(n_units, dtype=W.dtype)
        for f in range(n_features):
            two_x_f = x[f] + x[f]
            for j in range(n_units):
                d[j] += WT[f, j] * (WT[f, j] - two_x_f)
        best, best_d = first_argmin(d)
        for step in range(n_steps):
            _flush_on_schedule(step, WT, tiny, zero)
            x = X[order[step]]
            x_sq = zero
            for f in range(n_features):
                x_sq += x[f] * x[f]
            dist[step] = np.sqrt(max(np.float64(best_d) + x_sq, 0.0))
            s = sample_weight[order[step]]
            sigma, rate = sigmas[step], rates[step]
            _unit_steps(a, best, s, code, sigma, rate, negligible, by_level, by_axis)
            x_next = X[order[step + 1]] if step + 1 < n_steps else x
            # Feature by feature: move every unit, and accumulate its
            # |w|^2 - 2 x_next.w as the sum of w (w - 2 x_next) over the
            # features: one running sum per unit, where there were two (|w|^2
            # and x.w) and a pass to combine them. Whole online fits, A/B in
            # fresh processes, float64 / float32: iris 1.06x / 1.08x, RGB
            # 10x10 1.09x / 1.15x, RGB 30x30 1.23x / 1.26x. The sums round
            # differently, so where two units tie to the last bits the BMU
            # can differ from the two-sum version's (9 of 66 online fits on
            # iris, RGB and digits, 6 of them with the bubble's ties; final
            # QEs within 1.3% either way). ``x + x`` is ``2 x`` exactly, in
            # the row's dtype: the literal 2 made the float32 sums float64
            # (3% - 4% slower). The first feature starts the sums instead of
            # a pass that zeroes them.
            x_f, two_x_f = x[0], x_next[0] + x_next[0]
            for j in range(n_units):
                w = WT[0, j] + a[j] * (x_f - WT[0, j])
                WT[0, j] = w
                d[j] = w * (w - two_x_f)
            for f in range(1, n_features):
                x_f, two_x_f = x[f], x_next[f] + x_next[f]
                for j in range(n_units):
                    w = WT[f, j] + a[j] * (x_f - WT[f, j])
                    WT[f, j] = w
                    d[j] += w * (w - two_x_f)
            best, best_d = first_argmin(d)
        _flush_subnormals(WT, tiny, zero)
        W[:] = WT.T


_NO_AXES = np.zeros((0, 0), dtype=np.int64)


def _no_levels():
    # Read-only, as the grid's own levels are, so that numba compiles no
    # second version of the kernels for them.
    levels, index = np.zeros(0), np.zeros((0, 0), dtype=np.int32)
    levels.flags.writeable = index.flags.writeable = False
    return levels, index


_NO_LEVELS = _no_levels()


def _separable_offsets(grid):
    """The grid's offsets by axis for the separable Gaussian; two empty arrays turn it off."""
    if not _neighborhood.is_separable(grid, "gaussian"):  # a hexagonal torus of odd rows
        return _NO_AXES, _NO_AXES
    if grid.topology == "rectangular":
        return grid.axis_offsets()
    return grid.hexagonal_offsets()


def compiled_online_epoch(neighborhood_name, layout=None):
    """The compiled epoch for a neighbourhood, or ``None`` without numba.

    It is called as ``epoch(X, sample_weight, W, order, grid, sigmas, rates,
    negligible, dist)`` and updates ``W`` and ``dist`` in place. ``layout``
    ("row_major" or "transposed") fixes the sweep; by default it is chosen
    from the number of features (see the module docstring).
    """
    if numba is None:
        return None
    code = _CODES[neighborhood_name]
    kernels = {"row_major": _row_major_epoch, "transposed": _transposed_epoch}

    def epoch(X, sample_weight, W, order, grid, sigmas, rates, negligible, dist):
        axis_offsets = _separable_offsets(grid)
        # The Gaussian split by axis, for rows of weight 1, never reads the
        # grid's distance levels, an (n_units, n_units) array: 1.2 GB on a
        # 100x100 map.
        by_axis = code == GAUSSIAN and axis_offsets[1].shape[0] > 0
        if by_axis and np.all(sample_weight == 1):
            levels, level_index = _NO_LEVELS
        else:
            levels, level_index = grid.distance_levels()
        small = X.shape[1] <= _TRANSPOSED_MAX_FEATURES[W.dtype]
        kernel = kernels[layout or ("transposed" if small else "row_major")]
        args = (levels, level_index, axis_offsets, code, sigmas, rates, negligible, dist)
        kernel(X, sample_weight, W, order, *args)

    return epoch
