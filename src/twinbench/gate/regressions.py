"""List the failures recorded in run files as Markdown, for the nightly workflow's issue.

Standard library only: the workflow's issue job installs twinbench without its dependencies
(no TensorFlow or PyTorch to list a few lines). Usage: ``python -m twinbench.gate.regressions DIR``.
Exit status 1 when a run file records a confirmed regression, changed numerics or a failed case.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from twinbench.core.status import Outcome, fails

# A case that could not run is listed for a person even where it does not fail the run.
LISTED = (Outcome.OOM, Outcome.ERROR)


def failure_lines(folder: Path) -> list[str]:
    """One Markdown line per failing case of every run file below `folder`."""
    lines = []
    for path in sorted(folder.rglob("*.json")):
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
            verdicts = (run["twinbench"].get("comparison") or {}).get("verdicts", [])
        except (OSError, ValueError, KeyError, AttributeError) as error:
            lines.append(f"- `{path.name}`: unreadable run file ({error})")
            continue
        for verdict in verdicts:
            if fails(verdict.get("verdict", ""), strict=False) or verdict.get("verdict") in LISTED:
                ratio = f", {verdict['ratio']:.2f}x" if verdict.get("ratio") else ""
                note = f": {verdict['note']}" if verdict.get("note") else ""
                case, what = verdict["case_id"], verdict["verdict"]
                lines.append(f"- `{case}` **{what}**{ratio}{note} (`{path.name}`)")
    return lines


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else Path(".")
    lines = failure_lines(folder)
    print("\n".join(lines) if lines else "No failing case is recorded in the run files.")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
