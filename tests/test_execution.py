"""Case isolation: an out-of-memory error or a crash is the case's status; the next case runs."""

from __future__ import annotations

from typing import Any

import pytest

from twinbench.core.cases import Case
from twinbench.core.status import Status
from twinbench.execute.case import execute_case
from twinbench.measure.timing import TimingSettings, loop_timer
from twinbench.runners import load_runner
from twinbench.runners.base import PreparedCase

SETTINGS = TimingSettings(warmup_s=0.0, min_sample_s=0.0005, rounds=3)


class FakeRunner:
    """Runs an empty step; `fail_with` maps a case id to the exception its prepare raises."""

    name = "fake"

    def __init__(self, fail_with: dict[str, BaseException] | None = None, lands_on: str = ""):
        self.fail_with = fail_with or {}
        self.lands_on = lands_on
        self.released = 0

    def prepare(self, spec: Any, case: Case, seed: int) -> PreparedCase:
        if case.id in self.fail_with:
            raise self.fail_with[case.id]
        device = self.lands_on or case.device
        return PreparedCase(
            time_loops=loop_timer(lambda: device, lambda out: None),
            run_once=lambda: device,
            placed_on=lambda out: out,
        )

    def reset_peak_memory(self, device: str) -> None:
        pass

    def peak_memory(self, device: str) -> dict[str, int]:
        return {"fake_peak_bytes": 123} if device == "cuda" else {}

    def is_out_of_memory(self, error: BaseException) -> bool:
        return isinstance(error, MemoryError)

    def release(self) -> None:
        self.released += 1


def run(runner: FakeRunner, case_id: str):
    return execute_case(runner, lambda name, size: None, Case.from_id(case_id), SETTINGS)


def test_oom_in_one_case_then_the_next_case_passes():
    runner = FakeRunner({"mlp-torch-eager-cuda-train-fp32-b256": MemoryError("CUDA out of memory")})
    first = run(runner, "mlp-torch-eager-cuda-train-fp32-b256")
    second = run(runner, "mlp-torch-eager-cuda-train-fp32-b1")
    assert (first.status, second.status) == (Status.OOM, Status.OK)
    assert "out of memory" in (first.reason or "")
    assert second.measurement is not None and len(second.measurement.samples) == 3
    assert second.memory["fake_peak_bytes"] == 123
    assert runner.released == 2  # memory is released after a failure too


def test_crash_is_an_error_with_its_traceback():
    runner = FakeRunner({"cnn-keras-graph-cpu-infer-fp32-b1": ValueError("bad shape (3, 4)")})
    result = run(runner, "cnn-keras-graph-cpu-infer-fp32-b1")
    assert result.status == Status.ERROR
    assert result.reason == "ValueError: bad shape (3, 4)"
    assert "Traceback" in (result.details or "")


def test_work_that_lands_on_another_device_is_an_error():
    result = run(FakeRunner(lands_on="cpu"), "mlp-torch-eager-cuda-infer-fp32-b1")
    assert result.status == Status.ERROR
    assert "asked for cuda" in (result.reason or "")


def test_keyboard_interrupt_is_not_swallowed():
    runner = FakeRunner({"mlp-torch-eager-cpu-infer-fp32-b1": KeyboardInterrupt()})
    try:
        run(runner, "mlp-torch-eager-cpu-infer-fp32-b1")
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("KeyboardInterrupt was turned into a status")


# --- The runners' own classifiers, fed the exceptions their frameworks really raise. ---------


def framework_errors(framework: str) -> tuple[BaseException, BaseException]:
    """(an out-of-memory error, another runtime error) of the framework behind a runner.

    Constructed on the CPU, with the messages the frameworks give on a GPU.
    """
    if framework == "torch":
        import torch

        return (
            torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
            RuntimeError("CUDA error: an illegal memory access was encountered"),
        )
    if framework == "tensorflow":
        import tensorflow as tf

        return (
            tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor"),
            tf.errors.InvalidArgumentError(None, None, "Matrix size-incompatible"),
        )
    from jax.errors import JaxRuntimeError

    return (
        JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 1.00GiB."),
        JaxRuntimeError("INTERNAL: Failed to launch CUDA kernel"),
    )


# (runner, KERAS_BACKEND, the framework whose exceptions reach the runner)
REAL_RUNNERS = [
    ("torch", "tensorflow", "torch"),
    ("keras", "tensorflow", "tensorflow"),
    ("keras_jax", "jax", "jax"),
    ("keras_torch", "torch", "torch"),
]


@pytest.mark.parametrize(("framework", "backend", "raised_by"), REAL_RUNNERS)
def test_a_real_framework_oom_is_oom_and_other_errors_are_errors(
    monkeypatch, framework, backend, raised_by
):
    """The runner's own `is_out_of_memory` decides, on its framework's real exception types."""
    monkeypatch.setenv("KERAS_BACKEND", backend)
    real = load_runner(framework)
    oom, other = framework_errors(raised_by)
    oom_case, crash_case, next_case = (
        Case("mlp", framework, "cuda", "train", batch).id for batch in (256, 128, 1)
    )
    runner = FakeRunner({oom_case: oom, crash_case: other})
    runner.is_out_of_memory = real.is_out_of_memory  # type: ignore[method-assign]
    results = [run(runner, case) for case in (oom_case, crash_case, next_case)]
    assert [r.status for r in results] == [Status.OOM, Status.ERROR, Status.OK]
    assert (results[0].reason or "").startswith(type(oom).__name__)


def test_cpu_memory_a_case_adds_is_recorded_as_rss_growth():
    """README's `rss+`: resident memory the case added, here 64 MiB that its model holds."""
    held: list[bytearray] = []

    class Allocating(FakeRunner):
        def prepare(self, spec: Any, case: Case, seed: int) -> PreparedCase:
            held.append(bytearray(64 << 20))  # zero-filled: every page touched, resident
            return super().prepare(spec, case, seed)

    grown = run(Allocating(), "mlp-torch-eager-cpu-infer-fp32-b1").memory
    steady = run(FakeRunner(), "mlp-torch-eager-cpu-infer-fp32-b1").memory
    assert grown["cpu_rss_growth_bytes"] >= 60 << 20
    assert abs(steady["cpu_rss_growth_bytes"]) < 16 << 20
    assert grown["process_peak_rss_bytes"] >= grown["cpu_rss_growth_bytes"]
