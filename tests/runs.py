"""Synthetic case results and run files for tests (no framework import)."""

from __future__ import annotations

from typing import Any

from twinbench.cases import Case
from twinbench.execution import OK, SKIPPED, CaseResult
from twinbench.runfile import build_run
from twinbench.timing import Measurement

METADATA: dict[str, Any] = {
    "cpu_model": "Test CPU 9000",
    "cpu_count": 2,
    "machine": "x86_64",
    "system": "Linux",
    "gpu_names": [],
    "gpu_driver": None,
    "python_version": "3.11.7",
    "torch_version": "2.13.0",
    "tensorflow_version": "2.21.0",
    "keras_version": "3.15.1",
    "threads": 2,
    "tf32": False,
    "hostname": "box",
    "cpu_hz_actual": "2.1 GHz",
}


def measured(case_id: str, step_s: float, rounds: int = 9) -> CaseResult:
    """An ok result whose samples spread a little around `step_s`."""
    samples = [step_s * (1 + 0.01 * ((i % 3) - 1)) for i in range(rounds)]
    return CaseResult(
        case=Case.from_id(case_id),
        status=OK,
        first_call_s=step_s * 100,
        measurement=Measurement(warmup_s=0.1, loops=16, samples=samples),
        memory={"cpu_rss_growth_bytes": 1 << 20},
        ran_on="cpu",
    )


def sample_run(metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """A valid run: two measured twins and one skipped CUDA case."""
    results = [
        measured("mlp-keras-cpu-infer-b64", 2e-3),
        measured("mlp-torch-cpu-infer-b64", 1e-3),
        CaseResult(case=Case.from_id("mlp-torch-cuda-infer-b64"), status=SKIPPED, reason="no GPU"),
    ]
    settings = {"profile": "smoke", "loop_overhead_s": 3e-8}
    return build_run(results, metadata or dict(METADATA), settings, {})
