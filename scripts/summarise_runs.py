"""Count the gate's (or the A/B command's) verdicts in run files, affected cases apart.

    PYTHONPATH=src python scripts/summarise_runs.py DIR [DIR ...] [--affected '*-torch-*']

One line per run file (sorted by name): its verdicts counted over the cases the --affected
glob matches (where a slowdown was injected) and over the rest, then the totals. Reads the
files the gate writes under results/history/ and those `twinbench ab` writes under results/ab/,
plain (.json) or compressed (.json.xz, .json.gz).
"""

from __future__ import annotations

import argparse
import collections
import fnmatch
from pathlib import Path

from twinbench.core.jsonfile import json_files, read_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument(
        "--affected", default="", help="glob of the cases a slowdown was injected into"
    )
    args = parser.parse_args()
    totals = {"affected": collections.Counter(), "unaffected": collections.Counter()}
    for path in sorted(p for folder in args.folders for p in json_files(folder, recursive=True)):
        run = read_json(path)
        section = run.get("twinbench", {})
        if "pooled_runs" in section:
            continue  # a baseline file
        counts = {"affected": collections.Counter(), "unaffected": collections.Counter()}
        for verdict in (section.get("comparison") or {}).get("verdicts", []):
            hit = args.affected and fnmatch.fnmatchcase(verdict["case_id"], args.affected)
            counts["affected" if hit else "unaffected"][verdict["verdict"]] += 1
        for side in counts:
            totals[side].update(counts[side])
        kind = "ab" if "ab" in section else "gate"
        print(
            f"{path.name} ({kind}): "
            + "; ".join(f"{side} {dict(c)}" for side, c in counts.items() if c)
        )
    for side, counter in totals.items():
        if counter:
            print(f"total {side}: {dict(counter)} of {sum(counter.values())}")


if __name__ == "__main__":
    main()
