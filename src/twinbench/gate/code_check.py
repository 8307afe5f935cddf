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
    comparison.code_check = {
        "cases": suspects,
        "baseline_code": baseline_code(baseline),
        "look_sizes": list(measured.look_sizes),
        "rounds": measured.rounds,
        "verdicts": [v.as_dict() for v in measured.verdicts],
    }
    _settle_all(comparison, measured.verdicts)


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
    _settle_all(comparison, [Verdict(**v) for v in stored["verdicts"]])


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
    cases = len(code_check["cases"])
    if "unchecked" in code_check:
        return [f"{cases} suspect(s) not measured {WHAT}: {code_check['unchecked']}"]
    words = [WORDS.get(v["verdict"], v["verdict"]) for v in code_check["verdicts"]]
    tally = ", ".join(f"{words.count(w)} {w}" for w in dict.fromkeys(words))
    sizes = ", ".join(map(str, code_check["look_sizes"]))
    return [f"{cases} suspect(s) measured {WHAT} (A/B, looks of {sizes}): {tally}"]
