"""--require-gpu fails only the CUDA cases that cannot see their device (issue #13, item 1).

The nightly runs the full profile with --require-gpu: bf16 on the CPU and a compiler that
cannot build are correct skips there, and must not fail the night.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from twinbench.core.cases import Case
from twinbench.core.status import Status
from twinbench.execute.worker import measure_one

ROOT = Path(__file__).resolve().parent.parent


class DeviceRunner:
    """Answers only the availability questions measure_one asks before measuring."""

    def __init__(self, device_problem: str | None, variant_problem: str | None) -> None:
        self.device_problem = device_problem
        self.variant_problem = variant_problem

    def device_available(self, device: str) -> str | None:
        return self.device_problem if device == "cuda" else None

    def variant_available(self, case: Case) -> str | None:
        return self.variant_problem


def skip_of(runner: DeviceRunner, case_id: str):
    result = measure_one(runner, Case.from_id(case_id), {"timing": {}})  # type: ignore[arg-type]
    assert result.status == Status.SKIPPED
    return result


def test_a_cuda_case_without_its_device_is_marked():
    result = skip_of(DeviceRunner("no GPU", None), "mlp-torch-eager-cuda-infer-fp32-b1")
    assert result.device_missing and result.reason == "no GPU"


def test_an_unavailable_compiler_on_a_visible_gpu_stays_a_plain_skip():
    runner = DeviceRunner(None, "torch.compile cannot build here")
    result = skip_of(runner, "mlp-torch-compile-cuda-infer-fp32-b1")
    assert not result.device_missing


def test_bf16_on_the_cpu_stays_a_plain_skip():
    result = skip_of(DeviceRunner("no GPU", None), "mlp-torch-eager-cpu-infer-bf16-b1")
    assert not result.device_missing and "CUDA only" in (result.reason or "")


def test_without_a_visible_gpu_only_cuda_cases_fail(tmp_path):
    """A real pytest run with no GPU visible: the CUDA cases fail, bf16 on the CPU skips."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "benches/test_infer.py",
            "-p",
            "no:cacheprovider",
            "-rsf",
            "--require-gpu",
            "--profile=smoke",
            "--frameworks=torch",
            "--models=mlp",
            "--batch-sizes=1",
            "--devices=cpu,cuda",
            "--precisions=bf16",
            "--no-compare",
            f"--results-dir={tmp_path}",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "FAILED benches/test_infer.py::test_infer[mlp-torch-eager-cuda-infer-bf16-b1]" in out
    assert "--require-gpu: PyTorch sees no CUDA device" in out, out
    assert re.search(r"SKIPPED .*bf16 mixed precision is benchmarked on CUDA only", out), out
    assert re.search(r"\b1 failed, 1 skipped\b", out), out
