"""What the baseline-code check changed in gate runs: each suspect's verdict before and after.

    PYTHONPATH=src python scripts/code_check_study.py BASELINE RUN [RUN ...] [--affected GLOB]

Each RUN (a file the gate wrote under results/history/) is judged again against BASELINE
the way `twinbench check` does, with the confirmation rounds the run stored, once without
and once with the readings its baseline-code check stored (`comparison.code_check`). One
line per checked case: its verdict before, the A/B reading, its verdict after, and whether
the --affected glob (where a slowdown was injected) matches it; then the counts.
"""

from __future__ import annotations

import argparse
import collections
import fnmatch
from pathlib import Path
from typing import Any

from twinbench.gate.ab import WORDS
from twinbench.gate.code_check import apply_stored_check
from twinbench.gate.compare import compare_runs
from twinbench.gate.rounds import apply_confirmations
from twinbench.gate.settings import GateSettings
from twinbench.results.storage import read_run


def study(baseline: dict[str, Any], runs: dict[str, dict[str, Any]], affected: str) -> list[str]:
    """The report's lines for `runs` (by name) judged against `baseline`."""
    settings, lines = GateSettings(), []
    totals: collections.Counter[tuple[str, str, bool]] = collections.Counter()
    for name, run in runs.items():
        comparison = compare_runs(baseline, run, settings)
        apply_confirmations(baseline, run, comparison, settings)
        before = {v.case_id: v.verdict for v in comparison.verdicts}
        apply_stored_check(baseline, run, comparison)
        readings = {v["case_id"]: v for v in comparison.code_check.get("verdicts", [])}
        lines.append(f"{name}: {len(readings)} case(s) checked")
        for verdict in comparison.verdicts:
            reading = readings.get(verdict.case_id)
            if reading is None:
                continue
            hit = bool(affected) and fnmatch.fnmatchcase(verdict.case_id, affected)
            ratio, word = reading.get("ratio"), WORDS.get(reading["verdict"], reading["verdict"])
            lines.append(
                f"  {verdict.case_id}: {before[verdict.case_id]} -> A/B {word}"
                f" {ratio or 0:.2f}x -> {verdict.verdict}{' (affected)' if hit else ''}"
            )
            totals[(before[verdict.case_id], verdict.verdict, hit)] += 1
    for (was, now, hit), count in sorted(totals.items()):
        lines.append(f"total {'affected' if hit else 'unaffected'} {was} -> {now}: {count}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("baseline", type=Path)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--affected", default="", help="glob of the cases slowed on purpose")
    args = parser.parse_args()
    runs = {path.name: read_run(path) for path in args.runs}
    print("\n".join(study(read_run(args.baseline), runs, args.affected)))


if __name__ == "__main__":
    main()
