"""Where one fit's time goes: its steps timed inside warm fits of a benchmark case.

    python benchmarks/profile_fit.py --case iris-10x10-float64
    python benchmarks/profile_fit.py --case iris-10x10-float64 --algorithm online
    python benchmarks/profile_fit.py --case digits-20x20-float64 --repeats 30

Each step of ``SelfOrganizingMap.fit`` (parameter checks, input checks,
initialisation, the training epochs and, under the batch rule's chunked path,
their two halves, the final pass that sets ``labels_`` and the errors) is
timed inside whole fits, with the time of everything else as "the rest": the
median of ``--repeats`` fits of a fresh estimator after a warm-up fit. Steps
timed alone, warm, take less (on iris about half), because a fit runs them
with the caches and branch predictors full of the other steps' code; the
figures here are the ones the benchmark's fits pay.

Beside them, the floor of one pass: ``X @ W.T`` of the whole data, timed
alone on one thread and on two (two halves at once), which says how much of
a second core the machine gave in that minute (see ``machine_state.py``).
"""

import argparse
import statistics
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from unittest import mock

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cases import CASES, load  # noqa: E402

from sklearn_som import SelfOrganizingMap, _batch_step, _small_batch, _som, _train  # noqa: E402

# (owner, attribute, label): the steps of a fit, in order. Indented labels
# are parts of the step above them; steps a fit does not call are not shown.
STEPS = [
    (SelfOrganizingMap, "_validate_params", "parameter checks"),
    (SelfOrganizingMap, "_validate_training_data", "input checks"),
    (SelfOrganizingMap, "_start", "initialisation"),
    (SelfOrganizingMap, "_train_epochs", "training epochs"),
    (_small_batch, "batch_epochs", "  compiled epochs (small data)"),
    (_train, "batch_statistics", "  search and sums"),
    (_batch_step, "batch_update", "  neighbourhood update"),
    (SelfOrganizingMap, "_online_epochs", "  online epochs"),
    (_som, "compiled_online_epoch", "    compiled steps"),
    (SelfOrganizingMap, "_random_state", "    random generator"),
    (SelfOrganizingMap, "_set_fitted_state", "final pass (labels_, errors)"),
]
# Factories: the function they return is the step to time.
FACTORIES = {"compiled_online_epoch"}


@contextmanager
def timed_steps(times):
    """Wrap each step so that its calls add their durations to ``times[label]``."""

    def timer(function, label):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                times[label] = times.get(label, 0.0) + time.perf_counter() - start

        return timed

    def timed_factory(factory, label):
        def make(*args, **kwargs):
            function = factory(*args, **kwargs)
            return None if function is None else timer(function, label)

        return make

    with ExitStack() as stack:
        for owner, name, label in STEPS:
            original = getattr(owner, name)
            wrap = timed_factory if name in FACTORIES else timer
            stack.enter_context(mock.patch.object(owner, name, wrap(original, label)))
        yield


def profile(X, case, algorithm, repeats):
    def fit():
        som = SelfOrganizingMap(
            case.n_rows,
            case.n_columns,
            max_iter=case.epochs,
            algorithm=algorithm,
            random_state=0,
        )
        som.fit(X)

    fit()  # warm-up: compiled kernels, caches
    per_fit = defaultdict(list)
    with timed_steps(times := {}):
        for _ in range(repeats):
            times.clear()
            start = time.perf_counter()
            fit()
            total = time.perf_counter() - start
            per_fit["whole fit"].append(total)
            for _, _, label in STEPS:
                if label in times:
                    per_fit[label].append(times[label])
            top_level = sum(times.get(label, 0.0) for _, _, label in STEPS if label[0] != " ")
            per_fit["the rest"].append(total - top_level)
    return {label: statistics.median(values) for label, values in per_fit.items()}


def pass_floor(X, case, repeats):
    """``X @ W.T`` of all rows on one thread, and as two halves on two threads at once."""
    W = np.random.RandomState(0).uniform(size=(case.n_rows * case.n_columns, X.shape[1]))
    W = W.astype(X.dtype)
    halves = np.array_split(X, 2)
    one, two = [], []
    with threadpool_limits(1), ThreadPoolExecutor(2) as pool:
        for _ in range(max(3, repeats)):
            start = time.perf_counter()
            X @ W.T
            one.append(time.perf_counter() - start)
            start = time.perf_counter()
            list(pool.map(lambda part: part @ W.T, halves))
            two.append(time.perf_counter() - start)
    return statistics.median(one), statistics.median(two)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", required=True, choices=[case.name for case in CASES])
    parser.add_argument("--algorithm", default="batch", choices=["batch", "online"])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    case = next(case for case in CASES if case.name == args.case)
    X, _ = load(case.data, np.dtype(case.dtype))

    medians = profile(X, case, args.algorithm, args.repeats)
    whole = medians.pop("whole fit")
    print(
        f"{case.label}, {args.algorithm} rule: median of {args.repeats} fits {whole * 1e3:.3f} ms"
    )
    print(f"{'step':40s} {'ms':>9s} {'share':>7s}")
    for label, value in medians.items():
        print(f"{label:40s} {value * 1e3:9.3f} {value / whole:7.1%}")
    one, two = pass_floor(X, case, min(args.repeats, 30))
    product = X.shape[0] * case.n_rows * case.n_columns * X.shape[1]
    print(
        f"floor of one pass, X @ W.T ({product / 1e6:.1f}e6 multiply-adds): "
        f"{one * 1e3:.3f} ms on one thread ({2 * product / one / 1e9:.1f} GFLOP/s), "
        f"{two * 1e3:.3f} ms as two halves on two threads ({one / two:.2f}x)"
    )


if __name__ == "__main__":
    main()
