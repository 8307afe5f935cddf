"""List the failures recorded in run files as Markdown, for the nightly workflow's issue.

Standard library only: the workflow's issue job installs twinbench without its dependencies
(no TensorFlow or PyTorch to list a few lines). Usage: ``python -m twinbench.gate.regressions DIR``.
Exit status 1 when a run file records a confirmed regression, changed numerics or a failed case.
Cases the gate was unsure about are listed apart, for a person to look at; they do not set
the exit status (the nightly's --strict-gate decides whether they fail the night).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from twinbench.core.status import Outcome, fails

# A case that could not run is listed for a person even where it does not fail the run.
LISTED = (Outcome.OOM, Outcome.ERROR)


def failure_lines(folder: Path, unsure: list[str] | None = None) -> list[str]:
    """One Markdown line per failing case of every run file below `folder`.

    Unsure cases go to `unsure`, when given, in the same form.
    """
    lines = []
    for path in sorted(folder.rglob("*.json")):
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
            verdicts = (run["twinbench"].get("comparison") or {}).get("verdicts", [])
        except (OSError, ValueError, KeyError, AttributeError) as error:
            lines.append(f"- `{path.name}`: unreadable run file ({error})")
            continue
        for verdict in verdicts:
            failing = fails(verdict.get("verdict", ""), strict=False)
            if failing or verdict.get("verdict") in LISTED:
                lines.append(_line(verdict, path))
            elif verdict.get("verdict") == Outcome.UNSURE and unsure is not None:
                unsure.append(_line(verdict, path))
    return lines


def _line(verdict: dict, path: Path) -> str:
    ratio = f", {verdict['ratio']:.2f}x" if verdict.get("ratio") else ""
    note = f": {verdict['note']}" if verdict.get("note") else ""
    case, what = verdict["case_id"], verdict["verdict"]
    return f"- `{case}` **{what}**{ratio}{note} (`{path.name}`)"


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else Path(".")
    unsure: list[str] = []
    lines = failure_lines(folder, unsure)
    print("\n".join(lines) if lines else "No failing case is recorded in the run files.")
    if unsure:
        print("\nThe gate was unsure about these (rerun, or pool the baseline):")
        print("\n".join(unsure))
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
