"""Two versions of sklearn_som side by side in one process: whole fits, interleaved.

    git worktree add --detach /tmp/base HEAD~1
    python benchmarks/ab.py /tmp/base . --cases digits-20x20-float32 rgb-10x10-float64
    python benchmarks/ab.py /tmp/base . --cases iris-10x10-float64 --algorithm online

Each checkout's ``sklearn_som`` package is imported under a name of its own
(``sklearn_som_a`` and ``sklearn_som_b``, through links in a temporary
folder), so both live in one process and their fits alternate, one of each
per round, in turn first. A noisy minute on a shared machine then slows both
alike: fresh-process A/B runs of the same small change spread 0.8x - 1.3x per
pair on the 2-core EPYC, where this gave 1.04x - 1.06x on each of two runs
(digits float32, 40 rounds). Prints each version's median fit time, the
ratio of the medians and the median of the per-round ratios (A's time over
B's: above 1, B is faster), and whether the two versions' maps (prototypes
and labels) are the same to the bit.
"""

import argparse
import hashlib
import importlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

# numba's on-disk cache of the two copies goes to a folder of its own, set
# before numba is imported: cached beside the package's source, a function
# compiled under the borrowed name (sklearn_som_b) names that module, and a
# later ``import sklearn_som`` that loads it fails (ModuleNotFoundError).
_NUMBA_CACHE = tempfile.mkdtemp(prefix="sklearn_som_ab_numba_")
os.environ["NUMBA_CACHE_DIR"] = _NUMBA_CACHE

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cases import CASES, CASES_BY_NAME, load  # noqa: E402


def _import_as(checkout, name, folder):
    """``checkout``'s sklearn_som package, imported as ``name`` through a link in ``folder``."""
    package = Path(checkout).resolve() / "sklearn_som"
    if not (package / "__init__.py").is_file():
        raise SystemExit(f"{checkout} holds no sklearn_som package")
    (Path(folder) / name).symlink_to(package, target_is_directory=True)
    return importlib.import_module(name)


def _fitter(package, case, X, algorithm):
    def fit():
        return package.SelfOrganizingMap(
            n_rows=case.n_rows,
            n_columns=case.n_columns,
            max_iter=case.epochs,
            random_state=0,
            algorithm=algorithm,
        ).fit(X)

    return fit


def _digest(som):
    return hashlib.md5(som.cluster_centers_.tobytes() + som.labels_.tobytes()).hexdigest()


def compare(fits, rounds):
    """Medians of ``rounds`` interleaved runs of the two fits, and whether their maps agree."""
    digests = [_digest(fit()) for fit in fits]
    times = ([], [])
    for r in range(rounds):
        for i in (0, 1) if r % 2 == 0 else (1, 0):
            start = time.perf_counter()
            fits[i]()
            times[i].append(time.perf_counter() - start)
    ratios = [a / b for a, b in zip(*times, strict=True)]
    medians = [statistics.median(t) for t in times]
    return medians, statistics.median(ratios), digests[0] == digests[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", help="checkout A (the base), holding sklearn_som/")
    parser.add_argument("b", help="checkout B (the change)")
    parser.add_argument("--cases", nargs="*", default=[case.name for case in CASES])
    parser.add_argument("--algorithm", default="batch", choices=["batch", "online"])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    try:
        _compare_checkouts(args)
    finally:
        shutil.rmtree(_NUMBA_CACHE, ignore_errors=True)


def _compare_checkouts(args):
    with tempfile.TemporaryDirectory() as folder:
        sys.path.insert(0, folder)
        packages = [
            _import_as(args.a, "sklearn_som_a", folder),
            _import_as(args.b, "sklearn_som_b", folder),
        ]
        for name in args.cases:
            case = CASES_BY_NAME[name]
            X = load(case.data, case.dtype)[0]
            fits = [_fitter(package, case, X, args.algorithm) for package in packages]
            (a, b), ratio, same = compare(fits, args.rounds)
            print(
                f"{name} ({args.algorithm}): A {a * 1e3:.3f} ms, B {b * 1e3:.3f} ms, "
                f"A / B {a / b:.3f} (per round {ratio:.3f}), same maps: {same}"
            )


if __name__ == "__main__":
    main()
