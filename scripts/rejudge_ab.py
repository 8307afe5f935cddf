"""Judge the pairs of an `ab --together` run file again, look by look, with either rule.

    PYTHONPATH=src python scripts/rejudge_ab.py RUN_FILE [--unpaired] [--pairs 6] [--rounds 2]
        [--affected '*-torch-*-[it][nr]*']

Replays `gate/ab.py: run_ab` over the processes the run stored, in the order they were
measured: each look takes as many more pairs of a case as the replayed plan asks (--pairs at
the first look, then what `look_sizes` plans), so a rule that stops a case
earlier than the run did is replayed exactly. A case the replayed rule would have measured
further than the run did is reported as `unreplayable`. Prints one line per case (the run's
verdict, then the replayed one) and the counts over the --affected cases and the others.
Shows what judging pairs as pairs (gate/paired.py) changes on the same measurements.
"""

from __future__ import annotations

import argparse
import collections
import fnmatch
from pathlib import Path
from typing import Any

from twinbench.core.cases import Case
from twinbench.core.jsonfile import read_json
from twinbench.core.status import Status
from twinbench.execute.case import CaseResult
from twinbench.execute.interleave import TOGETHER, Interleaved, measured_together
from twinbench.gate.ab import run_ab
from twinbench.gate.settings import GateSettings
from twinbench.measure.timing import Measurement

UNREPLAYABLE = "unreplayable"


def stored_processes(bench: dict[str, Any]) -> list[list[float]]:
    """The samples of each process of one case entry, in the order they were measured."""
    return [p["samples"] for p in bench.get("extra_info", {}).get("processes") or []]


def rejudge(run: dict[str, Any], pairs: int, rounds: int, paired: bool) -> dict[str, str]:
    """Case id -> the replayed verdict (or UNREPLAYABLE)."""
    ab = run["twinbench"]["ab"]
    in_pairs = {cid for cid, orders in ab["orders"].items() if measured_together(orders)}
    if not in_pairs:
        raise SystemExit("not an `ab --together` run file: its processes do not form pairs")
    sides = {bench["param"]: {"b": stored_processes(bench)} for bench in run["benchmarks"]}
    for bench in ab["a_benchmarks"]:
        sides[bench["param"]]["a"] = stored_processes(bench)
    # Only the cases measured in pairs (not the CUDA cases, which took turns).
    measured = {cid: s for cid, s in sides.items() if cid in in_pairs and s.get("a") and s.get("b")}
    served: collections.Counter[str] = collections.Counter()
    ran_out: set[str] = set()

    def measure(cases: list[Case], asked: int) -> Interleaved:
        results: dict[str, dict[str, list[CaseResult]]] = {}
        for case in cases:
            start = served[case.id]
            chunk = {side: measured[case.id][side][start : start + asked] for side in "ab"}
            if len(chunk["a"]) < asked or len(chunk["b"]) < asked:
                ran_out.add(case.id)
            served[case.id] += asked
            results[case.id] = {
                side: [_result(case, samples) for samples in chunk[side]] for side in "ab"
            }
        return Interleaved(results, {case.id: [TOGETHER] * asked for case in cases})

    settings = GateSettings(confirm_rounds=rounds)
    cases = [Case.from_id(cid) for cid in measured]
    outcome = run_ab(cases, measure, settings, pairs, paired=paired)
    return {
        v.case_id: UNREPLAYABLE if v.case_id in ran_out else str(v.verdict)
        for v in outcome.verdicts
    }


def _result(case: Case, samples: list[float]) -> CaseResult:
    return CaseResult(case, Status.OK, measurement=Measurement(0.0, 1, list(samples)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_file", type=Path)
    parser.add_argument("--unpaired", action="store_true", help="judge side against side")
    parser.add_argument("--pairs", type=int, default=6, help="pairs of the first look (default 6)")
    parser.add_argument("--rounds", type=int, default=2, help="extra looks (default 2)")
    parser.add_argument("--affected", default="", help="glob of the cases a slowdown hit")
    args = parser.parse_args()
    run = read_json(args.run_file)
    recorded = {v["case_id"]: v["verdict"] for v in run["twinbench"]["comparison"]["verdicts"]}
    replayed = rejudge(run, args.pairs, args.rounds, paired=not args.unpaired)
    counts = {"affected": collections.Counter(), "others": collections.Counter()}
    for case_id, verdict in sorted(replayed.items()):
        hit = bool(args.affected) and fnmatch.fnmatchcase(case_id, args.affected)
        counts["affected" if hit else "others"][verdict] += 1
        print(f"{case_id:44} {recorded.get(case_id, '-'):>10} -> {verdict}")
    for group, counter in counts.items():
        print(f"{group}: " + ", ".join(f"{k} {n}" for k, n in sorted(counter.items())))


if __name__ == "__main__":
    main()
