"""Does a baseline pooled over a window of runs flag fewer unchanged cases than a one-run one?

    python scripts/window_study.py RESULTS_DIR [--window 7]

RESULTS_DIR holds runs of unchanged code (A/A), the first of them the run that saved the
baseline (scripts/gate_experiments.sh's noisy/ folder). Each later run is judged at the gate's
first look twice, on the same samples: against the saved one-run baseline, and against the
window of the runs before it (`--baseline-window`'s own pooling, gate/window.py). The script
prints, per run and in total, the unchanged cases each baseline makes suspects (ratio at or
above the threshold: they cost confirmation rounds) and those already significant. Judging
the same samples both ways keeps the night's own noise out of the comparison; what rounds
would then have cleared is left out (each rerun would measure other spells).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from twinbench.core.jsonfile import json_files
from twinbench.core.status import Outcome
from twinbench.gate.compare import judge_samples
from twinbench.gate.settings import GateSettings
from twinbench.gate.window import window_baseline
from twinbench.results.storage import machine_slug, read_run

Processes = tuple[tuple[float, ...], ...]


def processes(run: dict[str, Any]) -> dict[str, Processes]:
    """Case id -> the samples of each of its processes in a run (or baseline) file."""
    return {
        bench["param"]: tuple(tuple(p["samples"]) for p in bench["extra_info"]["processes"])
        for bench in run["benchmarks"]
        if bench["extra_info"].get("processes")
    }


def counts(baseline: dict[str, Processes], current: dict[str, Processes]) -> tuple[int, int]:
    """(suspects, significant) over the cases both hold, at the gate's first look."""
    settings, suspects, significant = GateSettings(), 0, 0
    for case_id in sorted(baseline.keys() & current.keys()):
        verdict = judge_samples(case_id, baseline[case_id], current[case_id], settings)
        suspects += verdict.ratio is not None and verdict.ratio >= settings.threshold_for(case_id)
        significant += verdict.verdict == Outcome.REGRESSION
    return suspects, significant


def window_of(earlier: list[Path], run: dict[str, Any], window: int) -> dict[str, Processes]:
    """The gate's window baseline for `run`, over a history holding only `earlier`."""
    with tempfile.TemporaryDirectory() as results:
        folder = Path(results) / "history" / machine_slug(run["twinbench"]["metadata"])
        folder.mkdir(parents=True)
        for path in earlier:
            (folder / path.name).symlink_to(path.resolve())
        pooled = window_baseline(Path(results), run, window).baseline
        return processes(pooled) if pooled else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results_dir", type=Path)
    parser.add_argument("--window", type=int, default=7)
    args = parser.parse_args()
    (saved,) = json_files(args.results_dir / "baselines")
    one_run = processes(read_run(saved))
    runs = json_files(args.results_dir / "history", recursive=True)
    totals = [0, 0, 0, 0, 0]
    print(
        f"{'run':32} {'cases':>5} {'one-run: suspects':>18} {'significant':>11} "
        f"{'window: suspects':>17} {'significant':>11} {'runs pooled':>11}"
    )
    for index, path in enumerate(runs[1:], start=1):  # runs[0] saved the baseline
        run = read_run(path)
        current = processes(run)
        pooled = window_of(runs[:index], run, args.window)
        one = counts(one_run, current)
        win = counts(pooled, current)
        pooled_runs = min(index, args.window)
        row = (len(current), *one, *win)
        totals = [t + r for t, r in zip(totals, row, strict=True)]
        print(
            f"{path.name:32} {row[0]:>5} {row[1]:>18} {row[2]:>11} {row[3]:>17} {row[4]:>11} "
            f"{pooled_runs:>11}"
        )
    print(
        f"{'total':32} {totals[0]:>5} {totals[1]:>18} {totals[2]:>11} {totals[3]:>17} "
        f"{totals[4]:>11}"
    )


if __name__ == "__main__":
    main()
