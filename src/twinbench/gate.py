"""The regression gate of one pytest run: compare, confirm suspects, record, report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twinbench.baselines import baseline_path, load_baseline
from twinbench.compare import (
    ERROR,
    NO_BASELINE,
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

# Re-measures cases in fresh worker processes: case ids -> per-process results of each.
Remeasure = Callable[[list[str]], dict[str, list[CaseResult]]]


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
    path = None
    if baseline is not None:
        path = baseline_path(results_dir, fingerprint_id)
        benches = {bench["param"]: bench for bench in run["benchmarks"]}
        suspects = [suspect.case_id for suspect in comparison.suspects()]
        for case_id, results in (remeasure(suspects) if suspects else {}).items():
            processes = [p for p in results if p.measurement is not None]
            benches[case_id]["extra_info"]["confirmation"] = [process_entry(p) for p in processes]
        apply_confirmations(baseline, run, comparison, settings)
    record_comparison(run, comparison, path, settings)
    return GateOutcome(comparison, path)


def apply_confirmations(
    baseline: dict[str, Any], run: dict[str, Any], comparison: Comparison, settings: GateSettings
) -> None:
    """Judge each suspect again on the re-measurement stored in the run, if there is one."""
    base_rows = {row.case.id: row for row in case_rows(baseline)}
    benches = {bench["param"]: bench for bench in run["benchmarks"]}
    for index, suspect in enumerate(comparison.verdicts):
        if suspect.verdict != REGRESSION or suspect.confirmed is not None:
            continue
        stored = benches[suspect.case_id]["extra_info"].get("confirmation")
        if stored is None:
            continue  # never re-measured (e.g. gated with --no-compare, checked later)
        samples = tuple(tuple(p["samples"]) for p in stored if p.get("samples"))
        if samples:
            base = base_rows[suspect.case_id].process_samples
            recheck = judge_samples(suspect.case_id, base, samples, settings, comparison.scale)
        else:
            recheck = Verdict(suspect.case_id, ERROR, note="re-measurement produced no samples")
        comparison.verdicts[index] = confirm(suspect, recheck)


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
        },
        "drift": comparison.drift,
        "fingerprint_changes": {k: list(v) for k, v in comparison.fingerprint_changes.items()},
        "verdicts": [v.as_dict() for v in comparison.verdicts],
    }


def verdict_lines(outcome: GateOutcome) -> list[str]:
    """Verdict table, then one actionable line per confirmed regression."""
    if outcome.baseline is None:
        lines = [
            "Regression gate: no baseline for this machine fingerprint yet"
            " (`pytest benches --save-baseline` records one)"
        ]
        return lines + [
            f"{v.verdict.upper()} {v.case_id}: {v.note}"
            for v in outcome.comparison.verdicts
            if v.verdict not in (NO_BASELINE,)
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
            _detectable_cell(v.detectable),
            v.note,
        )
        for v in outcome.comparison.verdicts
    ]
    headers = ("case", "verdict", "baseline", "current", "ratio", "detects >=", "note")
    lines = [f"Regression gate ({source})", "", format_table(headers, rows)]
    lines += [regression_line(v) for v in outcome.comparison.verdicts if v.verdict == REGRESSION]
    return lines


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


def regression_line(v: Verdict) -> str:
    """One line a person can act on."""
    low, high = v.interval or (float("nan"), float("nan"))
    return (
        f"REGRESSION {v.case_id}: {format_seconds(v.baseline_median_s)} -> "
        f"{format_seconds(v.current_median_s)}, {v.ratio or 0:.2f}x slower "
        f"(p={v.p_value or 0:.4f}, interval {low:.2f}-{high:.2f}x), "
        f"{'confirmed by re-measurement' if v.confirmed else 'not re-measured'}"
    )
