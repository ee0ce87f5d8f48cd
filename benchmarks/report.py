"""Turn RESULTS.json into RESULTS.md: the tables and the headline ratios.

python benchmarks/report.py   # rewrite RESULTS.md from RESULTS.json
"""

import json
import sys
from functools import cache
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cases import CASES_BY_NAME, load  # noqa: E402
from libraries import MARGINAL, NOTES  # noqa: E402
from machine_state import describe  # noqa: E402

OURS = "sklearn_som"
OURS_ONLINE = "sklearn_som online"
REFERENCES = {"X @ W.T", "numpy batch epoch", "sklearn_som epoch"}


def _median(row):
    return float(np.median(row["times"])) if row.get("times") else None


@cache
def _steps(name):
    """Online steps of a case's fit: rows x epochs (loads the data once per case)."""
    X, _ = load(CASES_BY_NAME[name].data, "float32")
    return X.shape[0] * CASES_BY_NAME[name].epochs


def _format(value, digits=4):
    if value is None:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return "NaN"
    return f"{value:.{digits}g}"


def _case_table(name, rows):
    ours = _median(rows.get(OURS, {}))
    lines = [
        f"### {CASES_BY_NAME[name].label}",
        "",
        "| library | fit time (s, median) | runs | vs sklearn_som | peak MiB | QE | TE | purity |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for library, row in rows.items():
        if library.endswith(MARGINAL):  # differences of fit times: their own table
            continue
        if "skipped" in row or "error" in row:
            lines.append(
                f"| {library} | {row.get('skipped') or 'failed: ' + row['error']} | | | | | | |"
            )
            continue
        time = _median(row)
        ratio = f"{time / ours:.2f}x" if ours and time else ""
        lines.append(
            f"| {library} | {_format(time, 3)} | {len(row['times'])} | {ratio} | "
            f"{_format(row.get('peak_mib'), 3)} | {_format(row.get('qe'))} | "
            f"{_format(row.get('te'), 3)} | {_format(row.get('purity'), 3)} |"
        )
    return lines


def headline(results):
    """Speed ratios of every peer against our default fit, and the other targets."""
    lines = []
    cases = results["cases"]
    every = {library for rows in cases.values() for library in rows}
    peers = sorted(
        name for name in every - {OURS, OURS_ONLINE} - REFERENCES if not name.endswith(MARGINAL)
    )
    lines += [
        "| peer | cases | peer time / sklearn_som time (min - max) | "
        "QE: sklearn_som / peer (max) | TE: sklearn_som - peer (max) |",
        "|---|---:|---|---:|---:|",
    ]
    for peer in peers:
        ratios, qe_ratios, te_gaps = [], [], []
        for rows in cases.values():
            ours, theirs = rows.get(OURS, {}), rows.get(peer, {})
            if _median(ours) and _median(theirs):
                ratios.append(_median(theirs) / _median(ours))
                if theirs.get("qe") is not None and np.isfinite(theirs["qe"]):
                    qe_ratios.append(ours["qe"] / theirs["qe"])
                    te_gaps.append(ours["te"] - theirs["te"])
        if ratios:
            qe = f"{max(qe_ratios):.3f}" if qe_ratios else "n/a (NaN maps)"
            te = f"{max(te_gaps):+.3f}" if te_gaps else ""
            span = f"{min(ratios):.2f}x - {max(ratios):.2f}x"
            lines.append(f"| {peer} | {len(ratios)} | {span} | {qe} | {te} |")
    mnist = cases.get("mnist_sized-20x20-float32", {})
    if _median(mnist.get(OURS, {})) and _median(mnist.get("X @ W.T", {})):
        floor = _median(mnist["X @ W.T"])
        lines += [
            "",
            f"70,000x784 float32, 20x20, one epoch: `X @ W.T` alone "
            f"{floor:.3f} s; sklearn_som fit {_median(mnist[OURS]):.3f} s "
            f"= **{_median(mnist[OURS]) / floor:.2f}x the floor** (the fit includes "
            f"PCA initialisation and the final pass that sets labels_ and the errors); "
            f"plain numpy batch epoch {_median(mnist['numpy batch epoch']):.3f} s; "
            f"one sklearn_som epoch alone (fit of 2 epochs minus fit of 1) "
            f"{_median(mnist['sklearn_som epoch']):.3f} s = "
            f"**{_median(mnist['sklearn_som epoch']) / floor:.2f}x the floor**; "
            f"peak memory beyond X {mnist[OURS].get('peak_mib', 0):.2g} MiB "
            f"(X is {mnist[OURS]['data_mib']:.0f} MiB).",
        ]
    lines += [
        "",
        "Online rule, per sample (fit time / (rows x epochs)); ratios are the peer's time "
        "per sample over ours:",
        "",
        "| case | sklearn_som online (us) | QE / TE | numbasom (us) | ratio | QE / TE "
        "| minisom (us) | ratio | susi (us) | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, rows in cases.items():
        ours = rows.get(OURS_ONLINE, {})
        if not _median(ours):
            continue
        steps = _steps(name)
        cells = [f"{_median(ours) / steps * 1e6:.2f}", f"{ours['qe']:.4g} / {ours['te']:.3f}"]
        for peer in ["numbasom", "minisom", "susi"]:
            theirs = rows.get(peer, {})
            if _median(theirs):
                cells += [
                    f"{_median(theirs) / steps * 1e6:.2f}",
                    f"{_median(theirs) / _median(ours):.2f}x",
                ]
                if peer == "numbasom":
                    cells.append(f"{theirs['qe']:.4g} / {theirs['te']:.3f}")
            else:
                cells += ["", ""] + ([""] if peer == "numbasom" else [])
        lines.append(f"| {CASES_BY_NAME[name].label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Online rule, per sample without the per-fit costs (validation, initialisation, "
        "the final pass that sets labels_ and the errors): a fit of twice the case's epochs "
        "minus a fit of its epochs, over rows x epochs; on cases whose fits take at most "
        "2 s. The difference from the whole-fit figure above is the per-fit cost, spread "
        "over the steps (a difference of separate runs: only where it is large beside the "
        "noise, as on iris, does it measure that cost).",
        "",
        "| case | sklearn_som online (us) | numbasom (us) | ratio |",
        "|---|---:|---:|---:|",
    ]
    for name, rows in cases.items():
        ours = rows.get(OURS_ONLINE + MARGINAL, {})
        theirs = rows.get("numbasom" + MARGINAL, {})
        if not (_median(ours) and _median(theirs)):
            continue
        steps = _steps(name)
        lines.append(
            f"| {CASES_BY_NAME[name].label} | {_median(ours) / steps * 1e6:.2f} | "
            f"{_median(theirs) / steps * 1e6:.2f} | {_median(theirs) / _median(ours):.2f}x |"
        )
    return lines


def write_report(results, path):
    machine = results["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in sorted(machine["versions"].items()))
    lines = [
        "# Benchmark results",
        "",
        "Generated by `benchmarks/run.py`; do not edit by hand.",
        "",
        f"- command: `{results['command']}` (started {results['started']})",
        f"- machine: {machine['cpu']}, {machine['cores']} cores, {machine['system']}",
        f"- Python {machine['python']}, BLAS: {machine['blas']}",
        *(
            [f"- cores delivered (`machine_state.py`), {describe(results['machine_state'])}"]
            if "machine_state" in results
            else []
        ),
        f"- versions: {versions}",
        "- times: median of the timed runs, each after a warm-up run in the same fresh "
        "process (at least `--repeats` runs, and more, up to 200, until they add up to "
        f"0.5 s); the libraries of a case take turns, {results.get('rounds', 1)} rounds "
        "over, each round in fresh processes (fits over 2 s: first round only); peak MiB: "
        "what a warm fit adds to the resident set beyond the loaded data",
        "- QE, TE, purity: computed by one implementation for every library from its "
        "prototypes (mean Euclidean distance to the BMU; best and second-best units not "
        "4-neighbours; majority-class purity of the units)",
        "",
        "## Settings",
        "",
    ]
    lines += [f"- {library}: {note}" for library, note in NOTES.items()]
    if results["missing"]:
        lines += [
            "",
            "Not installed here: "
            + "; ".join(f"{k} ({v})" for k, v in results["missing"].items()),
        ]
    lines += ["", "## Headline", ""] + headline(results) + ["", "## Cases", ""]
    for name, rows in results["cases"].items():
        lines += _case_table(name, rows) + [""]
    Path(path).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    write_report(json.loads((HERE / "RESULTS.json").read_text()), HERE / "RESULTS.md")
