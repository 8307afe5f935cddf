"""Judge environment B against environment A from an interleaved A/B measurement.

The same statistics as the gate (stats.py: ratio of the medians of process levels, a
permutation test over processes, an interval and the smallest detectable effect), with A as
the baseline and B as the current side. A case reads faster or slower only when the ratio
passes the threshold and is significant. It reads the same when the ratio is inside the
threshold and a slowdown as large as the threshold is unlikely (`settled`); at the last look,
whenever the ratio is inside. Any other case is measured again in fresh interleaved processes
(rounds), the processes pooled. The cases share a run-wide false-alarm rate and each case's
looks its share (Bonferroni, `case_alpha` and `look_alpha`), so neither the number of cases
nor looking again raises the chance that unchanged code reads slower anywhere, whatever the
stopping rule. Still undecided after the last round: unsure. No "two agreeing rounds" rule
here: in an interleaved measurement a slow spell hits both sides, so the pooled evidence is
not fooled by it the way a stored baseline is. Pairs measured together (`paired`, CPU
cases) are judged as pairs instead (paired.py): their two processes shared every moment, so
the pair's ratio is the measurement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from twinbench.core.cases import Case
from twinbench.core.status import Outcome, Status
from twinbench.execute.case import CaseResult
from twinbench.execute.interleave import SIDES, Interleaved, measured_together
from twinbench.gate.compare import GateSettings, Verdict, judge_estimate
from twinbench.gate.confirm import Processes
from twinbench.gate.paired import compare_pairs, smallest_pair_p_value
from twinbench.gate.stats import (
    RatioEstimate,
    compare_processes,
    smallest_p_value,
    typical_level,
)

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

# A look calls a case the same before its last look only when the one-sided bound of the
# ratio at this confidence lies below the threshold. 80%: the power the detectable effect is
# quoted at. Without it, a look that cannot yet decide `slower` (the first look of 6 pairs)
# still ended a slowed case whose few pairs happened to read inside the threshold. Slower
# only: a speed-up missed costs the user nothing, and each case kept open costs a round.
SETTLED_CONFIDENCE = 0.8

# An A/B run of unchanged code reads any case slower at most this often. A run judges many
# cases at once, and every `slower` fails it: tested at the gate's per-case alpha of 0.01, a
# run of the quick profile's 34 cases would read at least one unchanged case slower in
# 1 - 0.99**34 = 29% of runs. 5%: a slowdown whose pairs all read slower still decides on
# the second look of the quick profile's plan (11 pairs: p = 1/2048, below 0.05 / 34 / 3).
RUN_ALPHA = 0.05

# Measures the given cases once more, interleaved, in this many fresh processes a side.
MeasureAB = Callable[[list[Case], int], Interleaved]

# The most a round may add beyond the first look's size while looking for a step with which
# the next look can decide: 64 more pairs already reach p below 1e-19.
MAX_STEP = 64


@dataclass
class ABOutcome:
    """Verdicts of B against A, and every process measured per case and side."""

    verdicts: list[Verdict]
    results: dict[str, dict[str, list[CaseResult]]]
    orders: dict[str, list[list[str]]] = field(default_factory=dict)
    rounds: int = 0
    # The significance level every look was tested at (look_alpha).
    look_alpha: float | None = None
    # The pairs (or processes a side) a case had planned at each look (look_sizes).
    look_sizes: tuple[int, ...] = ()
    # How many cases shared the run-wide false-alarm rate, and each one's share (case_alpha).
    cases_judged: int = 0
    case_alpha: float | None = None


def processes_of(results: list[CaseResult]) -> Processes:
    """The samples of each process that measured the case."""
    return tuple(tuple(r.measurement.samples) for r in results if r.measurement)


def case_alpha(alpha: float, cases: int) -> float:
    """Each case's share of the false-alarm rate when `cases` are judged in one run.

    The gate's `alpha`, or less, so that the cases between them spend at most RUN_ALPHA
    (Bonferroni: it holds whatever the cases' dependence, and a case measured alone keeps the
    gate's alpha).
    """
    return min(alpha, RUN_ALPHA / max(cases, 1))


def look_alpha(sizes: Sequence[int], alpha: float, paired: bool = False) -> float:
    """The alpha of every look, for a case's pairs (or processes a side) at each look (`sizes`).

    Bonferroni over the looks that can decide: a look whose planned processes cannot let the
    permutation test reach the share (3 a side: no split is rarer than 1 in 20) never
    rejects, so it spends none of alpha. An even split over all four looks of the quick
    profile would test the three that can decide at alpha / 4; this tests them at alpha / 3.
    The plan is fixed before anything is judged, and a look never has more processes than
    planned, so the false-alarm rate stays within alpha whatever the stopping rule. `paired`:
    the sign-flip test of pairs, whose smallest p is coarser (1 / 2**pairs).
    """
    for looks in range(1, len(sizes)):  # the largest share that `looks` looks can spend
        share = alpha / looks
        if sum(_smallest_p(size, paired) < share for size in sizes) <= looks:
            return share
    return alpha / len(sizes)


def look_sizes(first: int, rounds: int, alpha: float, paired: bool = False) -> tuple[int, ...]:
    """How many pairs (or processes a side) a case has at each look: `first`, then each round
    adds as many, or more where the next look could not decide with that many.

    A small first look settles the unchanged cases cheaply (an A/A run ends there), but a
    slowdown needs enough pairs for the test's smallest p to pass the look's share of alpha:
    a sign-flip test of n pairs gives no p below 1 / 2**n. So the step grows until the
    second look can decide at the alpha that the plan itself leaves each look.
    """
    if first < 1:
        raise ValueError(f"a look needs at least one pair or process, got {first}")
    for step in range(first, first + MAX_STEP):
        sizes = tuple(first + step * look for look in range(rounds + 1))
        if rounds == 0 or _smallest_p(sizes[1], paired) < look_alpha(sizes, alpha, paired):
            return sizes
    return sizes


def _smallest_p(size: int, paired: bool) -> float:
    return smallest_pair_p_value(size) if paired else smallest_p_value(size, size)


@dataclass(frozen=True)
class Look:
    """One case judged at one look, and whether another round may still change it."""

    verdict: Verdict
    open: bool


def judge_ab(
    case_id: str,
    a: list[CaseResult],
    b: list[CaseResult],
    settings: GateSettings,
    last_look: bool,
    paired: bool = False,
) -> Look:
    """B against A at one look, at `settings.alpha`; `last_look`: undecided becomes unsure.

    `paired`: the i-th A and B results were measured together; pairs with a failed side drop.
    """
    if paired:
        a, b = _whole_pairs(a, b)
    a_processes, b_processes = processes_of(a), processes_of(b)
    if not a_processes or not b_processes:
        return Look(_unmeasured(case_id, [*a, *b]), open=False)
    confidence = 1 - 2 * settings.alpha
    if paired:
        estimate = compare_pairs(a_processes, b_processes, confidence)
        note = f"{len(a_processes)} pairs measured together"
    else:
        estimate = compare_processes(a_processes, b_processes, confidence)
        note = f"{len(a_processes)} A and {len(b_processes)} B processes"
    levels = (typical_level(a_processes), typical_level(b_processes))
    verdict = replace(judge_estimate(case_id, estimate, levels, settings), note=note)
    if undecided(verdict, settings) and last_look:
        note = f"{note}, not significant at p < {settings.alpha:.2g}"
        return Look(replace(verdict, verdict=Outcome.UNSURE, note=note), open=False)
    still_open = undecided(verdict, settings) or not settled(verdict, estimate, settings)
    return Look(verdict, open=still_open and not last_look)


def settled(verdict: Verdict, estimate: RatioEstimate, settings: GateSettings) -> bool:
    """Whether a verdict other than `same` was reached, or a `same` that more pairs or
    processes are unlikely to turn into `slower` (SETTLED_CONFIDENCE)."""
    if verdict.verdict != Outcome.OK:
        return True
    threshold = settings.threshold_for(verdict.case_id)
    return estimate.upper_bound(SETTLED_CONFIDENCE) < threshold


def _unmeasured(case_id: str, results: list[CaseResult]) -> Verdict:
    """The verdict of a case that one side could not measure at all: why not."""
    failed = next((r for r in results if r.status != Status.OK), None)
    if failed is not None and failed.status == Status.SKIPPED:
        return Verdict(case_id, Outcome.MISSING, note=failed.reason or "skipped")
    status = Outcome.OOM if failed and failed.status == Status.OOM else Outcome.ERROR
    return Verdict(case_id, status, note=(failed.reason if failed else None) or "no samples")


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
    first_look: int,
    paired: bool = False,
) -> ABOutcome:
    """Measure, judge, and re-measure undecided cases in up to `confirm_rounds` rounds.

    `first_look`: the pairs (or processes a side) of the first look; the rounds add what
    `look_sizes` plans. The cases that both sides measured on the first look share RUN_ALPHA
    (`case_alpha`): which cases a side skips depends on the machine, not on the timings, so
    the plan is fixed before any case is judged. `paired`:
    `measure` measures each A/B pair of a CPU case together; such pairs are judged as pairs,
    and the cases it alternated (CUDA) side against side, each at its own look alpha.
    """
    first = measure(cases, first_look)
    outcome = ABOutcome([], first.results, {k: [v] for k, v in first.orders.items()})
    outcome.cases_judged = sum(_both_sides_measured(sides) for sides in first.results.values())
    outcome.case_alpha = case_alpha(settings.alpha, outcome.cases_judged)
    # Planned for the pairs when there are any; alternated cases (CUDA) follow the same plan.
    sizes = look_sizes(first_look, settings.confirm_rounds, outcome.case_alpha, paired)
    alphas = {
        together: look_alpha(sizes, outcome.case_alpha, together) for together in {False, paired}
    }
    outcome.look_alpha, outcome.look_sizes = alphas[paired], sizes
    by_id = {case.id: case for case in cases}

    def judge(case_id: str, last: bool) -> Look:
        as_pairs = paired and measured_together(outcome.orders[case_id])
        looks = replace(settings, alpha=alphas[as_pairs])
        look = judge_ab(case_id, *_sides(outcome, case_id), looks, last, as_pairs)
        if paired and not as_pairs and look.verdict.ratio is not None:
            note = f"{look.verdict.note}, alternated (one GPU), each look at p < {looks.alpha:.2g}"
            look = replace(look, verdict=replace(look.verdict, note=note))
        return look

    last = settings.confirm_rounds == 0
    judged = {cid: judge(cid, last) for cid in first.results}
    for round_index in range(settings.confirm_rounds):
        pending = [cid for cid, look in judged.items() if look.open]
        if not pending:
            break
        added = sizes[round_index + 1] - sizes[round_index]
        again = measure([by_id[cid] for cid in pending], added)
        outcome.rounds = round_index + 1
        last = outcome.rounds == settings.confirm_rounds
        for cid in pending:
            for side in SIDES:
                outcome.results[cid][side] += again.results.get(cid, {}).get(side, [])
            outcome.orders[cid].append(again.orders.get(cid, []))
            judged[cid] = judge(cid, last)
    outcome.verdicts = [look.verdict for look in judged.values()]
    return outcome


def _both_sides_measured(sides: dict[str, list[CaseResult]]) -> bool:
    return all(processes_of(sides[side]) for side in SIDES)


def _sides(outcome: ABOutcome, case_id: str) -> tuple[list[CaseResult], list[CaseResult]]:
    sides = outcome.results[case_id]
    return sides["a"], sides["b"]
