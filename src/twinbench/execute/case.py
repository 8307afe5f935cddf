"""Run one case in isolation: an out-of-memory error or a crash becomes the case's status."""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from twinbench.core.cases import Case
from twinbench.core.status import Status
from twinbench.measure.inject import slowed
from twinbench.measure.timing import Measurement, TimingSettings, measure
from twinbench.runners.base import Runner
from twinbench.zoo.spec import ModelSpec


class WrongDevice(RuntimeError):
    """The framework ran the step somewhere other than the device the case asked for."""


@dataclass
class CaseResult:
    """Outcome of one case: its measurement when it ran, else why not."""

    case: Case
    status: str
    reason: str | None = None
    first_call_s: float | None = None
    measurement: Measurement | None = None
    memory: dict[str, int] = field(default_factory=dict)
    ran_on: str | None = None
    # Work per step (counted on the PyTorch twin) and this process' matmul peak, FLOP/s.
    flops_per_step: int | None = None
    peak_flops: float | None = None
    # Reference-output check (numerics.NumericsCheck as a dict), None when not made.
    numerics: dict[str, Any] | None = None
    # What the compiler did for a compiled variant (PreparedCase.compile_info); {} otherwise.
    compile_info: dict[str, int] = field(default_factory=dict)
    # Fit mode: what the timed model learned ({"accuracy": ..., "epochs": ...}), else None.
    fit: dict[str, Any] | None = None
    # Full traceback of an error, for the pytest report; not stored in the run file.
    details: str | None = None
    # Skipped because the case's device is not visible: the one skip --require-gpu fails.
    device_missing: bool = False
    # CUDA cases: NVML telemetry of the GPU at the case's start and end ({"start", "end"}).
    gpu_telemetry: dict[str, Any] | None = None
    # The error left the device unusable (a non-OOM CUDA error is sticky): the worker exits
    # after replying, so the next case gets a fresh process.
    ends_worker: bool = False


# What a CUDA error that poisons the process' context says (CUDA runtime, cuBLAS, cuDNN, XLA).
STICKY_DEVICE_ERRORS = (
    "CUDA error",
    "cudaError",
    "CUBLAS_STATUS",
    "CUDNN_STATUS",
    "illegal memory access",
    "CUDA_ERROR",
)


def ends_worker(error: BaseException, out_of_memory: bool) -> bool:
    """Whether `error` is a device error after which this process cannot measure again."""
    return not out_of_memory and any(sign in str(error) for sign in STICKY_DEVICE_ERRORS)


def execute_case(
    runner: Runner,
    load_spec: Callable[[str, str], ModelSpec],
    case: Case,
    settings: TimingSettings,
    seed: int = 0,
    after: Callable[[CaseResult], CaseResult] = lambda result: result,
    gpu_watch: Callable[[], dict[str, Any]] | None = None,
) -> CaseResult:
    """Build, check placement, time, then `after` (FLOPs, numerics); never raises for errors
    inside the case. `gpu_watch` samples the GPU's telemetry at a CUDA case's start and end."""
    rss_before = resident_set_bytes()
    watch = gpu_watch if case.device == "cuda" and gpu_watch is not None else None
    start = watch() if watch else None
    try:
        spec = load_spec(case.model, case.size)
        result = _measure_case(runner, spec, case, settings, seed, rss_before)
        result = after(result)
    except Exception as error:  # isolation: the next case must still run
        out_of_memory = runner.is_out_of_memory(error)
        result = CaseResult(
            case=case,
            status=Status.OOM if out_of_memory else Status.ERROR,
            reason=f"{type(error).__name__}: {error}"[:500],
            details=traceback.format_exc(),
            ends_worker=ends_worker(error, out_of_memory),
        )
    finally:
        runner.release()
    if watch:
        result.gpu_telemetry = {"start": start, "end": watch()}
    return result


def _measure_case(
    runner: Runner,
    spec: ModelSpec,
    case: Case,
    settings: TimingSettings,
    seed: int,
    rss_before: int | None,
) -> CaseResult:
    prepared = runner.prepare(spec, case, seed)
    runner.reset_peak_memory(case.device)
    start = time.perf_counter()
    out = prepared.run_once()
    first_call_s = time.perf_counter() - start
    ran_on = prepared.placed_on(out)
    if ran_on != case.device:  # never let a silent CPU fallback pass as a CUDA figure
        raise WrongDevice(f"asked for {case.device}, the output is on {ran_on}")
    # The first call traces, compiles and autotunes (cuDNN, XLA, Inductor): its peak is kept
    # apart, and the steady-state window starts after it.
    first_call_peak = runner.peak_memory(case.device)
    del out
    runner.reset_peak_memory(case.device)
    steady = measure(slowed(prepared.time_loops, case.id), settings)
    memory = (
        runner.peak_memory(case.device)
        | {f"first_call_{key}": value for key, value in first_call_peak.items()}
        | cpu_memory(rss_before)
    )
    learned = prepared.evaluate() if prepared.evaluate is not None else None
    return CaseResult(
        case=case,
        status=Status.OK,
        first_call_s=first_call_s,
        measurement=steady,
        memory=memory,
        ran_on=ran_on,
        compile_info=prepared.compile_info(),
        fit=learned,
    )


def cpu_memory(rss_before: int | None) -> dict[str, int]:
    """Host memory: growth of this process' resident set over the case, and its peak so far.

    Both frameworks allocate from their own pools and keep memory cached, so the growth is an
    upper bound on what the case needed that a previous case had not already reserved; the
    peak is process-wide (getrusage), not per case.
    """
    memory: dict[str, int] = {}
    rss_after = resident_set_bytes()
    if rss_before is not None and rss_after is not None:
        memory["cpu_rss_growth_bytes"] = rss_after - rss_before
    try:
        import resource

        memory["process_peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    except (ImportError, OSError):
        pass
    return memory


def resident_set_bytes() -> int | None:
    """Current resident set size of this process (Linux /proc), or None elsewhere."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class CaseRun:
    """One case over all the worker processes that measured it.

    Processes, not samples, are the unit of replication: part of the noise is per process and
    stable inside it (DESIGN decision 4), so each case is measured in several processes.
    """

    case: Case
    status: str
    processes: list[CaseResult]
    reason: str | None = None
    details: str | None = None

    @property
    def measured(self) -> list[CaseResult]:
        """The processes that produced samples."""
        return [p for p in self.processes if p.measurement is not None]


def merge(case: Case, processes: list[CaseResult]) -> CaseRun:
    """Combine per-process results; the first failing process decides a non-ok status."""
    failed = next((p for p in processes if p.status != Status.OK), None)
    if failed is None:
        return CaseRun(case=case, status=Status.OK, processes=processes)
    return CaseRun(
        case=case,
        status=failed.status,
        processes=processes,
        reason=failed.reason,
        details=failed.details,
    )


def throttle_notes(runs: list[CaseRun]) -> list[str]:
    """One line per CUDA case whose GPU was throttled at its start or end (NVML telemetry)."""
    notes = []
    for run in runs:
        reasons = sorted(
            {
                reason
                for process in run.processes
                for sample in (process.gpu_telemetry or {}).values()
                for reason in (sample or {}).get("throttle_reasons") or []
            }
        )
        if reasons:
            notes.append(
                f"{run.case.id}: the GPU was throttled ({', '.join(reasons)}); its times "
                "measure the GPU's state as much as the code"
            )
    return notes


def result_to_json(result: CaseResult) -> dict[str, Any]:
    """A CaseResult as plain JSON data (worker -> parent)."""
    data = asdict(result)
    data["case"] = result.case.id
    return data


def result_from_json(data: dict[str, Any]) -> CaseResult:
    """Inverse of `result_to_json`."""
    measurement = data.get("measurement")
    return CaseResult(
        case=Case.from_id(data["case"]),
        status=data["status"],
        reason=data.get("reason"),
        first_call_s=data.get("first_call_s"),
        measurement=Measurement(**measurement) if measurement else None,
        memory=data.get("memory") or {},
        ran_on=data.get("ran_on"),
        flops_per_step=data.get("flops_per_step"),
        peak_flops=data.get("peak_flops"),
        numerics=data.get("numerics"),
        compile_info=data.get("compile_info") or {},
        fit=data.get("fit"),
        details=data.get("details"),
        device_missing=bool(data.get("device_missing")),
        gpu_telemetry=data.get("gpu_telemetry"),
        ends_worker=bool(data.get("ends_worker")),
    )


def describe(run: CaseRun) -> dict[str, Any]:
    """Short status record for a case that produced no samples (run file `unmeasured`)."""
    return {"case": run.case.id, "status": run.status, "reason": run.reason}
