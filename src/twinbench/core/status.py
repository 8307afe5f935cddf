"""The words a case's measurement and the gate's verdicts end in, and which of them fail a run.

One module for both, so the plugin, the gate, the CLI and the nightly workflow's issue job
(standard library only) agree on what fails a night. StrEnum members are their strings, so
run files keep plain strings.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """How measuring one case ended, in the worker."""

    OK = "ok"
    SKIPPED = "skipped"
    OOM = "oom"
    ERROR = "error"
    # The parity proof found the pair computing different things: never timed.
    NOT_IDENTICAL = "not-identical"


class Outcome(StrEnum):
    """The gate's verdict on one case (DESIGN decision 6)."""

    OK = "ok"
    FASTER = "faster"
    REGRESSION = "regression"
    # Outputs moved away from the stored reference: a faster model computing something else.
    NUMERICS_CHANGED = "numerics-changed"
    # The evidence could neither confirm nor clear a suspect.
    UNSURE = "unsure"
    # The model pair failed its parity check, so it was never timed.
    NOT_IDENTICAL = "not-identical"
    INCOMPARABLE = "incomparable"
    NO_BASELINE = "no-baseline"
    MISSING = "missing"
    OOM = "oom"
    ERROR = "error"


# Statuses of a case that ended without samples and are the gate's verdict as they are.
VERDICT_AS_IS = frozenset({Outcome.OOM, Outcome.ERROR, Outcome.NOT_IDENTICAL})
# Outcomes that fail every run: the code is slower, or computes something else.
FAILS_RUN = frozenset({Outcome.REGRESSION, Outcome.NUMERICS_CHANGED, Outcome.NOT_IDENTICAL})
# Outcomes that fail a run under --strict-gate too: the gate could not judge the case.
FAILS_STRICT = FAILS_RUN | {
    Outcome.UNSURE,
    Outcome.INCOMPARABLE,
    Outcome.NO_BASELINE,
    Outcome.MISSING,
    Outcome.OOM,
    Outcome.ERROR,
}


def fails(outcome: str, strict: bool) -> bool:
    """Whether a verdict of `outcome` makes the run exit non-zero."""
    return outcome in (FAILS_STRICT if strict else FAILS_RUN)
