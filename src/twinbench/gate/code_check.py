"""Settle the gate's suspects against the baseline's own code, measured in one sitting.

The confirmation rounds measure this run's code again, but only now: a slow spell of the
machine that lasts through them (docs/gate.md) still reads as a regression against a
baseline measured in a calmer stretch, or as `unsure` when a witness saw it. So each case
the rounds left a `regression` or `unsure` is measured once more as an A/B run (gate/ab.py):
A the code the baseline measured, B this run's code, the pairs in the same moments of the
same machine, where a spell slows both. The same or faster there: ok (the machine was
slower, not the code); undecided: unsure; slower: the verdict stands, so a regression needs
the rounds and this reading to agree. Only possible when the software stack has not changed
(the old stack is not at hand: `twinbench ab` compares two environments) and the baseline
records one clean commit.

The rounds can only re-judge what the first look against the stored baseline suspected, and
on a noisy machine that look misses real slowdowns: a case slowed 25% can read faster than a
baseline measured in a slower stretch (docs/gate.md). So with ``--baseline-code-check=all``
every case is measured beside the baseline's code instead of the rounds, and that reading is
its verdict: the gate becomes an A/B run of the baseline's commit against this tree, at the
A/B command's cost and with its run-wide false-alarm rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from twinbench.core.status import Outcome
from twinbench.gate.ab import WORDS, ABOutcome
from twinbench.gate.compare import Comparison, Verdict
from twinbench.results.metadata import describe_stack_changes

# Measures the given cases with the baseline's code (A, the record given) and this run's (B)
# in one sitting; a string says why it could not.
CodeCheck = Callable[[list[str], dict[str, Any]], "ABOutcome | str"]

WHAT = "beside the baseline's code in one sitting"


def baseline_code(baseline: dict[str, Any]) -> dict[str, Any] | None:
    """The code the baseline measured, when its runs all measured the same."""
    return (baseline["twinbench"].get("settings") or {}).get("code")


def why_unchecked(baseline: dict[str, Any], comparison: Comparison) -> str:
    """Why the baseline's code cannot be measured again beside this run ("": it can)."""
    if comparison.stack_changes:
        changes = describe_stack_changes(comparison.stack_changes)
        return f"the stack changed ({changes}); `twinbench ab` compares two environments"
    code = baseline_code(baseline)
    if code is None:
        return (
            "the baseline records no single commit (measured outside a git checkout, an older"
            " run file, or runs of several commits pooled)"
        )
    if code.get("dirty"):
        return "the baseline was measured with uncommitted changes"
    return ""


# The verdicts a reading beside the baseline's code settles.
SETTLED_HERE = frozenset({Outcome.REGRESSION, Outcome.UNSURE})


def check_suspects(
    baseline: dict[str, Any], comparison: Comparison, check: CodeCheck | None
) -> None:
    """Measure every regression and unsure case beside the baseline's code; settle each on
    what that reads."""
    suspects = [
        v.case_id for v in comparison.verdicts if v.verdict in SETTLED_HERE and v.ratio is not None
    ]
    if not suspects or check is None:
        return
    reason = why_unchecked(baseline, comparison)
    measured = reason or check(suspects, baseline_code(baseline) or {})
    if isinstance(measured, str):
        comparison.code_check = {"cases": suspects, "unchecked": measured}
        _annotate(comparison, suspects, f"not measured {WHAT}: {measured}")
        return
    comparison.code_check = _stored(baseline, suspects, measured)
    _settle_all(comparison, measured.verdicts)


def check_every_case(baseline: dict[str, Any], comparison: Comparison, check: CodeCheck) -> bool:
    """Measure every case with a ratio beside the baseline's code; each reading becomes the
    case's verdict. False when nothing was measured: the confirmation rounds judge instead
    (when the check could not run, `comparison.code_check` says why)."""
    cases = [v.case_id for v in comparison.verdicts if v.ratio is not None]
    if not cases or why_unchecked(baseline, comparison):
        return False
    measured = check(cases, baseline_code(baseline) or {})
    if isinstance(measured, str):
        comparison.code_check = {"cases": cases, "every_case": True, "unchecked": measured}
        return False
    comparison.code_check = {**_stored(baseline, cases, measured), "every_case": True}
    _read_every(comparison, measured.verdicts)
    return True


def _stored(baseline: dict[str, Any], cases: list[str], measured: ABOutcome) -> dict[str, Any]:
    return {
        "cases": cases,
        "baseline_code": baseline_code(baseline),
        "look_sizes": list(measured.look_sizes),
        "rounds": measured.rounds,
        "verdicts": [v.as_dict() for v in measured.verdicts],
    }


def apply_stored_check(
    baseline: dict[str, Any], run: dict[str, Any], comparison: Comparison
) -> None:
    """Settle the suspects on the check the run stored (`twinbench check`), when it
    measured the code this baseline measured."""
    stored = (run["twinbench"].get("comparison") or {}).get("code_check") or {}
    if "verdicts" not in stored or why_unchecked(baseline, comparison):
        return
    if stored.get("baseline_code") != baseline_code(baseline):
        return
    comparison.code_check = stored
    readings = [_verdict_of(v) for v in stored["verdicts"]]
    if stored.get("every_case"):
        _read_every(comparison, readings)
    else:
        _settle_all(comparison, readings)


def _verdict_of(stored: dict[str, Any]) -> Verdict:
    interval = stored.get("interval")
    return Verdict(**{**stored, "interval": tuple(interval) if interval else None})


def _settle_all(comparison: Comparison, ab_verdicts: list[Verdict]) -> None:
    by_id = {v.case_id: v for v in ab_verdicts}
    comparison.verdicts = [
        settle(v, by_id[v.case_id]) if v.verdict in SETTLED_HERE and v.case_id in by_id else v
        for v in comparison.verdicts
    ]


def settle(suspect: Verdict, ab: Verdict) -> Verdict:
    """A regression or unsure case as the A/B reading of B (this run) against A (the
    baseline's code) settles it: same or faster clears it (ok), undecided makes it unsure,
    slower keeps the verdict the rounds reached, and so does a side that could not be
    measured. A reading can clear or doubt a case, never raise one: a regression needs the
    rounds and this reading to agree, since each alone sometimes reads unchanged code slower
    (docs/gate.md has the A/A runs behind this rule)."""
    word = WORDS.get(ab.verdict)
    if word is None:
        return _noted(suspect, f"the baseline's code could not be measured: {ab.note}")
    reading = f"{WHAT}: {word} {ab.ratio or 0:.2f}x{_interval(ab)}, {ab.note}"
    if ab.verdict == Outcome.REGRESSION:
        # Raises nothing by itself: a regression needs the rounds and this reading to agree.
        return _noted(suspect, reading)
    if ab.verdict == Outcome.UNSURE:
        return _noted(replace(suspect, verdict=ab.verdict), reading)
    cleared = f"{reading}: the machine was slower than when the baseline was measured, not the code"
    return _noted(replace(suspect, verdict=Outcome.OK), cleared)


def _read_every(comparison: Comparison, ab_verdicts: list[Verdict]) -> None:
    by_id = {v.case_id: v for v in ab_verdicts}
    comparison.verdicts = [
        read_beside(v, by_id[v.case_id]) if v.case_id in by_id else v for v in comparison.verdicts
    ]


def read_beside(first: Verdict, ab: Verdict) -> Verdict:
    """A case measured beside the baseline's code instead of the rounds: the A/B reading of
    B (this run's code) against A (the baseline's) is its verdict, with its figures; a
    slower reading is a confirmed regression. The first look against the stored baseline
    stays in the note. A side that could not be measured leaves the first look, a
    regression there `unsure`: no re-measurement confirmed it."""
    stored = f"against the stored baseline {first.ratio or 0:.2f}x"
    word = WORDS.get(ab.verdict)
    if word is None:
        verdict = Outcome.UNSURE if first.verdict == Outcome.REGRESSION else first.verdict
        note = f"{stored}; the baseline's code could not be measured: {ab.note}"
        return replace(first, verdict=verdict, note=note)
    confirmed = True if ab.verdict == Outcome.REGRESSION else None
    note = f"{WHAT}: {word}, {ab.note}; {stored}"
    return replace(ab, case_id=first.case_id, confirmed=confirmed, note=note)


def _annotate(comparison: Comparison, case_ids: list[str], note: str) -> None:
    comparison.verdicts = [
        _noted(v, note) if v.case_id in case_ids else v for v in comparison.verdicts
    ]


def _noted(verdict: Verdict, note: str) -> Verdict:
    return replace(verdict, note=f"{verdict.note}; {note}" if verdict.note else note)


def _interval(v: Verdict) -> str:
    return f" ({v.interval[0]:.2f}-{v.interval[1]:.2f}x)" if v.interval else ""


def code_check_lines(code_check: dict[str, Any]) -> list[str]:
    """Under the verdict table: which suspects were measured beside the baseline's code."""
    if not code_check:
        return []
    every = code_check.get("every_case", False)
    cases = f"{len(code_check['cases'])} {'case' if every else 'suspect'}(s)"
    if "unchecked" in code_check:
        fallback = "; the confirmation rounds judged them" if every else ""
        return [f"{cases} not measured {WHAT}: {code_check['unchecked']}{fallback}"]
    words = [WORDS.get(v["verdict"], v["verdict"]) for v in code_check["verdicts"]]
    tally = ", ".join(f"{words.count(w)} {w}" for w in dict.fromkeys(words))
    sizes = ", ".join(map(str, code_check["look_sizes"]))
    line = f"{cases} measured {WHAT} (A/B, looks of {sizes}): {tally}"
    if every:
        line += (
            "; each reading is the case's verdict: the levels and ratios above are this run's"
            " code (B) against the baseline's commit (A), measured in this sitting"
        )
    return [line]
