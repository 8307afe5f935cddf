"""The regression gate of one pytest run: compare, confirm suspects, record, report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twinbench.core.status import Outcome
from twinbench.gate.code_check import CodeCheck, check_every_case, check_suspects, code_check_lines
from twinbench.gate.compare import Comparison, GateSettings, Verdict, compare_runs
from twinbench.gate.confirm import ROUND_GAP_S, UNSURE_ADVICE
from twinbench.gate.rounds import Remeasure, confirm_by_rounds
from twinbench.gate.settings import EVERY_CASE
from twinbench.gate.window import window_baseline
from twinbench.gate.witness_notes import add_witness_notes
from twinbench.render.text import format_seconds, format_table
from twinbench.results.baselines import find_baseline, pooled_run_count
from twinbench.results.metadata import describe_stack_changes
from twinbench.results.storage import read_run


@dataclass
class GateOutcome:
    """What the gate decided, and against which baseline file (None: there was none)."""

    comparison: Comparison
    baseline: Path | None
    # Runs pooled into the baseline (0: no baseline).
    baseline_runs: int = 0
    # Lines about the baseline itself (a window's unreadable files), shown under the table.
    notes: list[str] = field(default_factory=list)


def run_gate(
    run: dict[str, Any],
    results_dir: Path,
    settings: GateSettings,
    remeasure: Remeasure,
    code_check: CodeCheck | None = None,
) -> GateOutcome:
    """Compare `run` with its machine's baseline; re-measure suspects round by round; measure
    the regressions and unsure cases they leave beside the baseline's code (`code_check`;
    None: do not). With ``baseline_code_check="all"``, every case is measured beside the
    baseline's code instead of the rounds, whenever that is possible (code_check.py).

    Raises RunFileError when the baseline exists but is unreadable. Each round's samples go
    into the run (``extra_info.confirmation``), the verdicts under ``twinbench.comparison``.
    """
    baseline, path, notes = choose_baseline(run, results_dir, settings)
    comparison = compare_runs(baseline, run, settings)
    if baseline is not None:
        every_case = settings.baseline_code_check == EVERY_CASE
        if not (every_case and code_check and check_every_case(baseline, comparison, code_check)):
            confirm_by_rounds(baseline, run, comparison, settings, remeasure)
            if not comparison.code_check:  # else: an every-case check said why it could not
                check_suspects(baseline, comparison, code_check)
    add_witness_notes(run, comparison, baseline)
    record_comparison(run, comparison, path, settings)
    pooled = pooled_run_count(baseline) if baseline else 0
    return GateOutcome(comparison, path, pooled, notes)


def choose_baseline(
    run: dict[str, Any], results_dir: Path, settings: GateSettings
) -> tuple[dict[str, Any] | None, Path | None, list[str]]:
    """The baseline to judge `run` by, where it came from, and notes about it.

    With a baseline window, the last N comparable runs of the history pooled; when the
    history holds none yet, the saved baseline file, as without a window.
    """
    notes: list[str] = []
    if settings.baseline_window > 0:
        window = window_baseline(results_dir, run, settings.baseline_window)
        notes += [f"baseline window: skipped unreadable {name}" for name in window.unreadable]
        if window.baseline is not None:
            return window.baseline, window.folder, notes
        notes.append(f"baseline window: no comparable run under {window.folder} yet")
    path = find_baseline(results_dir, run["twinbench"]["identity_id"])
    baseline = read_run(path) if path is not None else None
    return baseline, path, notes


def record_comparison(
    run: dict[str, Any], comparison: Comparison, baseline: Path | None, settings: GateSettings
) -> None:
    """Store the verdicts and the gate's settings in the run."""
    run["twinbench"]["comparison"] = {
        "baseline": str(baseline) if baseline else None,
        "settings": {
            "threshold": settings.threshold,
            "case_thresholds": [list(pair) for pair in settings.case_thresholds],
            "alpha": settings.alpha,
            "normalise": settings.normalise,
            "confirm_rounds": settings.confirm_rounds,
            "baseline_window": settings.baseline_window,
            "baseline_code_check": settings.baseline_code_check,
        },
        "drift": comparison.drift,
        "confirmation_rounds": comparison.rounds,
        "code_check": comparison.code_check,
        "identity_changes": {k: list(v) for k, v in comparison.identity_changes.items()},
        "stack_changes": {k: list(v) for k, v in comparison.stack_changes.items()},
        "verdicts": [v.as_dict() for v in comparison.verdicts],
    }


def verdict_lines(outcome: GateOutcome) -> list[str]:
    """Verdict table, then one actionable line per confirmed regression."""
    if outcome.baseline is None:
        lines = [
            "Regression gate: no baseline for this machine identity yet"
            " (`pytest benches --save-baseline` records one)"
        ]
        return lines + [
            f"{v.verdict.upper()} {v.case_id}: {v.note}"
            for v in outcome.comparison.verdicts
            if v.verdict not in (Outcome.NO_BASELINE,)
        ]
    source = f"baseline {outcome.baseline}"
    if outcome.baseline.is_dir():  # a baseline window: the history folder it pooled from
        source = (
            f"baseline pooled from the last {outcome.baseline_runs} run(s) in {outcome.baseline}"
        )
    drift = outcome.comparison.drift
    if drift is not None:
        source += f"; machine-speed probe {drift:.2f}x the baseline's"
    rows = [
        (
            v.case_id,
            v.verdict,
            format_seconds(v.baseline_level_s),
            format_seconds(v.current_level_s),
            _ratio_cell(v),
            _detectable_cell(v.detectable),
            v.note,
        )
        for v in outcome.comparison.verdicts
    ]
    headers = ("case", "verdict", "baseline level", "current level", "ratio", "detects >=", "note")
    lines = [f"Regression gate ({source})", *stack_change_lines(outcome.comparison), ""]
    lines.append(format_table(headers, rows))
    lines += confirmation_lines(outcome.comparison.rounds)
    lines += code_check_lines(outcome.comparison.code_check)
    beside = outcome.comparison.read_beside_baseline_code
    if not beside:  # else no verdict rests on the stored baseline's samples
        lines += baseline_warning(outcome.baseline_runs)
    lines += outcome.notes
    changes = outcome.comparison.stack_changes
    lines += [
        regression_line(v, changes, beside)
        for v in outcome.comparison.verdicts
        if v.verdict == Outcome.REGRESSION
    ]
    return lines + unsure_lines(outcome.comparison.verdicts)


def unsure_lines(verdicts: list[Verdict]) -> list[str]:
    """Each `unsure` verdict under the table, with what a person can do about it."""
    unsure = [v for v in verdicts if v.verdict == Outcome.UNSURE]
    if not unsure:
        return []
    lines = [f"UNSURE {v.case_id}: {v.note}" for v in unsure]
    return [*lines, f"what to do about {len(unsure)} unsure case(s): {UNSURE_ADVICE}"]


def stack_change_lines(comparison: Comparison) -> list[str]:
    """What changed since the baseline, named once above the verdict table."""
    if not comparison.stack_changes:
        return ["same software stack as the baseline"] if not comparison.identity_changes else []
    return ["changed since the baseline: " + describe_stack_changes(comparison.stack_changes)]


def confirmation_lines(rounds: list[dict[str, Any]]) -> list[str]:
    """What the re-measurement rounds cost, so the price of confirmation stays visible."""
    if not rounds:
        return []
    elapsed = sum(r["elapsed_s"] for r in rounds)
    waited = sum(r["waited_s"] or 0.0 for r in rounds)
    cases = ", ".join(str(r["cases"]) for r in rounds)
    line = f"confirmation: {len(rounds)} round(s) of {cases} suspect(s), {elapsed:.0f} s measuring"
    if waited >= 1:
        line += f", {waited:.0f} s waiting (rounds {ROUND_GAP_S:.0f} s apart, for a calm machine)"
    return [line]


# Runs a baseline should pool (README: the regression gate).
RECOMMENDED_BASELINE_RUNS = 3


def baseline_warning(runs: int) -> list[str]:
    """A baseline of fewer runs than recommended: say what that costs, and the remedy."""
    if not 0 < runs < RECOMMENDED_BASELINE_RUNS:
        return []
    return [
        f"note: the baseline pools {runs} run(s), so its processes saw this machine in only"
        f" {runs} stretch(es) of time, and a slow or fast spell then shifts every comparison."
        " Pool 3 runs (pytest benches --save-baseline=extend)."
    ]


def _detectable_cell(detectable: float | None) -> str:
    """Smallest detectable slowdown as a percentage; "-" when too few processes to say."""
    if detectable is None:
        return "-"
    return f"{detectable - 1:.0%}" if detectable < 10 else ">10x"


def _ratio_cell(v: Verdict) -> str:
    if v.ratio is None:
        return "-"
    if v.raw_ratio is not None and abs(v.raw_ratio - v.ratio) > 0.005:
        return f"{v.ratio:.2f}x (raw {v.raw_ratio:.2f}x)"
    return f"{v.ratio:.2f}x"


def regression_line(
    v: Verdict, stack_changes: dict[str, tuple[Any, Any]] | None = None, beside: bool = False
) -> str:
    """One line a person can act on: what slowed, by how much, how it was confirmed, what
    changed meanwhile. `beside`: the verdict is a reading beside the baseline's commit, both
    levels measured in this run."""
    low, high = v.interval or (float("nan"), float("nan"))
    since = (
        f"; since the baseline: {describe_stack_changes(stack_changes)}" if stack_changes else ""
    )
    how = "not re-measured"
    if v.confirmed:
        how = "measured beside the baseline's commit" if beside else "confirmed by re-measurement"
    return (
        f"REGRESSION {v.case_id}: {format_seconds(v.baseline_level_s)} -> "
        f"{format_seconds(v.current_level_s)}, {v.ratio or 0:.2f}x slower "
        f"(p={v.p_value or 0:.4f}, interval {low:.2f}-{high:.2f}x), {how}{since}"
    )
