"""Reproduce the README's history-scale figures: `twinbench history` and `report` on a large
synthetic history (default: 500 runs x 200 cases), timed once each. A benchmark, not a test:
run it by hand, e.g. ``PYTHONPATH=src python scripts/bench_history_scale.py --runs 500``.

Each run holds every case measured in `--processes` processes of `--rounds` samples, with 3%
run-to-run noise and a 1.3x step at two thirds of the history for one case in ten, so change
points are searched and found. Prints the size of the run files and the wall time of each
command; compare them with the README (figures there are dated and measured, not targets).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's fixtures/

from fixtures.runs import run_with

from twinbench.cli import main
from twinbench.core.cases import Case
from twinbench.results.storage import write_json_atomic

MODELS = ("mlp", "cnn", "lstm", "transformer", "resnet")
BATCHES = (1, 8, 32, 64, 256)


def case_ids(count: int) -> list[str]:
    """`count` distinct valid case ids (model x framework x device x mode x batch)."""
    frameworks, devices, modes = ("keras", "torch"), ("cpu", "cuda"), ("infer", "train")
    grid = itertools.product(MODELS, frameworks, devices, modes, BATCHES)
    ids = [Case(m, f, d, mode, b).id for m, f, d, mode, b in grid]
    if count > len(ids):
        raise SystemExit(f"at most {len(ids)} cases; ask for fewer with --cases")
    return ids[:count]


def write_history(root: Path, runs: int, cases: list[str], processes: int) -> int:
    """Write the synthetic runs; returns their total size in bytes."""
    rng = np.random.default_rng(0)
    base = {case: 1e-4 * (1 + index % 17) for index, case in enumerate(cases)}
    stepped = set(cases[::10])
    total = 0
    for index in range(runs):
        step = 1.3 if index >= 2 * runs // 3 else 1.0
        medians = {
            case: level * np.exp(rng.normal(0, 0.03)) * (step if case in stepped else 1.0)
            for case, level in base.items()
        }
        run = run_with(medians, processes=processes)
        day, hour = divmod(index, 24)
        date = f"2026-{1 + day // 28:02d}-{1 + day % 28:02d}"
        run["twinbench"]["started"] = f"{date}T{hour:02d}:00:00+00:00"
        path = root / "history" / "machine" / f"{index:06d}.json"
        total += write_json_atomic(path, run).stat().st_size
    return total


def timed(argv: list[str]) -> float:
    """Wall time of one `twinbench` command, its output discarded."""
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    elapsed = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"twinbench {' '.join(argv)} exited with {code}")
    return elapsed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=500, help="runs in the history (500)")
    parser.add_argument("--cases", type=int, default=200, help="cases per run (200)")
    parser.add_argument("--processes", type=int, default=6, help="processes per case (6)")
    return parser.parse_args()


def report_figures() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        size = write_history(root, args.runs, case_ids(args.cases), args.processes)
        print(f"{args.runs} runs x {args.cases} cases: {size / 1e6:.0f} MB of run files")
        history_s = timed(["history", "--results-dir", str(root)])
        print(f"twinbench history: {history_s:.1f} s")
        page = root / "report.html"
        report_s = timed(["report", "--results-dir", str(root), "-o", str(page)])
        print(f"twinbench report: {report_s:.1f} s for a {page.stat().st_size / 1e6:.1f} MB page")


if __name__ == "__main__":
    report_figures()
