"""The nightly issue's body: tonight's failing cases, per benchmark job, as Markdown.

Reads only the artifacts of this workflow run (the run files `collect` picked: tonight's), never
the results branch, so an issue names tonight's regressions and not every past night's.
Usage: ``python -m twinbench.nightly.issue ARTIFACTS``; exit status 1 when a case fails
the run (the gate's rule, `twinbench.core.status.fails`), a case could not run, or a job left
no run file. Standard library only: the issue job installs nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from twinbench.core.jsonfile import RunFileError, json_files, read_json
from twinbench.core.status import Outcome, fails

# A case that could not run is listed for a person even where it does not fail the run.
LISTED = (Outcome.OOM, Outcome.ERROR)


def run_files(artifact: Path) -> list[Path]:
    """The run files of one job's artifact (baselines are not runs)."""
    return [path for path in json_files(artifact, recursive=True) if "history" in path.parts]


def failing(what: str) -> bool:
    """A verdict that fails the night, or a case that could not run."""
    return fails(what, strict=False) or what in LISTED


def unsure(what: str) -> bool:
    """A verdict the gate could neither confirm nor clear: listed for a person, not failing."""
    return what == Outcome.UNSURE


def failure_lines(run_file: Path, wanted: Callable[[str], bool] = failing) -> list[str]:
    """One Markdown line per case of the run file whose verdict is `wanted`."""
    try:
        run = read_json(run_file)
        verdicts = (run["twinbench"].get("comparison") or {}).get("verdicts", [])
    except (OSError, ValueError, KeyError, AttributeError, RunFileError) as error:
        return [f"- `{run_file.name}`: unreadable run file ({error})"] if wanted is failing else []
    lines = []
    for verdict in verdicts:
        what = verdict.get("verdict", "")
        if wanted(what):
            ratio = f", {verdict['ratio']:.2f}x" if verdict.get("ratio") else ""
            note = f": {verdict['note']}" if verdict.get("note") else ""
            lines.append(f"- `{verdict['case_id']}` **{what}**{ratio}{note}")
    return lines


def issue_body(artifacts: Path) -> tuple[str, bool]:
    """The body, and whether anything in it fails the night."""
    sections, doubts, failed = [], [], False
    for artifact in sorted(p for p in artifacts.iterdir() if p.is_dir()):
        files = run_files(artifact)
        if not files:
            sections.append(f"### {artifact.name}\n- no run file: the job failed before writing")
            failed = True
            continue
        lines = [line for path in files for line in failure_lines(path)]
        doubts += [line for path in files for line in failure_lines(path, unsure)]
        if lines:
            names = ", ".join(f"`{path.name}`" for path in files)
            sections.append(f"### {artifact.name} ({names})\n" + "\n".join(lines))
            failed = True
    unsure_part = (
        "\n\nUnsure (rerun, pool the baseline or raise the case's threshold; not failing):\n"
        + "\n".join(doubts)
        if doubts
        else ""
    )
    if not sections:
        return "No failing case in tonight's run files." + unsure_part, False
    body = "Tonight's failing cases, per benchmark job:\n\n" + "\n\n".join(sections)
    return body + unsure_part, failed


def main(argv: list[str]) -> int:
    artifacts = Path(argv[0]) if argv else Path(".")
    if not artifacts.is_dir():
        print(f"No artifact of tonight's benchmark jobs was downloaded ({artifacts} is missing).")
        return 1
    body, failed = issue_body(artifacts)
    print(body)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
