"""Baselines: one per machine fingerprint, changed only through --save-baseline.

A baseline is a run file (same format, same validation) whose cases may pool the worker
processes of several runs: more processes make the baseline's own noise smaller.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from twinbench.results.storage import read_run, write_json_atomic

REPLACE, EXTEND = "replace", "extend"


def baseline_path(results_dir: Path, fingerprint_id: str) -> Path:
    """Where the baseline of a fingerprint lives."""
    return results_dir / "baselines" / f"{fingerprint_id}.json"


def load_baseline(results_dir: Path, fingerprint_id: str) -> dict[str, Any] | None:
    """The validated baseline of this fingerprint, None when there is none.

    A baseline that exists but cannot be read raises RunFileError: it is never treated as
    absent, so a broken file can never silently turn the gate off.
    """
    path = baseline_path(results_dir, fingerprint_id)
    if not path.exists():
        return None
    return read_run(path)


def pooled_run_count(baseline: dict[str, Any]) -> int:
    """Runs pooled into a baseline (files from before pooling was recorded: one)."""
    return max(1, len(baseline["twinbench"].get("pooled_runs") or []))


def save_baseline(
    results_dir: Path, run: dict[str, Any], run_name: str, how: str = REPLACE
) -> Path:
    """Store `run` as its fingerprint's baseline, replacing it or pooling into it."""
    fingerprint_id = run["twinbench"]["fingerprint_id"]
    path = baseline_path(results_dir, fingerprint_id)
    baseline = copy.deepcopy(run)
    baseline["twinbench"].pop("comparison", None)
    baseline["twinbench"]["pooled_runs"] = [run_name]
    if how == EXTEND and path.exists():
        baseline = pool_runs(read_run(path), baseline)
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
