"""Keras 3 on JAX and on PyTorch: the same model as on TensorFlow, through the worker path.

Each backend runs in a worker process (a backend is fixed per process). The stored reference
outputs were produced by Keras on TensorFlow, so `same` numerics prove the other backend
computes what the TensorFlow one does, in inference and in the first training step.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from twinbench.core.cases import Case
from twinbench.core.status import Status
from twinbench.execute.pool import WorkerPool
from twinbench.measure.timing import TimingSettings

TIMING = TimingSettings(warmup_s=0.0, min_sample_s=0.001, rounds=2)
NUMERICS = Path(__file__).parent.parent / "fixtures" / "numerics"


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_keras_on_another_backend_computes_the_tensorflow_reference(backend, monkeypatch):
    if backend == "jax":
        pytest.importorskip("jax")
    # The case's framework picks the backend, whatever the environment says.
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    framework = f"keras_{backend}"
    cases = [
        Case.from_id(f"mlp-{framework}-graph-cpu-{mode}-fp32-b2") for mode in ("infer", "train")
    ]
    pool = WorkerPool(processes=1, threads=1, numerics_dir=NUMERICS)
    try:
        results = pool.measure_all(cases, TIMING)
    finally:
        pool.close()
    for case_id, (result,) in results.items():
        assert result.status == Status.OK, f"{case_id}: {result.reason}\n{result.details}"
        assert result.ran_on == "cpu"
        assert result.numerics is not None and result.numerics["status"] == "same", case_id
    metadata = pool.runner_metadata[framework]
    assert metadata["keras_backend"] == backend
    assert metadata["tf32"] is False
