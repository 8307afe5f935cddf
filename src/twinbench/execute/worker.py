"""Worker process: measures cases of one framework, one JSON line in, one JSON line out.

Started by `twinbench.execute.pool` as ``python -m twinbench.execute.worker FRAMEWORK THREADS``.
Measuring in workers gives what one process cannot: several independent processes per case
(per-process noise is real and stable inside a process), frameworks that never share a process
(their thread pools interfere), and a crash or an out-of-memory kill that takes down a worker,
not pytest.

Protocol on stdin/stdout, one JSON object per line:
  worker -> parent  {"ready": true}   once, after importing and configuring the framework
  parent -> worker  {"case": "mlp-keras-graph-cpu-infer-fp32-b64", "timing": {...}, "seed": 0}
  worker -> parent  {"result": {...CaseResult...}, "runner": {...runner metadata...}}
Anything else the frameworks print goes to stderr.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import IO, Any

from twinbench.core.cases import Case, reference_framework, unsupported
from twinbench.core.jsonfile import RunFileError
from twinbench.core.status import Status
from twinbench.execute.case import CaseResult, execute_case, result_to_json
from twinbench.execute.fit import FIT_TIMING, fit_unsupported
from twinbench.execute.numerics import (
    REFERENCE_BATCH,
    REFERENCE_SEED,
    check_output,
    load_references,
    reference_path,
    stored_output,
)
from twinbench.execute.pool import CPUS_ENV
from twinbench.measure.gpu import load_nvml, telemetry, visible_handles
from twinbench.measure.timing import TimingSettings
from twinbench.runners import load_runner
from twinbench.runners.base import Runner
from twinbench.runners.twin_export import step_flops
from twinbench.zoo import load_spec


def serve(framework: str, threads: int, requests: IO[str], replies: IO[str]) -> None:
    """Answer measurement requests until stdin closes."""
    runner, startup_error = _start_runner(framework, threads)
    peaks: dict[str, float] = {}  # matmul peak per device, measured once per process
    checks: dict[tuple[str, ...], dict[str, Any]] = {}  # one numerics check per cell
    gpu_watch = _gpu_watch()
    # Ready: the parent waits for every worker's import before measuring in any of them.
    replies.write(json.dumps({"ready": startup_error is None}) + "\n")
    replies.flush()
    for line in requests:
        request = json.loads(line)
        case = Case.from_id(request["case"])
        if startup_error is not None:
            result = CaseResult(case=case, status=Status.ERROR, reason=startup_error)
        else:
            assert runner is not None
            after = _flops_and_numerics(runner, peaks, checks, request.get("numerics_dir"))
            result = measure_one(runner, case, request, after, gpu_watch)
        reply: dict[str, Any] = {"result": result_to_json(result)}
        if runner is not None and not result.ends_worker:
            reply["runner"] = runner.metadata()
        replies.write(json.dumps(reply, allow_nan=False) + "\n")
        replies.flush()
        if result.ends_worker:  # a sticky CUDA error: the pool starts a fresh worker
            return


def measure_one(
    runner: Runner,
    case: Case,
    request: dict[str, Any],
    after: Callable[[CaseResult], CaseResult] = lambda result: result,
    gpu_watch: Callable[[], dict[str, Any]] | None = None,
) -> CaseResult:
    """Skip an unsupported case, device or variant, else measure the case in this process,
    then add `after` (FLOPs, numerics) inside the case's error isolation."""
    gap = unsupported(case) or fit_unsupported(case)
    no_device = None if gap else runner.device_available(case.device)
    unavailable = gap or no_device or runner.variant_available(case)
    if unavailable:
        # Only a missing device is marked: bf16 on a CPU or an unavailable compiler stay
        # skips under --require-gpu.
        missing = no_device is not None
        return CaseResult(case, Status.SKIPPED, reason=unavailable, device_missing=missing)
    # A fit step is an epoch: the profile's timing is for steps of micro- to milliseconds.
    timing = FIT_TIMING if case.mode == "fit" else TimingSettings(**request["timing"])
    seed = int(request.get("seed", 0))
    return execute_case(runner, load_spec, case, timing, seed, after, gpu_watch)


def with_flops(runner: Runner, result: CaseResult, peaks: dict[str, float]) -> CaseResult:
    """Add the case's FLOPs per step and this process' peak FLOP/s on its device.

    FLOPs are counted on the PyTorch twin: in this process for a PyTorch worker, in a
    torch-only child for a Keras worker that has not imported torch (runners/twin_export.py).
    """
    case = result.case
    if case.device not in peaks:
        peaks[case.device] = runner.peak_flops(case.device)
    try:
        flops = step_flops(load_spec(case.model, case.size), case)
    except Exception:  # a counter gap must not cost the timing; say so on stderr
        traceback.print_exc()
        flops = None
    return replace(result, flops_per_step=flops, peak_flops=peaks[case.device])


def with_numerics(
    runner: Runner,
    result: CaseResult,
    numerics_dir: str | None,
    checks: dict[tuple[str, ...], dict[str, Any]],
) -> CaseResult:
    """Add the reference-output check of the case's model, mode, device, variant, precision.

    Every variant is checked against the framework's stored (default-variant, float32)
    reference, with the case's own step: a compiler that changes the results is caught.
    """
    case = result.case
    if numerics_dir is None or case.mode == "fit":  # fit's check is its accuracy
        return result
    key = (case.model, case.mode, case.device, case.variant, case.precision)
    if key not in checks:
        reference_case = replace(case, batch=REFERENCE_BATCH)
        prepared = runner.prepare(load_spec(case.model, case.size), reference_case, REFERENCE_SEED)
        output = runner.to_numpy(prepared.run_once())
        del prepared  # the second model: freed (execute_case releases caches after this)
        try:
            references = load_references(reference_path(Path(numerics_dir), case.sized_model))
        except RunFileError as error:  # reported with the case, never treated as "no file"
            checks[key] = {"status": "unreadable-reference", "error": str(error)}
        else:
            reference = stored_output(references, reference_framework(case.framework), case.mode)
            check = check_output(output, reference, case.precision)
            checks[key] = asdict(check)
    return replace(result, numerics=checks[key])


def _flops_and_numerics(
    runner: Runner,
    peaks: dict[str, float],
    checks: dict[tuple[str, ...], dict[str, Any]],
    numerics_dir: str | None,
) -> Callable[[CaseResult], CaseResult]:
    """What a measured case gets added: FLOPs, the matmul peak, the numerics check."""

    def after(result: CaseResult) -> CaseResult:
        return with_numerics(runner, with_flops(runner, result, peaks), numerics_dir, checks)

    return after


def _gpu_watch() -> Callable[[], dict[str, Any]] | None:
    """Telemetry of the GPU this worker's cases use (the first visible), None without NVML."""
    nvml = load_nvml()
    if nvml is None:
        return None
    try:
        handle = visible_handles(nvml)[0]
    except Exception:  # no visible GPU, or NVML cannot resolve CUDA_VISIBLE_DEVICES
        return None
    return lambda: telemetry(nvml, handle)


def _start_runner(framework: str, threads: int) -> tuple[Runner | None, str | None]:
    try:
        runner = load_runner(framework)
        runner.configure(threads)
    except Exception as error:
        traceback.print_exc()
        return None, f"cannot start {framework}: {type(error).__name__}: {error}"[:500]
    return runner, None


def pin_to_requested_cpus(setting: str | None) -> None:
    """Pin this process to the CPUs the parent asked for (pool.CPUS_ENV), if any.

    Done first, before the framework starts its thread pools: threads inherit the mask.
    """
    if setting and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(cpu) for cpu in setting.split(",")})


def main() -> None:
    """Entry point: keep the real stdout for the protocol, send all other output to stderr."""
    pin_to_requested_cpus(os.environ.get(CPUS_ENV))
    framework, threads = sys.argv[1], int(sys.argv[2])
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # C-level prints must not corrupt replies
    serve(framework, threads, sys.stdin, replies)


if __name__ == "__main__":
    main()
