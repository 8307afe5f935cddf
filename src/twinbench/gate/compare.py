"""Compare a run with a baseline: one verdict per case (DESIGN decisions 4 to 6).

A case is a regression only when the slowdown is large enough (ratio of the medians of the
process levels at or above the threshold) *and* significant at the process level (a
permutation test over processes, see `stats`). Suspects are re-measured by the session and
decided in `confirm`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twinbench.core.status import VERDICT_AS_IS, Outcome, fails
from twinbench.gate.settings import GateSettings
from twinbench.gate.stats import RatioEstimate, compare_processes, typical_level
from twinbench.measure.probe import probe_seconds
from twinbench.results.metadata import (
    IDENTITY_FIELDS,
    STACK_FIELDS,
    describe_stack_changes,
    differences,
)
from twinbench.results.runfile import CaseRow, case_rows


@dataclass(frozen=True)
class Verdict:
    """The gate's decision on one case, with the figures behind it."""

    case_id: str
    verdict: str
    baseline_level_s: float | None = None
    current_level_s: float | None = None
    ratio: float | None = None
    p_value: float | None = None
    interval: tuple[float, float] | None = None
    # Smallest slowdown this comparison would catch at the measured noise (80% power).
    detectable: float | None = None
    # Ratio before dividing by the machine-speed drift (equal to ratio when not normalised).
    raw_ratio: float | None = None
    # None: not a suspect; True/False: the re-measurement agreed / did not.
    confirmed: bool | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for the run file."""
        return {k: v for k, v in self.__dict__.items() if v is not None and v != ""}


@dataclass
class Comparison:
    """All verdicts of one run against one baseline."""

    verdicts: list[Verdict] = field(default_factory=list)
    # Machine identity fields that differ from the baseline's: every case is incomparable.
    identity_changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    # Software-stack fields that differ (baseline, current): judged, and named everywhere.
    stack_changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    # --like-for-like: a stack change makes the cases incomparable too.
    like_for_like: bool = False
    # Machine-speed probe of the current run over the baseline's (>1: machine slower now).
    drift: float | None = None
    # What current times were divided by (the drift when normalising, else 1).
    scale: float = 1.0
    # One entry per re-measurement round: suspects, seconds measuring, seconds waiting.
    rounds: list[dict[str, Any]] = field(default_factory=list)
    # The cases read again beside the baseline's code, and those readings (code_check.py).
    code_check: dict[str, Any] = field(default_factory=dict)

    @property
    def read_beside_baseline_code(self) -> bool:
        """Every case's verdict is its reading beside the baseline's code, not the baseline's
        stored samples (--baseline-code-check=all, measured)."""
        return bool(self.code_check.get("every_case")) and "verdicts" in self.code_check

    def pending(self, is_suspect: Callable[[Verdict], bool]) -> list[Verdict]:
        """The verdicts that `is_suspect` says still need a re-measurement."""
        return [v for v in self.verdicts if is_suspect(v)]

    @property
    def refusal(self) -> str:
        """Why no case can be judged against this baseline ("" when they can)."""
        if self.identity_changes:
            return "machine identity differs: " + _describe_identity(self.identity_changes)
        if self.like_for_like and self.stack_changes:
            return "stack differs (--like-for-like): " + describe_stack_changes(self.stack_changes)
        return ""

    def failed(self, strict: bool) -> list[Verdict]:
        """Verdicts that make the run fail."""
        return [v for v in self.verdicts if fails(v.verdict, strict)]


def compare_runs(
    baseline: dict[str, Any] | None, current: dict[str, Any], settings: GateSettings
) -> Comparison:
    """Verdict per case of `current`; with no baseline every case is `no-baseline`."""
    comparison = Comparison(like_for_like=settings.like_for_like)
    base_rows: dict[str, CaseRow] = {}
    if baseline is not None:
        before, now = baseline["twinbench"], current["twinbench"]
        comparison.identity_changes = differences(
            before["identity"], now["identity"], IDENTITY_FIELDS
        )
        comparison.stack_changes = differences(before["stack"], now["stack"], STACK_FIELDS)
        base_rows = {row.case.id: row for row in case_rows(baseline)}
        comparison.drift = machine_drift(baseline, current)
    drift = comparison.drift
    comparison.scale = scale = drift if settings.normalise and drift else 1.0
    scales = device_scales(baseline, current, settings, scale)
    refusal = comparison.refusal
    for row in case_rows(current):
        base = base_rows.get(row.case.id)
        never_measured = base is None or base.median_s is None
        if row.median_s is None and row.status not in VERDICT_AS_IS and never_measured:
            continue  # skipped here and never measured on this machine: nothing to judge
        if refusal and row.status not in VERDICT_AS_IS and not _numerics_problem(row):
            comparison.verdicts.append(Verdict(row.case.id, Outcome.INCOMPARABLE, note=refusal))
        else:
            scale_of_device = scales.get(row.case.device, scale)
            comparison.verdicts.append(judge_case(base, row, settings, scale_of_device))
    return comparison


def _describe_identity(changes: dict[str, tuple[Any, Any]]) -> str:
    """ "cpu_model 'A' -> 'B'": what makes two machines different machines."""
    return ", ".join(f"{name} {old!r} -> {new!r}" for name, (old, new) in changes.items())


def machine_drift(
    baseline: dict[str, Any], current: dict[str, Any], device: str = "cpu"
) -> float | None:
    """How much slower `device`'s speed probe ran now than in the baseline."""
    before, now = probe_seconds(baseline, device), probe_seconds(current, device)
    return now / before if before and now else None


def device_scales(
    baseline: dict[str, Any] | None, current: dict[str, Any], settings: GateSettings, cpu: float
) -> dict[str, float]:
    """What each device's times are divided by: CUDA cases by the GPU probe's drift (1 when
    either run has none), never by the CPU probe's."""
    gpu = machine_drift(baseline, current, "cuda") if baseline is not None else None
    return {"cpu": cpu, "cuda": gpu if settings.normalise and gpu else 1.0}


def judge_case(
    base: CaseRow | None, current: CaseRow, settings: GateSettings, scale: float = 1.0
) -> Verdict:
    """Verdict for one case from its baseline row (None if absent) and current row."""
    case_id = current.case.id
    if current.status in VERDICT_AS_IS:
        return Verdict(case_id, current.status, note=current.reason or "")
    numerics = current.numerics or {}
    if numerics.get("status") == "unreadable-reference":
        return Verdict(case_id, Outcome.ERROR, note=numerics.get("error", "unreadable reference"))
    if numerics.get("status") == "changed":
        error = numerics.get("max_relative_error")
        return Verdict(
            case_id,
            Outcome.NUMERICS_CHANGED,
            current_level_s=current.median_s,
            note=f"outputs moved from the reference: max relative error {error:.2e}",
        )
    if current.median_s is None:  # skipped here
        if base is not None and base.median_s is not None:
            return Verdict(case_id, Outcome.MISSING, note=current.reason or "not measured")
        return Verdict(case_id, Outcome.NO_BASELINE, note=current.reason or "not measured")
    if base is None or base.median_s is None:
        return Verdict(case_id, Outcome.NO_BASELINE, current_level_s=current.median_s)
    return judge_samples(case_id, base.process_samples, current.process_samples, settings, scale)


def _numerics_problem(row: CaseRow) -> bool:
    """Whether the case's reference-output check failed (judged even without a baseline)."""
    return (row.numerics or {}).get("status") in ("changed", "unreadable-reference")


def judge_samples(
    case_id: str,
    baseline: tuple[tuple[float, ...], ...],
    current: tuple[tuple[float, ...], ...],
    settings: GateSettings,
    scale: float = 1.0,
) -> Verdict:
    """ok / faster / regression from per-process samples; current times are divided by scale."""
    current_level_s = typical_level(current)
    if scale != 1.0:
        current = tuple(tuple(s / scale for s in process) for process in current)
    estimate = compare_processes(baseline, current, confidence=1 - 2 * settings.alpha)
    levels = (typical_level(baseline), current_level_s)
    return judge_estimate(case_id, estimate, levels, settings, scale)


def judge_estimate(
    case_id: str,
    estimate: RatioEstimate,
    levels: tuple[float, float],
    settings: GateSettings,
    scale: float = 1.0,
) -> Verdict:
    """ok / faster / regression from an estimate; `levels`: baseline and current level."""
    threshold = settings.threshold_for(case_id)
    verdict, p_value = Outcome.OK, estimate.p_slower
    if estimate.ratio >= threshold and estimate.p_slower < settings.alpha:
        verdict = Outcome.REGRESSION
    elif estimate.ratio <= 1 / threshold and estimate.p_faster < settings.alpha:
        verdict, p_value = Outcome.FASTER, estimate.p_faster
    return Verdict(
        case_id,
        verdict,
        baseline_level_s=levels[0],
        current_level_s=levels[1],
        ratio=estimate.ratio,
        raw_ratio=estimate.ratio * scale,
        p_value=p_value,
        interval=(estimate.low, estimate.high) if math.isfinite(estimate.low) else None,
        detectable=estimate.minimum_detectable(settings.alpha, threshold),
    )
