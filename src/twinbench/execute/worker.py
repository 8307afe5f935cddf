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
from dataclasses import asdict, replace
from pathlib import Path
from typing import IO, Any

from twinbench.core.cases import Case, unsupported
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
from twinbench.measure.flops import count_step_flops
from twinbench.measure.timing import TimingSettings
from twinbench.runners import load_runner
from twinbench.runners.base import Runner
from twinbench.zoo import load_spec


def serve(framework: str, threads: int, requests: IO[str], replies: IO[str]) -> None:
    """Answer measurement requests until stdin closes."""
    runner, startup_error = _start_runner(framework, threads)
    peaks: dict[str, float] = {}  # matmul peak per device, measured once per process
    checks: dict[tuple[str, ...], dict[str, Any]] = {}  # one numerics check per cell
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
            result = measure_one(runner, case, request)
            if result.status == Status.OK:
                result = with_flops(runner, result, peaks)
                result = with_numerics(runner, result, request.get("numerics_dir"), checks)
        reply: dict[str, Any] = {"result": result_to_json(result)}
        if runner is not None:
            reply["runner"] = runner.metadata()
        replies.write(json.dumps(reply, allow_nan=False) + "\n")
        replies.flush()


def measure_one(runner: Runner, case: Case, request: dict[str, Any]) -> CaseResult:
    """Skip an unsupported case, device or variant, else measure the case in this process."""
    unavailable = (
        unsupported(case)
        or fit_unsupported(case)
        or runner.device_available(case.device)
        or runner.variant_available(case)
    )
    if unavailable:
        return CaseResult(case=case, status=Status.SKIPPED, reason=unavailable)
    # A fit step is an epoch: the profile's timing is for steps of micro- to milliseconds.
    timing = FIT_TIMING if case.mode == "fit" else TimingSettings(**request["timing"])
    return execute_case(runner, load_spec, case, timing, seed=int(request.get("seed", 0)))


def with_flops(runner: Runner, result: CaseResult, peaks: dict[str, float]) -> CaseResult:
    """Add the case's FLOPs per step and this process' peak FLOP/s on its device."""
    case = result.case
    if case.device not in peaks:
        peaks[case.device] = runner.peak_flops(case.device)
    try:
        flops = count_step_flops(load_spec(case.model, case.size), case.mode, case.batch)
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
        try:
            references = load_references(reference_path(Path(numerics_dir), case.sized_model))
        except RunFileError as error:  # reported with the case, never treated as "no file"
            checks[key] = {"status": "unreadable-reference", "error": str(error)}
        else:
            reference = stored_output(references, case.framework, case.mode)
            check = check_output(output, reference, case.precision)
            checks[key] = asdict(check)
    return replace(result, numerics=checks[key])


def _start_runner(framework: str, threads: int) -> tuple[Runner | None, str | None]:
    try:
        runner = load_runner(framework)
        runner.configure(threads)
    except Exception as error:
        traceback.print_exc()
        return None, f"cannot start {framework}: {type(error).__name__}: {error}"[:500]
    return runner, None


def main() -> None:
    """Entry point: keep the real stdout for the protocol, send all other output to stderr."""
    framework, threads = sys.argv[1], int(sys.argv[2])
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # C-level prints must not corrupt replies
    serve(framework, threads, sys.stdin, replies)


if __name__ == "__main__":
    main()
