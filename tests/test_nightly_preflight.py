"""The GPU pre-flight fails in seconds with the fix, on fakes of nvidia-smi and the frameworks."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from twinbench.nightly import preflight
from twinbench.nightly.stackdir import stack_results

ROOT = Path(__file__).resolve().parent.parent


def fake_nvidia_smi(folder: Path, output: str, status: int = 0) -> dict[str, str]:
    """PATH with an `nvidia-smi` that prints `output` and exits with `status`."""
    folder.mkdir(exist_ok=True)
    script = folder / "nvidia-smi"
    script.write_text(f"#!/bin/sh\ncat <<'END'\n{output}\nEND\nexit {status}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{folder}:/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")}


def preflight_driver(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "twinbench.nightly.preflight", "driver"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_a_runner_with_a_new_enough_driver_passes(tmp_path):
    done = preflight_driver(
        fake_nvidia_smi(tmp_path, "NVIDIA H100 80GB HBM3, 570.86.15, 81559 MiB")
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "GPU: NVIDIA H100" in done.stdout


def test_an_old_driver_fails_with_the_next_step(tmp_path):
    done = preflight_driver(
        fake_nvidia_smi(tmp_path, "NVIDIA A100-SXM4-80GB, 535.104.05, 81920 MiB")
    )
    assert done.returncode == 1
    assert "::error title=GPU pre-flight (driver)::driver 535.104.05 is" in done.stdout
    assert (
        "older than 570.26" in done.stdout and "Next step: install an NVIDIA driver" in done.stdout
    )


def test_a_runner_without_nvidia_smi_or_gpus_fails(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path / "empty"), "PYTHONPATH": str(ROOT / "src")}
    missing = preflight_driver(env)
    assert missing.returncode == 1 and "nvidia-smi: not found" in missing.stdout
    broken = preflight_driver(fake_nvidia_smi(tmp_path, "NVIDIA-SMI has failed", status=9))
    assert broken.returncode == 1 and "nvidia-smi failed (9)" in broken.stdout
    assert preflight.check_driver(lambda command: (0, "\n")) == [
        "nvidia-smi lists no GPU (CUDA_VISIBLE_DEVICES or the runner's cgroup hides it?)"
    ]


def test_each_framework_is_checked_in_its_own_process_and_named_when_it_fails():
    seen: list[list[str]] = []

    def run(command: list[str]) -> tuple[int, str]:
        seen.append(command)
        if "torch" in command[-1].split("\n")[0]:
            return 1, "torch 2.13.0 is a CPU build (torch.version.cuda is None)"
        return 0, "tensorflow 2.21.0, CUDA 12.5: 1 GPU(s)"

    problems = preflight.check_frameworks(run)
    assert problems == ["torch: torch 2.13.0 is a CPU build (torch.version.cuda is None)"]
    assert len(seen) == 2 and all(command[0] == sys.executable for command in seen)
    assert "tensorflow" not in preflight.FRAMEWORK_CHECKS["torch"]
    assert "torch" not in preflight.FRAMEWORK_CHECKS["tensorflow"].replace("tensorflow", "")


def test_a_prerelease_stack_gets_its_own_folder_with_the_runners_baselines(tmp_path):
    baseline = tmp_path / "results" / "baselines" / "fp.json"
    baseline.parent.mkdir(parents=True)
    baseline.write_text("{}")
    assert stack_results(tmp_path, "pinned") == tmp_path / "results"
    folder = stack_results(tmp_path, "prerelease")
    assert folder == tmp_path / "stacks" / "prerelease"
    assert (folder / "baselines" / "fp.json").read_text() == "{}"
