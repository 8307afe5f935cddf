"""GPU bookkeeping of one case, with a fake allocator: first-call and steady-state peaks apart,
telemetry around the case, a sticky CUDA error ending the worker, FLOPs and numerics inside
the case's error isolation."""

from __future__ import annotations

from typing import Any

from twinbench.core.cases import Case
from twinbench.core.status import Status
from twinbench.execute.case import (
    CaseResult,
    execute_case,
    merge,
    result_from_json,
    result_to_json,
    throttle_notes,
)
from twinbench.measure.timing import TimingSettings
from twinbench.runners.base import prepared_case

SETTINGS = TimingSettings(warmup_s=0.0, min_sample_s=0.0, rounds=2, max_loops=1)
CUDA_CASE = Case.from_id("mlp-torch-eager-cuda-infer-fp32-b1")


class FakeAllocator:
    """A caching allocator's peak counter: grows on allocation, reset on request."""

    def __init__(self) -> None:
        self.in_use = self.peak = 0

    def allocate(self, size: int, keep: bool = False) -> None:
        self.peak = max(self.peak, self.in_use + size)
        if keep:
            self.in_use += size

    def reset(self) -> None:
        self.peak = self.in_use


class AllocatingRunner:
    """The first step allocates 900 bytes of autotuning workspace, later steps 100."""

    name = "fake"

    def __init__(self, step_error: BaseException | None = None) -> None:
        self.allocator = FakeAllocator()
        self.step_error = step_error
        self.calls = 0
        self.released = 0

    def prepare(self, spec: Any, case: Case, seed: int):
        self.allocator.allocate(50, keep=True)  # weights and inputs

        def step() -> str:
            if self.step_error is not None:
                raise self.step_error
            self.calls += 1
            self.allocator.allocate(900 if self.calls == 1 else 100)
            return "cuda"

        return prepared_case(step, lambda out: None, placed_on=lambda out: out)

    def reset_peak_memory(self, device: str) -> None:
        self.allocator.reset()

    def peak_memory(self, device: str) -> dict[str, int]:
        return {"cuda_peak_allocated_bytes": self.allocator.peak}

    def is_out_of_memory(self, error: BaseException) -> bool:
        return "out of memory" in str(error)

    def release(self) -> None:
        self.released += 1


def run(runner, case=CUDA_CASE, **kwargs) -> CaseResult:
    return execute_case(runner, lambda name, size: None, case, SETTINGS, **kwargs)


def test_first_call_and_steady_state_peaks_are_recorded_apart():
    result = run(AllocatingRunner())
    assert result.status == Status.OK, result.details
    assert result.memory["first_call_cuda_peak_allocated_bytes"] == 950
    assert result.memory["cuda_peak_allocated_bytes"] == 150  # autotuning not counted


def test_telemetry_is_sampled_at_a_cuda_case_start_and_end():
    samples = iter([{"sm_clock_mhz": 1980}, {"sm_clock_mhz": 1410, "throttle_reasons": ["x"]}])
    result = run(AllocatingRunner(), gpu_watch=lambda: next(samples))
    assert result.gpu_telemetry == {
        "start": {"sm_clock_mhz": 1980},
        "end": {"sm_clock_mhz": 1410, "throttle_reasons": ["x"]},
    }
    assert result_from_json(result_to_json(result)).gpu_telemetry == result.gpu_telemetry


def test_cpu_cases_sample_no_gpu_telemetry():
    def never() -> dict:
        raise AssertionError("sampled on a CPU case")

    cpu = Case.from_id("mlp-torch-eager-cpu-infer-fp32-b1")
    runner = AllocatingRunner()
    runner.prepare = lambda spec, case, seed: prepared_case(  # type: ignore[method-assign]
        lambda: "cpu", lambda out: None, placed_on=lambda out: out
    )
    assert run(runner, cpu, gpu_watch=never).gpu_telemetry is None


def test_a_sticky_cuda_error_ends_the_worker_and_an_oom_does_not():
    illegal = run(AllocatingRunner(RuntimeError("CUDA error: an illegal memory access")))
    oom = run(AllocatingRunner(RuntimeError("CUDA error: out of memory")))
    plain = run(AllocatingRunner(ValueError("bad shape")))
    assert (illegal.status, illegal.ends_worker) == (Status.ERROR, True)
    assert (oom.status, oom.ends_worker) == (Status.OOM, False)
    assert (plain.status, plain.ends_worker) == (Status.ERROR, False)
    assert result_from_json(result_to_json(illegal)).ends_worker


def test_an_error_in_flops_or_numerics_is_the_case_error_and_memory_is_released():
    runner = AllocatingRunner()

    def numerics_crash(result: CaseResult) -> CaseResult:
        raise RuntimeError("CUDA error: device-side assert triggered")

    result = run(runner, after=numerics_crash)
    assert result.status == Status.ERROR and result.ends_worker
    assert "device-side assert" in (result.reason or "")
    assert runner.released == 1  # after the extras, not before them


def test_a_case_that_ran_throttled_gets_a_note_and_a_cool_one_none():
    hot = run(AllocatingRunner(), gpu_watch=lambda: {"throttle_reasons": ["hw_thermal_slowdown"]})
    cool = run(AllocatingRunner(), gpu_watch=lambda: {"throttle_reasons": []})
    notes = throttle_notes([merge(CUDA_CASE, [hot]), merge(CUDA_CASE, [cool])])
    assert len(notes) == 1
    assert CUDA_CASE.id in notes[0] and "hw_thermal_slowdown" in notes[0]
