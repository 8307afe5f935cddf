"""Run order: one framework's cases never interleave with the other's, across bench files."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def collected_order(*args: str) -> list[str]:
    """Node ids in the order pytest will run them (after the plugin's reordering)."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "benches", "--collect-only", "-q", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return [line for line in done.stdout.splitlines() if line.startswith("benches/")]


def test_each_framework_and_device_runs_in_one_stretch_across_bench_files():
    items = collected_order("--models=mlp", "--batch-sizes=1", "--modes=infer,train,fit")
    # Case ids read model-framework-variant-device-...: the key is (framework, device).
    stretches = [
        (key, list(group))
        for key, group in itertools.groupby(items, key=lambda n: n.split("[")[1].split("-")[1:4:2])
    ]
    keys = [tuple(key) for key, _ in stretches]
    assert len(keys) == len(set(keys)), keys  # no (framework, device) comes back later
    assert {framework for framework, _ in keys} == {"keras", "torch"}
    files_in_stretch = {n.split("::")[0] for _, group in stretches[:1] for n in group}
    assert len(files_in_stretch) >= 2  # the stretch spans bench files, not one file's order
