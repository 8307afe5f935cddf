"""Case isolation: an out-of-memory error or a crash is the case's status; the next case runs."""

from __future__ import annotations

from typing import Any

from twinbench.core.cases import Case
from twinbench.core.status import Status
from twinbench.execute.case import execute_case
from twinbench.measure.timing import TimingSettings, loop_timer
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
