"""Train one library on one case in this process; print times and peak memory as JSON.

The first run is a warm-up (numba compiles, torch starts its threads). The
second measures peak memory: the peak resident set size is reset just before
it (``/proc/self/clear_refs``), so the figure is what a warm fit adds beyond
the loaded data. It and the runs after it, ``--repeats`` in all, are timed; a
library whose warm-up took longer than ``--slow`` seconds is timed once only,
and fits so quick that ``--repeats`` runs take under ``--min-time`` seconds
are repeated until they take that long (at most 200 runs): a median of a few
millisecond-long runs on a shared machine is mostly noise.
"""

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cases import CASES_BY_NAME, load  # noqa: E402
from libraries import LIBRARIES, MARGINAL, sklearn_som_with  # noqa: E402


def _status_kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak():
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _floor(X, case):
    """``X @ W.T`` for all rows, the distance product alone."""
    W = np.random.RandomState(0).uniform(size=(case.n_rows * case.n_columns, X.shape[1]))
    W = W.astype(X.dtype)
    return lambda: X @ W.T


def _numpy_epoch(X, case):
    """A plain numpy batch epoch: the product, argmin, per-unit sums, one smoothing."""
    from sklearn_som import Grid

    n_units = case.n_rows * case.n_columns
    W = np.random.RandomState(0).uniform(size=(n_units, X.shape[1])).astype(X.dtype)
    H = np.exp(-Grid(case.n_rows, case.n_columns).squared_distances() / 2).astype(X.dtype)

    def epoch():
        d = X @ W.T
        d *= -2
        d += (W * W).sum(axis=1)
        bmu = d.argmin(axis=1)
        S = np.zeros_like(W)
        np.add.at(S, bmu, X)
        n = np.bincount(bmu, minlength=n_units).astype(X.dtype)
        return (H @ S) / (H @ n)[:, None]

    return epoch


def _marginal(train, X, case):
    """The cost of ``case.epochs`` more epochs: a fit of twice the epochs minus a fit of them.

    Per-fit costs (validation, initialisation, the final pass) cancel out;
    the schedules run over the fraction of training done, so the extra
    epochs cost what the average epoch of either fit costs.
    """
    longer = dataclasses.replace(case, epochs=2 * case.epochs)

    def run():
        start = time.perf_counter()
        train(X, longer, 0)
        middle = time.perf_counter()
        train(X, case, 0)
        return (middle - start) - (time.perf_counter() - middle)

    return run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", required=True)
    parser.add_argument("--library", required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--slow", type=float, default=20.0)
    parser.add_argument("--min-time", type=float, default=0.5)
    parser.add_argument("--prototypes", help="where to save the trained prototypes (.npy)")
    parser.add_argument("--epochs", type=int, help="override the case's number of epochs")
    parser.add_argument(
        "--settings", help="with --library sklearn_som: its settings, as JSON (see libraries.py)"
    )
    args = parser.parse_args()

    case = CASES_BY_NAME[args.case]
    if args.epochs:
        case = dataclasses.replace(case, epochs=args.epochs)
    X, _ = load(case.data, case.dtype)
    if args.library == "X @ W.T":
        run = _floor(X, case)
    elif args.library == "numpy batch epoch":
        run = _numpy_epoch(X, case)
    elif args.library == "sklearn_som epoch":  # one epoch alone (the case has one)
        run = _marginal(LIBRARIES["sklearn_som"], X, case)
    elif args.library.endswith(MARGINAL):
        run = _marginal(LIBRARIES[args.library.removesuffix(MARGINAL)], X, case)
    else:
        if args.settings:
            if args.library != "sklearn_som":
                raise ValueError("--settings applies to --library sklearn_som only")
            train = sklearn_som_with(**json.loads(args.settings))
        else:
            train = LIBRARIES[args.library]
        run = lambda: train(X, case, 0)  # noqa: E731

    start = time.perf_counter()
    result = run()
    warm_up = time.perf_counter() - start
    del result

    times, peak_kib = [], None
    repeats = 1 if warm_up > args.slow else args.repeats
    repeat = 0
    while repeat < repeats or (sum(times) < args.min_time and repeat < 200):
        if repeat == 0:
            rss_before = _status_kib("VmRSS")
            peak_reset = _reset_peak()
        start = time.perf_counter()
        result = run()
        elapsed = time.perf_counter() - start
        # The differences of fit times are measured by ``run`` itself.
        self_timed = args.library == "sklearn_som epoch" or args.library.endswith(MARGINAL)
        times.append(result if self_timed else elapsed)
        if repeat == 0 and peak_reset:
            peak_kib = _status_kib("VmHWM") - rss_before
        repeat += 1
    if args.prototypes and args.library in LIBRARIES:
        np.save(args.prototypes, np.asarray(result, dtype=np.float64))
    print(
        json.dumps(
            {
                "times": times,
                "warm_up": warm_up,
                "peak_mib": None if peak_kib is None else max(peak_kib, 0) / 1024,
                "data_mib": X.nbytes / 2**20,
            }
        )
    )


if __name__ == "__main__":
    main()
