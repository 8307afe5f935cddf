"""The GPU acceptance script on a machine without a GPU: it says so and exits 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent.parent / "scripts" / "gpu_acceptance.py"


def test_without_a_gpu_the_script_says_so_and_exits_cleanly(tmp_path):
    env = os.environ | {"CUDA_VISIBLE_DEVICES": ""}  # hides any GPU, as on this machine
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "no GPU visible" in done.stdout
    summary = json.loads((tmp_path / "SUMMARY.json").read_text())
    assert summary["status"] == "no-gpu" and summary["gpus"]["gpus"] == []
    assert "no GPU visible" in (tmp_path / "SUMMARY.txt").read_text()
    assert "tensorflow" not in done.stderr.lower()  # no framework started for nothing


def test_every_planned_case_id_is_a_valid_cuda_case():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import gpu_acceptance
    finally:
        sys.path.remove(str(SCRIPT.parent))
    from twinbench.core.cases import Case

    for _label, _backend, _needs, case_ids in gpu_acceptance.PLAN:
        for case_id in case_ids:
            assert Case.from_id(case_id).device == "cuda", case_id
