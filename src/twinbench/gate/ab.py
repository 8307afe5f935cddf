"""Judge environment B against environment A from an interleaved A/B measurement.

The same statistics as the gate (stats.py: ratio of the medians of process levels, a
permutation test over processes, an interval and the smallest detectable effect), with A as
the baseline and B as the current side. A case reads faster or slower only when the ratio
passes the threshold and is significant; inside the threshold it is the same. A case beyond
the threshold but not significant is measured again in fresh interleaved processes (rounds),
the processes pooled. The looks share alpha (Bonferroni, `look_alpha`), so looking again
does not raise the false-alarm rate whatever the stopping rule. Still undecided after the
last round: unsure. No "two agreeing rounds" rule here: in an interleaved measurement a slow
spell hits both sides, so the pooled evidence is not fooled by it the way a stored baseline
is. Pairs measured together (`paired`) are judged as pairs instead (paired.py): their two
processes shared every moment, so the pair's ratio is the measurement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from twinbench.core.cases import Case
from twinbench.core.status import Outcome, Status
from twinbench.execute.case import CaseResult
from twinbench.execute.interleave import SIDES, Interleaved
from twinbench.gate.compare import GateSettings, Verdict, judge_estimate, judge_samples
from twinbench.gate.confirm import Processes
from twinbench.gate.paired import compare_pairs, smallest_pair_p_value
from twinbench.gate.stats import smallest_p_value, typical_level

# How the A/B command words the gate's outcomes: B against A.
WORDS: dict[str, str] = {
    Outcome.OK: "same",
    Outcome.FASTER: "faster",
    Outcome.REGRESSION: "slower",
    Outcome.UNSURE: "unsure",
}
UNSURE_ADVICE = (
    "rerun with more processes (--processes), more rounds (--confirm-rounds), or on a"
    " quieter machine; or accept that a difference this small is below what this machine"
    " can show"
)

# Measures the given cases once more, interleaved, in fresh processes of both sides.
MeasureAB = Callable[[list[Case]], Interleaved]


@dataclass
class ABOutcome:
    """Verdicts of B against A, and every process measured per case and side."""

    verdicts: list[Verdict]
    results: dict[str, dict[str, list[CaseResult]]]
    orders: dict[str, list[list[str]]] = field(default_factory=dict)
    rounds: int = 0
    # The significance level every look was tested at (look_alpha).
    look_alpha: float | None = None


def processes_of(results: list[CaseResult]) -> Processes:
    """The samples of each process that measured the case."""
    return tuple(tuple(r.measurement.samples) for r in results if r.measurement)


def look_alpha(processes: int, rounds: int, alpha: float, paired: bool = False) -> float:
    """The alpha of every look, for `processes` a side per look and `rounds` extra looks.

    Bonferroni over the looks that can decide: a look whose planned processes cannot let the
    permutation test reach the share (3 a side: no split is rarer than 1 in 20) never
    rejects, so it spends none of alpha. An even split over all four looks of the quick
    profile would test the three that can decide at alpha / 4; this tests them at alpha / 3.
    The plan is fixed before anything is measured, and a look never has more processes than
    planned, so the false-alarm rate stays within alpha whatever the stopping rule. `paired`:
    the sign-flip test of pairs, whose smallest p is coarser (1 / 2**pairs).
    """
    sizes = [processes * (look + 1) for look in range(rounds + 1)]

    def smallest(size: int) -> float:
        return smallest_pair_p_value(size) if paired else smallest_p_value(size, size)

    for looks in range(1, len(sizes)):  # the largest share that `looks` looks can spend
        share = alpha / looks
        if sum(smallest(size) < share for size in sizes) <= looks:
            return share
    return alpha / len(sizes)


def judge_ab(
    case_id: str,
    a: list[CaseResult],
    b: list[CaseResult],
    settings: GateSettings,
    last_look: bool,
    paired: bool = False,
) -> Verdict:
    """B against A at one look, at `settings.alpha`; `last_look`: undecided becomes unsure.

    `paired`: the i-th A and B results were measured together; pairs with a failed side drop.
    """
    if paired:
        a, b = _whole_pairs(a, b)
    a_processes, b_processes = processes_of(a), processes_of(b)
    if not a_processes or not b_processes:
        failed = next((r for r in [*a, *b] if r.status != Status.OK), None)
        if failed is not None and failed.status == Status.SKIPPED:
            return Verdict(case_id, Outcome.MISSING, note=failed.reason or "skipped")
        status = Outcome.OOM if failed and failed.status == Status.OOM else Outcome.ERROR
        return Verdict(case_id, status, note=(failed.reason if failed else None) or "no samples")
    if paired:
        estimate = compare_pairs(a_processes, b_processes, confidence=1 - 2 * settings.alpha)
        levels = (typical_level(a_processes), typical_level(b_processes))
        verdict = judge_estimate(case_id, estimate, levels, settings)
        note = f"{len(a_processes)} pairs measured together"
    else:
        verdict = judge_samples(case_id, a_processes, b_processes, settings)
        note = f"{len(a_processes)} A and {len(b_processes)} B processes"
    verdict = replace(verdict, note=note)
    if undecided(verdict, settings) and last_look:
        note = f"{note}, not significant at p < {settings.alpha:.2g}"
        return replace(verdict, verdict=Outcome.UNSURE, note=note)
    return verdict


def _whole_pairs(
    a: list[CaseResult], b: list[CaseResult]
) -> tuple[list[CaseResult], list[CaseResult]]:
    """The pairs whose both sides measured (else all, so judge_ab can report the failure)."""
    whole = [(x, y) for x, y in zip(a, b, strict=True) if x.measurement and y.measurement]
    if not whole:
        return a, b
    return [x for x, _ in whole], [y for _, y in whole]


def undecided(verdict: Verdict, settings: GateSettings) -> bool:
    """Beyond the threshold either way, but not significant: another round may decide."""
    threshold = settings.threshold_for(verdict.case_id)
    ratio = verdict.ratio
    return (
        verdict.verdict == Outcome.OK
        and ratio is not None
        and (ratio >= threshold or ratio <= 1 / threshold)
    )


def run_ab(
    cases: list[Case],
    measure: MeasureAB,
    settings: GateSettings,
    processes: int,
    paired: bool = False,
) -> ABOutcome:
    """Measure, judge, and re-measure undecided cases in up to `confirm_rounds` rounds.

    `processes`: how many a side each call of `measure` plans, for sharing alpha. `paired`:
    `measure` measures each A/B pair together, and pairs are judged as pairs.
    """
    alpha = look_alpha(processes, settings.confirm_rounds, settings.alpha, paired)
    looks = replace(settings, alpha=alpha)
    first = measure(cases)
    outcome = ABOutcome([], first.results, {k: [v] for k, v in first.orders.items()})
    outcome.look_alpha = looks.alpha
    by_id = {case.id: case for case in cases}
    last = settings.confirm_rounds == 0
    verdicts = {
        cid: judge_ab(cid, *_sides(outcome, cid), looks, last, paired) for cid in first.results
    }
    for round_index in range(settings.confirm_rounds):
        pending = [cid for cid, v in verdicts.items() if undecided(v, settings)]
        if not pending:
            break
        again = measure([by_id[cid] for cid in pending])
        outcome.rounds = round_index + 1
        last = outcome.rounds == settings.confirm_rounds
        for cid in pending:
            for side in SIDES:
                outcome.results[cid][side] += again.results.get(cid, {}).get(side, [])
            outcome.orders[cid].append(again.orders.get(cid, []))
            verdicts[cid] = judge_ab(cid, *_sides(outcome, cid), looks, last, paired)
    outcome.verdicts = list(verdicts.values())
    return outcome


def _sides(outcome: ABOutcome, case_id: str) -> tuple[list[CaseResult], list[CaseResult]]:
    sides = outcome.results[case_id]
    return sides["a"], sides["b"]
