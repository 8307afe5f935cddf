"""The regression gate of one pytest run: compare, confirm suspects, record, report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twinbench.baselines import baseline_path, load_baseline
from twinbench.compare import (
    ERROR,
    REGRESSION,
    Comparison,
    GateSettings,
    Verdict,
    compare_runs,
    confirm,
    judge_samples,
)
from twinbench.execution import CaseResult
from twinbench.report import format_seconds, format_table
from twinbench.runfile import case_rows, process_entry

# Re-measures one case in fresh worker processes: case id -> per-process results.
Remeasure = Callable[[str], list[CaseResult]]


@dataclass
class GateOutcome:
    """What the gate decided, and against which baseline file (None: there was none)."""

    comparison: Comparison
    baseline: Path | None


def run_gate(
    run: dict[str, Any], results_dir: Path, settings: GateSettings, remeasure: Remeasure
) -> GateOutcome:
    """Compare `run` with its fingerprint's baseline and re-measure every suspect.

    Raises RunFileError when the baseline exists but is unreadable. Confirmation samples go
    into the run (``extra_info.confirmation``), the verdicts under ``twinbench.comparison``.
    """
    fingerprint_id = run["twinbench"]["fingerprint_id"]
    baseline = load_baseline(results_dir, fingerprint_id)
    comparison = compare_runs(baseline, run, settings)
    if baseline is not None:
        base_rows = {row.case.id: row for row in case_rows(baseline)}
        benches = {bench["param"]: bench for bench in run["benchmarks"]}
        for index, suspect in enumerate(comparison.verdicts):
            if suspect.verdict != REGRESSION:
                continue
            processes = [p for p in remeasure(suspect.case_id) if p.measurement is not None]
            extra = benches[suspect.case_id]["extra_info"]
            extra["confirmation"] = [process_entry(p) for p in processes]
            recheck = _recheck(
                base_rows[suspect.case_id].process_samples, suspect, processes, settings
            )
            comparison.verdicts[index] = confirm(suspect, recheck)
    path = baseline_path(results_dir, fingerprint_id) if baseline is not None else None
    run["twinbench"]["comparison"] = {
        "baseline": str(path) if path else None,
        "settings": {
            "threshold": settings.threshold,
            "case_thresholds": [list(pair) for pair in settings.case_thresholds],
            "alpha": settings.alpha,
            "normalise": settings.normalise,
        },
        "drift": comparison.drift,
        "fingerprint_changes": {k: list(v) for k, v in comparison.fingerprint_changes.items()},
        "verdicts": [v.as_dict() for v in comparison.verdicts],
    }
    return GateOutcome(comparison, path)


def _recheck(
    baseline: tuple[tuple[float, ...], ...],
    suspect: Verdict,
    processes: list[CaseResult],
    settings: GateSettings,
) -> Verdict:
    """The verdict of the re-measurement alone against the same baseline."""
    samples = tuple(tuple(p.measurement.samples) for p in processes if p.measurement)
    if not samples:
        return Verdict(suspect.case_id, ERROR, note="re-measurement produced no samples")
    return judge_samples(suspect.case_id, baseline, samples, settings)


def verdict_lines(outcome: GateOutcome) -> list[str]:
    """Verdict table, then one actionable line per confirmed regression."""
    if outcome.baseline is None:
        return [
            "Regression gate: no baseline for this machine fingerprint yet"
            " (`pytest benches --save-baseline` records one)"
        ]
    source = f"baseline {outcome.baseline}"
    drift = outcome.comparison.drift
    if drift is not None:
        source += f"; machine-speed probe {drift:.2f}x the baseline's"
    rows = [
        (
            v.case_id,
            v.verdict,
            format_seconds(v.baseline_median_s),
            format_seconds(v.current_median_s),
            _ratio_cell(v),
            f"{v.detectable - 1:.0%}" if v.detectable else "-",
            v.note,
        )
        for v in outcome.comparison.verdicts
    ]
    headers = ("case", "verdict", "baseline", "current", "ratio", "detects >=", "note")
    lines = [f"Regression gate ({source})", "", format_table(headers, rows)]
    lines += [regression_line(v) for v in outcome.comparison.verdicts if v.verdict == REGRESSION]
    return lines


def _ratio_cell(v: Verdict) -> str:
    if v.ratio is None:
        return "-"
    if v.raw_ratio is not None and abs(v.raw_ratio - v.ratio) > 0.005:
        return f"{v.ratio:.2f}x (raw {v.raw_ratio:.2f}x)"
    return f"{v.ratio:.2f}x"


def regression_line(v: Verdict) -> str:
    """One line a person can act on."""
    low, high = v.interval or (float("nan"), float("nan"))
    return (
        f"REGRESSION {v.case_id}: {format_seconds(v.baseline_median_s)} -> "
        f"{format_seconds(v.current_median_s)}, {v.ratio or 0:.2f}x slower "
        f"(p={v.p_value or 0:.4f}, interval {low:.2f}-{high:.2f}x), "
        f"{'confirmed by re-measurement' if v.confirmed else 'not re-measured'}"
    )
