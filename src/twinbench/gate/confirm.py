"""Sequential confirmation: suspects are re-measured in rounds until the evidence decides.

Why rounds, and why pooled. On a shared machine the noise comes in phases lasting seconds
(a process, or several back to back, running slower; docs/measurements.md), so the
processes of one run are not independent witnesses and one run alone cannot tell a 25%
slowdown from an unlucky phase (see stats.py and the regression-gate issue). Each round
measures the suspects again in fresh worker processes, later in time, after a fresh warm-up.
A suspect becomes a confirmed regression only when

- two rounds on their own are slower by at least the threshold, the latest among them (two
  re-measurements agree, so one slow phase spanning the run and the first round is not
  enough: the false confirmation this prevents is in docs/measurements.md),
- all current processes pooled (run and rounds) are slower by at least the threshold, and
- the pooled slowdown is significant at alpha / rounds (Bonferroni over the looks, so
  looking after every round does not raise the false-alarm rate above alpha).

A suspect is decided without being confirmed as soon as the pooled ratio falls below the
threshold, once the rounds left cannot bring two agreeing ones, or when the last round still
leaves it not significant. It is then cleared (`ok`) when the latest round read it below the
threshold, and `unsure` when the latest round still read it slower (the evidence is not enough
either way: on a noisy host every round read some unchanged cases 1.13-1.37x slower, which the
gate used to call `ok` like a real 15-25% slowdown), when no round could measure it, or when a
confirmation rested on a round measured under witnessed interference (interference.py).
A suspect is any case whose ratio reaches the threshold, significant or not: the rounds, not
the first run, decide. With ``--confirm-rounds 1`` one agreeing round has to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from twinbench.core.status import Outcome
from twinbench.gate.compare import GateSettings, Verdict, judge_samples
from twinbench.gate.interference import ProcessWitness, interference
from twinbench.gate.stats import smallest_p_value
from twinbench.measure.witness import process_summary

Processes = tuple[tuple[float, ...], ...]

# Rounds that must each read slower by the threshold before a suspect is confirmed.
AGREEING_ROUNDS = 2
# Least seconds from the end of one round to the start of the next. The host's slow phases
# last seconds to minutes; rounds back to back (a few seconds each for a handful of
# suspects) could all fall in the phase that raised the alarm.
ROUND_GAP_S = 20.0


@dataclass(frozen=True)
class Round:
    """One re-measurement of a suspect, in fresh processes."""

    processes: Processes
    # Machine-speed probe just before the round, and how long the round waited for a calm
    # machine (seconds); None when unknown (no probe could be taken, or a migrated round).
    probe_s: float | None = None
    waited_s: float | None = None
    # Per process, its witnesses of interference (medians over samples, and the worker's
    # matrix-product peak as ``peak_flops``); () when not recorded.
    witnesses: tuple[ProcessWitness, ...] = ()


# What a person can do about an `unsure` verdict (listed under the verdict table).
UNSURE_ADVICE = (
    "rerun it; pool more runs into the baseline (--save-baseline=extend, or"
    " --baseline-window N); or raise this case's threshold (--case-threshold)"
)


def round_entry(
    processes: list[dict[str, Any]], probe_s: float | None, waited_s: float | None
) -> dict[str, Any]:
    """A round as the run file stores it; `processes` are run-file process entries."""
    return {"probe_s": probe_s, "waited_s": waited_s, "processes": processes}


def is_suspect(verdict: Verdict, settings: GateSettings) -> bool:
    """Slower by at least the threshold and not yet decided by a re-measurement."""
    return (
        verdict.verdict in (Outcome.OK, Outcome.REGRESSION)
        and verdict.confirmed is None
        and verdict.ratio is not None
        and verdict.ratio >= settings.threshold_for(verdict.case_id)
    )


def decide(
    suspect: Verdict,
    baseline: Processes,
    current: Processes,
    rounds: Sequence[Round],
    settings: GateSettings,
    scale: float = 1.0,
    usual_cpu_per_wall: float | None = None,
    usual_peak_flops: float | None = None,
) -> Verdict:
    """The suspect's verdict after `rounds`: confirmed, cleared, or (confirmed None) open.

    `usual_cpu_per_wall`, `usual_peak_flops`: the case's CPU-over-wall share and its workers'
    matrix-product peak in its baseline processes, which a round's own are held against
    (interference.py); None: not recorded, or not comparable.
    """
    case_id = suspect.case_id
    measured = [r for r in rounds if r.processes]
    if not measured:
        return replace(
            suspect, verdict=Outcome.UNSURE, confirmed=False, note="re-measurement failed"
        )
    threshold = settings.threshold_for(case_id)
    ratios = [
        judge_samples(case_id, baseline, r.processes, settings, scale).ratio or 0.0
        for r in measured
    ]
    agreeing = sum(ratio >= threshold for ratio in ratios)
    needed = min(AGREEING_ROUNDS, settings.confirm_rounds)
    rounds_left = settings.confirm_rounds - len(measured)
    pooled_processes = current + tuple(p for r in measured for p in r.processes)
    look = replace(settings, alpha=settings.alpha / max(1, settings.confirm_rounds))
    pooled = judge_samples(case_id, baseline, pooled_processes, look, scale)
    note = (
        f"{agreeing} of {len(measured)} re-measurement round(s) agree"
        f" ({', '.join(f'{ratio:.2f}x' for ratio in ratios)}),"
        f" pooled {pooled.ratio:.2f}x over {len(pooled_processes)} processes"
    )
    if pooled.verdict == Outcome.REGRESSION and ratios[-1] >= threshold and agreeing >= needed:
        seen = _witnessed(measured, ratios, threshold, usual_cpu_per_wall, usual_peak_flops)
        if seen:
            note += f"; not judged: {seen} while agreeing rounds measured"
            return replace(pooled, verdict=Outcome.UNSURE, confirmed=False, note=note)
        return replace(pooled, confirmed=True, note=note)
    decided = (pooled.ratio or 0) < threshold or agreeing + rounds_left < needed or rounds_left <= 0
    if decided:
        floor = smallest_p_value(len(baseline), len(pooled_processes))
        if agreeing >= needed and floor >= look.alpha:
            # Say why a slowdown every round agreed on stays `ok`: too few processes.
            note += (
                f"; {len(baseline)} baseline process(es) cannot show significance"
                f" (p >= {floor:.2g}; pool more runs into the baseline)"
            )
        if ratios[-1] >= threshold and (pooled.ratio or 0) >= threshold:
            return replace(suspect, verdict=Outcome.UNSURE, confirmed=False, note=note)
        return replace(suspect, verdict=Outcome.OK, confirmed=False, note=f"not confirmed, {note}")
    return replace(suspect, note=note)


def _witnessed(
    rounds: Sequence[Round],
    ratios: Sequence[float],
    threshold: float,
    usual_cpu_per_wall: float | None,
    usual_peak_flops: float | None = None,
) -> str | None:
    """The interference witnessed in an agreeing round, in words; None when none was."""
    for measured, ratio in zip(rounds, ratios, strict=True):
        agreeing = ratio >= threshold
        usual = (usual_cpu_per_wall, usual_peak_flops)
        seen = interference(measured.witnesses, *usual) if agreeing else None
        if seen:
            return seen
    return None


def stored_rounds(extra_info: dict[str, Any]) -> list[Round]:
    """The rounds stored in a benchmark's extra_info (older layouts: see results.migrations)."""
    stored = extra_info.get("confirmation") or []
    return [
        Round(
            processes=tuple(tuple(p["samples"]) for p in entry["processes"] if p.get("samples")),
            witnesses=tuple(process_witness(p) for p in entry["processes"] if p.get("samples")),
            probe_s=entry.get("probe_s"),
            waited_s=entry.get("waited_s"),
        )
        for entry in stored
    ]


def process_witness(process: dict[str, Any]) -> dict[str, float]:
    """A stored process' witnesses: the medians over its samples, and its worker's peak."""
    summary = process_summary(process.get("witness"))
    if process.get("peak_flops"):
        summary["peak_flops"] = process["peak_flops"]
    return summary
