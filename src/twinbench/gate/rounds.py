"""The confirmation rounds of a pytest run: suspects measured again, round by round, and the
rounds stored in the run judged (the rule itself is confirm.py's)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twinbench.execute.case import CaseResult
from twinbench.gate.compare import Comparison, GateSettings
from twinbench.gate.confirm import decide, is_suspect, round_entry, stored_rounds
from twinbench.gate.interference import usual_witnesses
from twinbench.measure.probe import fastest_probe
from twinbench.results.runfile import case_rows, process_entry


@dataclass
class Remeasurement:
    """One confirmation round: the suspects measured again in fresh worker processes."""

    # case id -> the result of each fresh process
    results: dict[str, list[CaseResult]]
    # Machine-speed probe just before the round, and seconds spent waiting for a calm machine.
    probe_s: float | None = None
    waited_s: float | None = None
    # Wall time of the round's measurements, waiting excluded.
    elapsed_s: float = 0.0


# Re-measures the given case ids; the float is the fastest probe time seen so far (baseline, run,
# earlier rounds), to wait for a calm machine before measuring (None: unknown, do not wait).
Remeasure = Callable[[list[str], float | None], Remeasurement]


def confirm_by_rounds(
    baseline: dict[str, Any],
    run: dict[str, Any],
    comparison: Comparison,
    settings: GateSettings,
    remeasure: Remeasure,
) -> None:
    """Re-measure the open suspects, up to `settings.confirm_rounds` times, deciding each after
    every round; each round's samples go into the run (``extra_info.confirmation``)."""
    benches = {bench["param"]: bench for bench in run["benchmarks"]}
    calm = fastest_probe(baseline, run)
    for _ in range(settings.confirm_rounds):
        pending = [v.case_id for v in comparison.pending(lambda v: is_suspect(v, settings))]
        if not pending:
            break
        measured = remeasure(pending, calm)
        if measured.probe_s:  # no probe in baseline or run: the first round sets calm
            calm = min(calm, measured.probe_s) if calm else measured.probe_s
        comparison.rounds.append(
            {"cases": len(pending), "elapsed_s": measured.elapsed_s, "waited_s": measured.waited_s}
        )
        for case_id in pending:
            processes = [p for p in measured.results.get(case_id, []) if p.measurement]
            entries = [process_entry(p) for p in processes]
            entry = round_entry(entries, measured.probe_s, measured.waited_s)
            benches[case_id]["extra_info"].setdefault("confirmation", []).append(entry)
        apply_confirmations(baseline, run, comparison, settings)


def apply_confirmations(
    baseline: dict[str, Any], run: dict[str, Any], comparison: Comparison, settings: GateSettings
) -> None:
    """Decide each open suspect on the re-measurement rounds stored in the run, if any."""
    base_rows = {row.case.id: row for row in case_rows(baseline)}
    current_rows = {row.case.id: row for row in case_rows(run)}
    benches = {bench["param"]: bench for bench in run["benchmarks"]}
    base_benches = {bench["param"]: bench for bench in baseline["benchmarks"]}
    for index, suspect in enumerate(comparison.verdicts):
        if not is_suspect(suspect, settings):
            continue
        rounds = stored_rounds(benches[suspect.case_id]["extra_info"])
        if not rounds:
            continue  # never re-measured (e.g. gated with --no-compare, checked later)
        comparison.verdicts[index] = decide(
            suspect,
            base_rows[suspect.case_id].process_samples,
            current_rows[suspect.case_id].process_samples,
            rounds,
            settings,
            comparison.scale,
            *usual_witnesses(base_benches[suspect.case_id], bool(comparison.stack_changes)),
        )
