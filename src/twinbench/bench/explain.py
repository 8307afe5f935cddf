"""Words under the verdict table of `check` and `compare`: why a slower case is still `ok`,
with its p-value, and what to do about an `incomparable` one."""

from __future__ import annotations

from twinbench.core.status import Outcome
from twinbench.gate.compare import Comparison, Verdict
from twinbench.gate.settings import GateSettings


def explanation_lines(comparison: Comparison, settings: GateSettings) -> list[str]:
    """One line per case that is slower but `ok`, then one for incomparable cases, if any."""
    lines = [
        why_ok(v, settings, comparison.read_beside_baseline_code)
        for v in comparison.verdicts
        if v.verdict == Outcome.OK and v.ratio is not None and v.ratio > 1
    ]
    lines += incomparable_lines(comparison)
    return ["", *lines] if lines else []


def incomparable_lines(comparison: Comparison) -> list[str]:
    """What to run instead when the baseline was measured somewhere else (pytest prints it too)."""
    incomparable = [v for v in comparison.verdicts if v.verdict == Outcome.INCOMPARABLE]
    if not incomparable:
        return []
    changed = {**comparison.identity_changes}
    if comparison.like_for_like:
        changed |= comparison.stack_changes
    fields = ", ".join(sorted(changed)) or "machine identity"
    return [
        f"incomparable ({len(incomparable)} case(s)): the baseline was measured with a "
        f"different {fields}. Judge against a run of the same machine and settings "
        "(twinbench check RUN --baseline FILE), or record a baseline for this one "
        "(pytest benches --save-baseline)"
    ]


def why_ok(v: Verdict, settings: GateSettings, beside: bool = False) -> str:
    """``ok mlp-...: 1.18x slower, p=0.21 (not significant at alpha 0.01); ...``. `beside`:
    the verdict is the case's A/B reading beside the baseline's code (code_check.py), whose
    own looks and alpha decided it."""
    assert v.ratio is not None
    if beside:
        reasons = ["the same as the baseline's own code measured beside it in one sitting (A/B)"]
        return _said(v, reasons)
    threshold = settings.threshold_for(v.case_id)
    reasons = []
    if v.ratio < threshold:
        reasons.append(f"below the {threshold:.2f}x threshold")
    p_value = f"p={v.p_value:.3g}" if v.p_value is not None else "p unknown"
    if v.p_value is None or v.p_value >= settings.alpha:
        reasons.append(f"not significant ({p_value}, alpha {settings.alpha:g})")
    else:
        reasons.append(f"significant ({p_value})")
    if v.confirmed is False:
        reasons.append("not confirmed by re-measurement")
    elif v.confirmed:  # confirmed, then cleared by gate/code_check.py
        reasons.append(
            "confirmed, then cleared: no slower than the baseline's own code measured beside "
            "it in one sitting"
        )
    return _said(v, reasons)


def _said(v: Verdict, reasons: list[str]) -> str:
    if v.detectable is not None:
        reasons.append(f"this noise hides slowdowns below {v.detectable:.2f}x")
    return f"ok {v.case_id}: {v.ratio:.2f}x slower but ok: {'; '.join(reasons)}"
