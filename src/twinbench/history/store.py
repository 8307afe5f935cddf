"""The stored runs of a results folder, as one time series per case and machine identity.

A series never mixes machines: runs of another identity (another CPU, thread count, GPU) are
another series, as they would be `incomparable` to the gate. Software-stack changes stay inside
a series, where they are what a reader looks for: each point carries its run's stack.

Every file under ``<results>/history/<machine>/`` is read and validated; a file that cannot be
read is reported with its reason and skipped, never deleted or rewritten (DESIGN decision 7).
A case's value in a run is the gate's own per-run figure (`stats.typical_level`: the median of
the process levels), so a trend and a verdict speak of the same number.
"""

from __future__ import annotations

import fnmatch
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twinbench.core.jsonfile import json_files
from twinbench.gate.stats import typical_levels
from twinbench.results.runfile import case_rows
from twinbench.results.storage import RunFileError, read_run


@dataclass(frozen=True)
class Point:
    """One case in one run."""

    run: str
    # When the run started (ISO 8601, UTC).
    when: str
    # The gate's per-run figure (seconds per step) and the plain median of all samples.
    level_s: float
    median_s: float
    # The run's verdict for the case, when it was gated.
    verdict: str | None = None
    # The run's software stack (metadata.STACK_FIELDS), to mark where it changed.
    stack: dict[str, Any] = field(default_factory=dict, compare=False)


# A series: (case id, machine identity id).
SeriesKey = tuple[str, str]


@dataclass
class History:
    """Per case and machine, its points in run order; plus the files that could not be read."""

    series: dict[SeriesKey, list[Point]] = field(default_factory=dict)
    runs: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)

    def cases(self, pattern: str = "*") -> list[SeriesKey]:
        """Series whose case id matches a glob, in first-seen order."""
        return [key for key in self.series if fnmatch.fnmatchcase(key[0], pattern)]


def run_files(results_dir: Path, machine: str | None = None) -> list[Path]:
    """History files, plain and compressed, oldest first (their names start with the UTC
    start time)."""
    folders = [results_dir / "history" / machine] if machine else _machine_folders(results_dir)
    files = [path for folder in folders for path in json_files(folder)]
    return sorted(files, key=lambda path: path.name)


def load_history(results_dir: Path, machine: str | None = None) -> History:
    """Read every run of `results_dir` (one machine's, if given) into per-case series."""
    history = History()
    with _no_cycle_collection():
        for path in run_files(results_dir, machine):
            try:
                history.runs.append((path, read_run(path)))
            except RunFileError as error:
                history.unreadable.append((path, str(error)))
        # Start times order the runs (names only have whole seconds; runs can share one).
        history.runs.sort(key=lambda r: (r[1]["twinbench"].get("started") or "", r[0].name))
        for path, run in history.runs:
            machine = run["twinbench"]["identity_id"]
            for case_id, point in _points(path.name, run):
                history.series.setdefault((case_id, machine), []).append(point)
    return history


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while run files are parsed.

    Parsed JSON holds no reference cycles, but its millions of new objects trigger the
    collector over and over, each time scanning everything read so far: most of the time of
    reading a long history (docs/measurements.md).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _points(name: str, run: dict[str, Any]) -> Iterator[tuple[str, Point]]:
    verdicts = {
        v["case_id"]: v["verdict"]
        for v in (run["twinbench"].get("comparison") or {}).get("verdicts", [])
    }
    when = run["twinbench"].get("started") or run.get("datetime") or ""
    rows = [row for row in case_rows(run) if row.median_s is not None and row.process_samples]
    levels = typical_levels([row.process_samples for row in rows])
    stack = run["twinbench"]["stack"]
    for row, level in zip(rows, levels, strict=True):
        assert row.median_s is not None
        verdict = verdicts.get(row.case.id)
        yield row.case.id, Point(name, when, level, row.median_s, verdict, stack)


def _machine_folders(results_dir: Path) -> list[Path]:
    history = results_dir / "history"
    return sorted(p for p in history.iterdir() if p.is_dir()) if history.is_dir() else []
