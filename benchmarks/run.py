"""Train every available SOM library on the same cases, side by side; write RESULTS.md.

    python benchmarks/run.py                      # all cases, 5 timed runs each
    python benchmarks/run.py --cases digits-20x20-float32 --repeats 3

Each (case, library) runs in a fresh process (``worker.py``): a warm-up run
that also measures peak memory, then timed runs. The libraries of a case take
turns, ``--rounds`` times over (a library whose fit takes over
``ROUND_LIMIT`` seconds runs in the first round only): on a shared machine a
noisy minute then slows one round of every library, not every run of one,
and the median of all the timed runs is reported.
Quality is computed here, by one implementation for every library, from the
prototypes each returns: quantization error (mean Euclidean distance to the
BMU), topographic error (best and second-best units not 4-neighbours on the
rectangular grid) and, for labelled data, BMU purity.
"""

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cases import CASES, CASES_BY_NAME, load  # noqa: E402
from libraries import LIBRARIES, MARGINAL, MARGINAL_LIBRARIES, TOO_SLOW  # noqa: E402
from machine_state import probe  # noqa: E402

from sklearn_som import Grid  # noqa: E402
from sklearn_som._bmu import best_matching_units  # noqa: E402

MODULES = {
    "sklearn_som": "sklearn_som",
    "sklearn_som online": "numba",
    "sklearn_som sigma=R/4 sigma_final=0.8": "sklearn_som",
    "sklearn_som online triangle sigma_final=0.7": "numba",
    "fastersom": "fastersom",
    "xpysom": "xpysom",
    "somoclu": "somoclu",
    "numbasom": "numbasom",
    "minisom": "minisom",
    "susi": "susi",
}
DISTRIBUTIONS = {
    "sklearn_som": "sklearn-som-estimator",
    "fastersom": "fastersom",
    "xpysom": "xpysom",
    "somoclu": "somoclu",
    "numbasom": "numbasom",
    "minisom": "minisom",
    "susi": "susi",
    "torch": "torch",
    "numba": "numba",
    "numpy": "numpy",
    "scikit-learn": "scikit-learn",
}
# Fits slower than this (seconds, median of the first round) are not repeated
# in later rounds: their runs are long enough to average the noise out.
ROUND_LIMIT = 2.0


def quality(W, X, y, case):
    """QE, TE and purity of prototypes ``W`` on ``X``: one implementation for all."""
    X = np.asarray(X, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    if not np.all(np.isfinite(W)):
        return {"qe": float("nan"), "te": float("nan"), "purity": None}
    bmu, dist, second = best_matching_units(X, W, 4096, second=True)
    grid = Grid(case.n_rows, case.n_columns)
    te = float(np.mean(~grid.are_neighbors(bmu, second)))
    purity = None
    if y is not None:
        counts = np.zeros((W.shape[0], int(y.max()) + 1))
        np.add.at(counts, (bmu, y), 1)
        purity = float(counts.max(axis=1).sum() / len(y))
    return {"qe": float(dist.mean()), "te": te, "purity": purity}


def _repeat(row):
    """Whether a library's first round calls for more rounds."""
    return "times" in row and float(np.median(row["times"])) <= ROUND_LIMIT


def run_worker(case, library, repeats, prototypes, epochs=None, settings=None):
    command = [sys.executable, str(HERE / "worker.py"), "--case", case.name]
    command += ["--library", library, "--repeats", str(repeats)]
    if epochs:
        command += ["--epochs", str(epochs)]
    if settings:
        command += ["--settings", json.dumps(settings)]
    if prototypes:
        command += ["--prototypes", prototypes]
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1] if result.stderr else "failed"}
    return json.loads(result.stdout.strip().splitlines()[-1])


def machine():
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for name, distribution in DISTRIBUTIONS.items():
        try:
            versions[name] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            pass
    blas = "unknown"
    try:
        from threadpoolctl import threadpool_info

        # numpy and scipy each load their own OpenBLAS (numba's np.dot calls
        # scipy's), often of different versions: name each by its owner.
        libraries = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if libraries:
            blas = "; ".join(
                f"{_blas_owner(i['filepath'])}: {i['internal_api']} {i['version']}"
                f" ({i.get('architecture') or 'unknown'} kernels), {i['num_threads']} threads"
                for i in libraries
            )
    except ImportError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.platform(),
        "blas": blas,
        "versions": versions,
    }


def _blas_owner(filepath):
    """Which package ships the BLAS library at ``filepath`` (its site-packages folder)."""
    parts = Path(filepath).parts
    for package in ("numpy", "scipy", "torch"):
        if any(part.startswith(package) for part in parts):
            return package
    return Path(filepath).name


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--cases", nargs="*", default=[c.name for c in CASES])
    parser.add_argument(
        "--libraries", nargs="*", default=[k for k in LIBRARIES if "sigma_final" not in k]
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--output",
        default=str(HERE / "RESULTS.json"),
        help="where the JSON goes; the report goes beside it, as the same name with .md",
    )
    args = parser.parse_args()

    available, missing = [], {}
    for library in args.libraries:
        if importlib.util.find_spec(MODULES[library]) is None:
            missing[library] = f"module {MODULES[library]!r} not installed"
        else:
            available.append(library)

    results = {
        "machine": machine(),
        "command": " ".join(["python"] + sys.argv),
        "missing": missing,
        "cases": {},
        "started": time.strftime("%Y-%m-%d %H:%M"),
        "rounds": args.rounds,
        "machine_state": {"start": probe()},
    }
    with tempfile.TemporaryDirectory() as folder:
        for name in args.cases:
            case = CASES_BY_NAME[name]
            X, y = load(case.data, case.dtype)
            rows = {}
            floors = (
                ["X @ W.T", "numpy batch epoch", "sklearn_som epoch"]
                if case.data == "mnist_sized"
                else []
            )
            marginal = [name + MARGINAL for name in MARGINAL_LIBRARIES if name in available]
            for round_ in range(args.rounds):
                for library in floors + available + marginal:
                    if (library, case.data) in TOO_SLOW:
                        rows[library] = {"skipped": TOO_SLOW[(library, case.data)]}
                        continue
                    if round_ == 0 and library in marginal:
                        whole = rows.get(library.removesuffix(MARGINAL), {})
                        if not _repeat(whole):  # per-fit costs are lost in long fits
                            rows[library] = {"skipped": f"fit over {ROUND_LIMIT} s or failed"}
                            continue
                    if round_ > 0 and not _repeat(rows[library]):
                        continue
                    path = str(Path(folder) / "prototypes.npy")
                    row = run_worker(
                        case, library, args.repeats, path if library in LIBRARIES else None
                    )
                    if round_ > 0:
                        if "error" not in row:
                            rows[library]["times"] += row["times"]
                            rows[library]["rounds"] += 1
                        continue
                    if library in LIBRARIES and "error" not in row:
                        row.update(quality(np.load(path), X, y, case))
                    rows[library] = dict(row, rounds=1)
                    print(f"{case.name:28s} {library:20s} {json.dumps(row)}", flush=True)
            for library, row in rows.items():
                if row.get("rounds", 1) > 1:
                    print(
                        f"{case.name:28s} {library:20s} {row['rounds']} rounds, median "
                        f"{np.median(row['times']):.4g} s",
                        flush=True,
                    )
            results["cases"][name] = rows
    results["machine_state"]["end"] = probe()
    Path(args.output).write_text(json.dumps(results, indent=1))
    from report import write_report

    write_report(results, Path(args.output).with_suffix(".md"))


if __name__ == "__main__":
    main()
