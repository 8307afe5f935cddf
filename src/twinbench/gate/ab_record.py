"""An A/B outcome as lines for the terminal and as one run file holding both sides.

The run file is an ordinary run file of side B (``benchmarks``: what `compare`, `check` and
`show` read; verdicts under ``twinbench.comparison`` in the gate's words) plus the optional
``twinbench.ab`` section: both environments' versions, the order the sides ran in per case
and round, and side A's cases in the same layout as ``benchmarks`` (``a_benchmarks``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from twinbench.core.cases import Case
from twinbench.core.status import Outcome, Status
from twinbench.execute.case import merge
from twinbench.execute.environment import version_changes
from twinbench.execute.interleave import TOGETHER
from twinbench.gate.ab import UNSURE_ADVICE, WORDS, ABOutcome
from twinbench.gate.compare import Comparison, GateSettings, Verdict
from twinbench.gate.session_gate import record_comparison
from twinbench.render.text import format_seconds, format_table
from twinbench.results.runfile import benchmark_entry, build_run

# Where the comparison's baseline is, for readers of the run file.
BASELINE_NOTE = "environment A of this A/B run (twinbench.ab.a_benchmarks)"


def ab_lines(outcome: ABOutcome, environments: dict[str, dict[str, Any]]) -> list[str]:
    """The verdict table of B against A, then what changed and the unsure cases."""
    a, b = environments["a"], environments["b"]
    changes = ", ".join(
        f"{name} {old} -> {new}" for name, (old, new) in _changes(environments).items()
    )
    rows = [
        (
            v.case_id,
            WORDS.get(v.verdict, v.verdict),
            format_seconds(v.baseline_level_s),
            format_seconds(v.current_level_s),
            f"{v.ratio:.2f}x" if v.ratio is not None else "-",
            f"{v.interval[0]:.2f}-{v.interval[1]:.2f}x" if v.interval else "-",
            f"{v.p_value:.4f}" if v.p_value is not None else "-",
            f"{v.detectable - 1:.0%}" if v.detectable and v.detectable < 10 else "-",
            v.note,
        )
        for v in outcome.verdicts
        if v.verdict != Outcome.MISSING
    ]
    headers = ("case", "B vs A", "A", "B", "B/A", "interval", "p", "detects >=", "note")
    together = any(TOGETHER in order for orders in outcome.orders.values() for order in orders)
    how = "each pair measured together on its own CPUs" if together else "interleaved"
    lines = [
        f"A/B: B ({b.get('executable')}) against A ({a.get('executable')}), {how}"
        f"{f'; {outcome.rounds} extra round(s)' if outcome.rounds else ''}"
        f"{_alphas(outcome)}",
        f"differences: {changes or 'none in the recorded versions (A/A, or model code)'}",
        "",
        format_table(headers, rows),
        *_not_measured(outcome.verdicts),
    ]
    unsure = [v for v in outcome.verdicts if v.verdict == Outcome.UNSURE]
    if unsure:
        lines += [f"UNSURE {v.case_id}: {v.ratio or 0:.2f}x, {v.note}" for v in unsure]
        lines.append(f"what to do about {len(unsure)} unsure case(s): {UNSURE_ADVICE}")
    return lines


def _alphas(outcome: ABOutcome) -> str:
    """The significance of each look, the run-wide false-alarm rate it keeps, the plan."""
    if not outcome.look_alpha:
        return ""
    text = f"; each look tested at p < {outcome.look_alpha:.2g}"
    if outcome.cases_judged > 1 and outcome.case_alpha:
        rate = outcome.cases_judged * outcome.case_alpha
        text += f" (unchanged code reads any of the {outcome.cases_judged} cases slower"
        text += f" in at most {rate:.0%} of runs)"
    if len(outcome.look_sizes) > 1:
        text += f"; planned looks: {', '.join(map(str, outcome.look_sizes))} a case"
    return text


def _not_measured(verdicts: list[Verdict]) -> list[str]:
    """Cases a side skipped (CUDA without a GPU, an unsupported mode), folded by reason: on a
    laptop they outnumber the measured ones."""
    reasons = Counter(v.note or "no reason given" for v in verdicts if v.verdict == Outcome.MISSING)
    return [f"not measured: {count} case(s): {reason}" for reason, count in reasons.items()]


def _changes(environments: dict[str, dict[str, Any]]) -> dict[str, tuple[Any, Any]]:
    return version_changes(environments["a"], environments["b"])


def ab_run(
    outcome: ABOutcome,
    metadata: dict[str, Any],
    settings: dict[str, Any],
    environments: dict[str, dict[str, Any]],
    gate: GateSettings,
) -> dict[str, Any]:
    """One run file: side B as the run, side A and the A/B facts under ``twinbench.ab``."""
    cases = {case_id: Case.from_id(case_id) for case_id in outcome.results}
    b_runs = [merge(cases[cid], sides["b"]) for cid, sides in outcome.results.items()]
    run = build_run(b_runs, metadata, settings, {})
    a_runs = [merge(cases[cid], sides["a"]) for cid, sides in outcome.results.items()]
    run["twinbench"]["ab"] = {
        "environments": environments,
        "differences": {k: list(v) for k, v in _changes(environments).items()},
        "orders": outcome.orders,
        "rounds": outcome.rounds,
        "look_alpha": outcome.look_alpha,
        "look_sizes": list(outcome.look_sizes),
        "cases_judged": outcome.cases_judged,
        "case_alpha": outcome.case_alpha,
        "a_benchmarks": [benchmark_entry(r, r.case.id) for r in a_runs if r.status == Status.OK],
    }
    record_comparison(run, Comparison(verdicts=list(outcome.verdicts)), None, gate)
    run["twinbench"]["comparison"]["baseline"] = BASELINE_NOTE
    return run


def failed_verdicts(verdicts: list[Verdict], strict: bool) -> list[Verdict]:
    """The verdicts that make the A/B command exit 1 (slower; with strict, unsure too)."""
    return Comparison(verdicts=verdicts).failed(strict)
