"""The gate's thresholds: plain settings, so the pytest plugin can parse them without SciPy."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

# The values of --baseline-code-check (GateSettings.baseline_code_check): the cases the rounds
# leave, every case instead of the rounds (the default: docs/gate.md), none.
SUSPECTS, EVERY_CASE, CODE_CHECK_OFF = "suspects", "all", "off"
CODE_CHECK_SCOPES = (SUSPECTS, EVERY_CASE, CODE_CHECK_OFF)


@dataclass(frozen=True)
class GateSettings:
    """Thresholds of the gate."""

    # Minimum effect: current/baseline ratio (of median process levels) that counts as slower.
    threshold: float = 1.10
    # Per-case thresholds by glob on the case id, e.g. {"*-b1": 1.25}; the first match wins.
    case_thresholds: tuple[tuple[str, float], ...] = ()
    # One-sided significance level of the test.
    alpha: float = 0.01
    # Divide current times by the machine-speed drift (probe now / probe in the baseline).
    normalise: bool = False
    # Most re-measurement rounds per suspect; each look is tested at alpha / confirm_rounds.
    confirm_rounds: int = 3
    # Refuse (`incomparable`) a baseline whose software stack differs, instead of judging it.
    like_for_like: bool = False
    # Pool the baseline from the last N comparable runs of the history (window.py); 0: use
    # the saved baseline file.
    baseline_window: int = 0
    # Which cases are read again beside the baseline's own code (code_check.py), one of
    # CODE_CHECK_SCOPES.
    baseline_code_check: str = EVERY_CASE

    def threshold_for(self, case_id: str) -> float:
        """The threshold that applies to `case_id`."""
        for pattern, value in self.case_thresholds:
            if fnmatch.fnmatchcase(case_id, pattern):
                return value
        return self.threshold
