"""What a reader needs first: one line of counts, then only the cases that need attention.

Read from the run-file data alone (the verdicts the gate stored under
``twinbench.comparison``), so the pytest summary, `twinbench show` and the HTML report lead
with the same words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from twinbench.core.status import Outcome, Status
from twinbench.results.runfile import CaseRow

# Verdicts a person should look at, worst first; ok, faster and no-baseline need no action.
ATTENTION = (
    Outcome.REGRESSION,
    Outcome.NUMERICS_CHANGED,
    Outcome.NOT_IDENTICAL,
    Outcome.UNSURE,
    Outcome.MISSING,
    Outcome.INCOMPARABLE,
    Outcome.OOM,
    Outcome.ERROR,
)
# The headline always names these three, even at zero: "0 regressions" is the news.
ALWAYS_COUNTED = (Outcome.REGRESSION, Outcome.NUMERICS_CHANGED, Outcome.OK)


def headline(run: dict[str, Any], rows: Sequence[CaseRow]) -> str:
    """``twinbench: 1 regression, 0 numerics changed, 5 ok, 2 no-baseline; 34 skipped``."""
    verdicts = _verdicts(run)
    skipped = sum(row.status == Status.SKIPPED for row in rows)
    tail = f"; {skipped} skipped" if skipped else ""
    if verdicts is None:
        counts = Counter(str(row.status) for row in rows if row.status != Status.SKIPPED)
        measured = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        return f"twinbench: {measured or 'nothing measured'}{tail} (not compared with a baseline)"
    counts = Counter(v["verdict"] for v in verdicts)
    parts = [_count(counts.pop(outcome, 0), outcome) for outcome in ALWAYS_COUNTED]
    parts += [_count(n, outcome) for outcome, n in sorted(counts.items())]
    return f"twinbench: {', '.join(parts)}{tail}"


def _count(n: int, outcome: str) -> str:
    if outcome == Outcome.REGRESSION and n != 1:
        return f"{n} regressions"
    if outcome == Outcome.NUMERICS_CHANGED:
        return f"{n} numerics changed"
    return f"{n} {outcome}"


def attention_lines(run: dict[str, Any]) -> list[str]:
    """One line per case that needs a person, worst verdict first (nothing when none does)."""
    verdicts = [v for v in _verdicts(run) or [] if v["verdict"] in ATTENTION]
    verdicts.sort(key=lambda v: ATTENTION.index(v["verdict"]))
    if not verdicts:
        return []
    lines = ["needs attention:"]
    for v in verdicts:
        ratio = f" {v['ratio']:.2f}x" if v.get("ratio") is not None else ""
        note = f": {v['note']}" if v.get("note") else ""
        lines.append(f"  {v['verdict'].upper()} {v['case_id']}{ratio}{note}")
    return lines


def _verdicts(run: dict[str, Any]) -> list[dict[str, Any]] | None:
    comparison = run["twinbench"].get("comparison")
    return None if comparison is None else list(comparison.get("verdicts", []))


def fold_skipped(rows: Sequence[CaseRow]) -> tuple[list[CaseRow], list[str]]:
    """The rows worth a table line, and one line per device for the skipped ones.

    On a machine without a GPU every CUDA case is skipped for the same reason: a screenful of
    ``skipped - - -`` rows says less than one line with the count and the reason.
    """
    kept = [row for row in rows if row.status != Status.SKIPPED]
    by_device: dict[str, list[CaseRow]] = {}
    for row in rows:
        if row.status == Status.SKIPPED:
            by_device.setdefault(row.case.device, []).append(row)
    lines = []
    for device, skipped in sorted(by_device.items()):
        reasons = sorted({row.reason or "no reason given" for row in skipped})
        lines.append(
            f"{len(skipped)} {device.upper()} case(s) skipped: {'; '.join(reasons[:3])}"
            + (f" (and {len(reasons) - 3} other reasons)" if len(reasons) > 3 else "")
        )
    return kept, lines
