"""One runner's baseline from the baseline files of its shards, for the results branch.

A sharded night saves a baseline in each shard's job (--save-baseline), every file named by the
same machine fingerprint, each holding the cases its shard ran. The merge joins them into one
file per fingerprint, which then replaces the branch's: with `replace` every shard's file holds
only tonight's cases; with `extend` each already pooled the branch's baseline into its own
cases, so for a case every shard holds, the entry with the most processes is the pooled one.
Standard library only (the merge job does not install the frameworks).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from twinbench.core.jsonfile import read_json, write_json_atomic


def process_count(bench: dict[str, Any]) -> int:
    """Worker processes pooled into one case of a baseline."""
    return len(bench.get("extra_info", {}).get("processes") or [])


def join_baselines(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The shards' baselines of one fingerprint as one baseline (the first part's metadata)."""
    joined = copy.deepcopy(parts[0])
    by_case: dict[str, dict[str, Any]] = {}
    pooled_runs: list[str] = []
    for part in parts:
        for bench in part["benchmarks"]:
            mine = by_case.get(bench["param"])
            if mine is None or process_count(bench) > process_count(mine):
                by_case[bench["param"]] = copy.deepcopy(bench)
        for name in part["twinbench"].get("pooled_runs") or []:
            if name not in pooled_runs:
                pooled_runs.append(name)
    joined["benchmarks"] = [by_case[case] for case in sorted(by_case)]
    joined["twinbench"]["pooled_runs"] = pooled_runs
    return joined


def join_baseline_files(paths: list[Path], target: Path) -> None:
    """Write the join of the baseline files `paths` to `target` (replacing it)."""
    parts = [read_json(path) for path in paths]
    write_json_atomic(target, join_baselines(parts))
