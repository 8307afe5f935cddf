"""A baseline pooled from the last N comparable runs of the history (``--baseline-window N``).

A baseline saved by one run saw the machine in one stretch of time: on a 2-core AMD host,
`mlp-keras infer b1` read 374 µs in the baseline run and 465-530 µs in every run after it
(the regression-gate issue). Nightly runs already keep history, so the gate can pool the
processes of the last N runs of the same machine identity instead, the way Perfherder and
asv's runners look back over a window: the baseline then spans N nights and their spells.

Per case, runs older than its latest confirmed change are left out: a run whose gate confirmed
a regression of the case, or found it significantly faster, starts a new level, and mixing
levels would make the baseline a blend of two codes. That run itself belongs to the new level
and stays in. (Like Perfherder's alerts, a confirmed regression therefore fails one night and
becomes the baseline of the next ones: it has been reported, in the run file and the nightly
issue.) Runs are read newest first and only until the window is full, and only runs that
started before the judged one count: `twinbench check` judges runs that already lie in the
history, and a run is no baseline of itself or of what came before it.
"""

from __future__ import annotations

import copy
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from twinbench.core.jsonfile import json_files
from twinbench.core.status import Outcome
from twinbench.results.baselines import common_code
from twinbench.results.storage import RunFileError, machine_slug, read_run

# Verdicts that mark a run as the first of a new level for that case.
CHANGES = (Outcome.REGRESSION, Outcome.FASTER)
# Files read at most per run in the window, so a history of another machine's runs in
# the same machine folder cannot make the gate read thousands of files.
READ_LIMIT_FACTOR = 5


@dataclass
class Window:
    """The pooled baseline (None: no comparable run), and what went into it."""

    baseline: dict[str, Any] | None
    folder: Path
    runs: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def comparable_runs(
    results_dir: Path, run: dict[str, Any], window: int
) -> tuple[list[tuple[str, dict[str, Any]]], list[str], Path]:
    """The newest `window` runs of `run`'s machine identity (name, run), newest first."""
    folder = results_dir / "history" / machine_slug(run["twinbench"]["metadata"])
    identity_id = run["twinbench"]["identity_id"]
    found: list[tuple[str, dict[str, Any]]] = []
    unreadable: list[str] = []
    paths = sorted(json_files(folder), key=lambda path: path.name, reverse=True)
    for path in paths[: window * READ_LIMIT_FACTOR]:
        try:
            stored = read_run(path)
        except RunFileError as error:  # named under the verdicts, never silently dropped
            unreadable.append(f"{path.name} ({error})")
            continue
        same_machine = stored["twinbench"]["identity_id"] == identity_id
        if same_machine and _started_before(stored, run):
            found.append((path.name, stored))
        if len(found) == window:
            break
    return found, unreadable, folder


def window_baseline(results_dir: Path, run: dict[str, Any], window: int) -> Window:
    """Pool the last `window` comparable runs per case, cut at the case's latest change."""
    found, unreadable, folder = comparable_runs(results_dir, run, window)
    if not found:
        return Window(None, folder, unreadable=unreadable)
    pooled: dict[str, dict[str, Any]] = {}
    ended: set[str] = set()  # cases whose latest change has been reached
    for _, stored in found:
        changed = _changed_cases(stored)
        for bench in stored["benchmarks"]:
            case_id = bench["param"]
            if case_id in ended:
                continue
            if case_id not in pooled:
                pooled[case_id] = copy.deepcopy(bench)
            else:
                pooled[case_id]["extra_info"]["processes"] += copy.deepcopy(
                    bench["extra_info"]["processes"]
                )
        ended |= changed
    baseline = copy.deepcopy(found[0][1])
    baseline["twinbench"].pop("comparison", None)
    baseline["benchmarks"] = [_refresh(bench) for bench in pooled.values()]
    baseline["twinbench"]["pooled_runs"] = [name for name, _ in found]
    baseline["twinbench"].setdefault("settings", {})["code"] = common_code([r for _, r in found])
    return Window(baseline, folder, [name for name, _ in found], unreadable)


def _started_before(stored: dict[str, Any], run: dict[str, Any]) -> bool:
    """Whether `stored` started before `run` did (either time unknown: taken as before)."""
    times = [r["twinbench"].get("started") for r in (stored, run)]
    if not all(times):
        return True
    return datetime.fromisoformat(times[0]) < datetime.fromisoformat(times[1])


def _changed_cases(run: dict[str, Any]) -> set[str]:
    """Cases whose gate, in this run, found a confirmed regression or a faster case."""
    verdicts = (run["twinbench"].get("comparison") or {}).get("verdicts", [])
    return {
        v["case_id"]
        for v in verdicts
        if v.get("verdict") in CHANGES and v.get("confirmed") is not False
    }


def _refresh(bench: dict[str, Any]) -> dict[str, Any]:
    """The pooled samples as the benchmark's data, with the summary the gate reads."""
    samples = [s for p in bench["extra_info"]["processes"] for s in p["samples"]]
    bench["stats"]["data"] = samples
    bench["stats"]["median"] = statistics.median(samples)
    bench["options"] = {
        **bench.get("options", {}),
        "processes": len(bench["extra_info"]["processes"]),
    }
    return bench
