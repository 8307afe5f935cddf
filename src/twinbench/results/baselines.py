"""Baselines: one per machine identity, changed only through --save-baseline.

A baseline is a run file (same format, same validation) whose cases may pool the worker
processes of several runs: more processes make the baseline's own noise smaller. It is named
by the machine identity (`metadata.IDENTITY_FIELDS`), not by the software stack, so a run after
an upgrade finds the baseline saved before it and the gate judges the upgrade.

Before schema 3, baselines were named by a fingerprint that held the stack too. Such a file
is still found: when no baseline carries the identity's name, the one (newest) older file of
the same identity is used, read through the schema migrations; saving writes the new name.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from twinbench.core.jsonfile import json_files
from twinbench.results.storage import read_run, write_json_atomic

REPLACE, EXTEND = "replace", "extend"


def baseline_path(results_dir: Path, identity_id: str) -> Path:
    """Where the baseline of a machine identity lives."""
    return results_dir / "baselines" / f"{identity_id}.json"


def find_baseline(results_dir: Path, identity_id: str) -> Path | None:
    """The baseline file of this machine identity, in today's layout or an older one."""
    path = baseline_path(results_dir, identity_id)
    if path.exists():
        return path
    folder = results_dir / "baselines"
    candidates = []
    for older in json_files(folder):
        run = read_run(older)  # unreadable: an error, never a silently missing baseline
        if run["twinbench"]["identity_id"] == identity_id:
            candidates.append((run.get("datetime") or "", older))
    return max(candidates)[1] if candidates else None


def load_baseline(results_dir: Path, identity_id: str) -> dict[str, Any] | None:
    """The validated baseline of this identity, None when there is none.

    A baseline that exists but cannot be read raises RunFileError: it is never treated as
    absent, so a broken file can never silently turn the gate off.
    """
    path = find_baseline(results_dir, identity_id)
    return read_run(path) if path is not None else None


def pooled_run_count(baseline: dict[str, Any]) -> int:
    """Runs pooled into a baseline (a plain run file used as a baseline: one)."""
    return max(1, len(baseline["twinbench"].get("pooled_runs") or []))


def save_baseline(
    results_dir: Path, run: dict[str, Any], run_name: str, how: str = REPLACE
) -> Path:
    """Store `run` as its identity's baseline, replacing it or pooling into it.

    Pooling into a baseline of another software stack mixes two stacks' processes; the new
    run's stack is the one recorded, and the runs pooled are listed.
    """
    identity_id = run["twinbench"]["identity_id"]
    path = baseline_path(results_dir, identity_id)
    baseline = copy.deepcopy(run)
    baseline["twinbench"].pop("comparison", None)
    baseline["twinbench"]["pooled_runs"] = [run_name]
    existing = find_baseline(results_dir, identity_id)
    if how == EXTEND and existing is not None:
        baseline = pool_runs(read_run(existing), baseline)
    return write_json_atomic(path, baseline)


def pool_runs(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The old baseline with the new run's processes appended per case (new cases added)."""
    pooled = copy.deepcopy(old)
    by_case = {bench["param"]: bench for bench in pooled["benchmarks"]}
    for bench in new["benchmarks"]:
        mine = by_case.get(bench["param"])
        if mine is None:
            pooled["benchmarks"].append(copy.deepcopy(bench))
            continue
        mine["extra_info"]["processes"] += copy.deepcopy(bench["extra_info"]["processes"])
        mine["stats"]["data"] = [
            s for process in mine["extra_info"]["processes"] for s in process["samples"]
        ]
        _refresh_stats(mine)
    pooled["twinbench"]["stack"] = copy.deepcopy(new["twinbench"]["stack"])
    pooled["twinbench"].setdefault("settings", {})["code"] = common_code([old, new])
    pooled["twinbench"]["pooled_runs"] = (
        old["twinbench"].get("pooled_runs", []) + new["twinbench"]["pooled_runs"]
    )
    return pooled


def _refresh_stats(bench: dict[str, Any]) -> None:
    """Recompute pytest-benchmark's summary fields from the pooled samples."""
    from pytest_benchmark.stats import Stats

    stats = Stats()
    for sample in bench["stats"]["data"]:
        stats.update(sample)
    bench["stats"].update(stats.as_dict())


def common_code(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The code (settings.code) every one of `runs` measured; None when they differ or
    one does not say: a pooled baseline's code can be measured again only when it is one."""
    codes = [(run["twinbench"].get("settings") or {}).get("code") for run in runs]
    return copy.deepcopy(codes[0]) if codes and all(c == codes[0] for c in codes) else None
