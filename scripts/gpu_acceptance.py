"""GPU acceptance: run every CUDA path of twinbench once, on one GPU, and write a summary.

    python scripts/gpu_acceptance.py [--out gpu-acceptance] [--threads 4]

Exercises, with whatever frameworks are installed: PyTorch on CUDA (eager, torch.compile,
bf16 autocast, a convolution under cudnn.benchmark, the fit loop), Keras on TensorFlow (graph,
XLA, bf16, convolution, model.fit; TensorFlow's CUDA path is written from its documentation),
Keras on JAX and on PyTorch (infer and train), each through the real worker processes, with
the reference-output check. Around them: the GPU fingerprint (NVML, else nvidia-smi), per-case
NVML telemetry, the first-call and steady-state memory peaks, and the GPU speed probe. Meant
to take a few minutes (well under 10) on one data-centre GPU.

Writes SUMMARY.json and SUMMARY.txt under --out; exits 1 when a CUDA path failed, 0 when all
ran (or skipped with a reason), and 0 with a "no GPU" summary on a machine without one.

Until this script has passed on a GPU, every path it runs is unverified on CUDA (only proven
with fakes at the boundary): PyTorch CUDA (sync, cudnn.benchmark, torch.compile, bf16
autocast, the fit loop with pinned memory, allocator peaks); Keras on TensorFlow's GPU (memory
growth, soft placement off, XLA, mixed bfloat16, model.fit, TF's memory stats); Keras on JAX's
and on PyTorch's GPU (device-resident inputs, the jitted/eager training loops, memory stats);
real NVML answers (MIG handles, clock-event reasons); the GPU probe; a sticky CUDA error
ending a worker; one GPU worker at a time after an out-of-memory error.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NUMERICS = ROOT / "fixtures" / "numerics"
# (label, KERAS_BACKEND for the worker or None, case ids): small shapes, every CUDA path.
PLAN: list[tuple[str, str | None, str, list[str]]] = [
    (
        "pytorch",
        None,
        "torch",
        [
            "mlp-torch-eager-cuda-infer-fp32-b64",
            "mlp-torch-eager-cuda-train-fp32-b64",
            "mlp-torch-compile-cuda-infer-fp32-b64",
            "mlp-torch-compile-cuda-train-fp32-b64",
            "mlp-torch-eager-cuda-infer-bf16-b64",
            "cnn-torch-eager-cuda-train-fp32-b32",
            "mlp-torch-eager-cuda-fit-fp32-b64",
        ],
    ),
    (
        "keras-tensorflow",
        "tensorflow",
        "tensorflow",
        [
            "mlp-keras-graph-cuda-infer-fp32-b64",
            "mlp-keras-graph-cuda-train-fp32-b64",
            "mlp-keras-xla-cuda-train-fp32-b64",
            "mlp-keras-graph-cuda-infer-bf16-b64",
            "cnn-keras-graph-cuda-train-fp32-b32",
            "mlp-keras-graph-cuda-fit-fp32-b64",
        ],
    ),
    (
        "keras-jax",
        "jax",
        "jax",
        ["mlp-keras-graph-cuda-infer-fp32-b64", "mlp-keras-graph-cuda-train-fp32-b64"],
    ),
    (
        "keras-torch",
        "torch",
        "torch",
        ["mlp-keras-graph-cuda-infer-fp32-b64", "mlp-keras-graph-cuda-train-fp32-b64"],
    ),
]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))  # a checkout without `pip install -e .`
    from twinbench.measure.gpu import collect_gpus, load_nvml

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    gpus = collect_gpus(load_nvml())
    summary: dict[str, Any] = {"gpus": gpus}
    if not gpus["gpus"]:
        summary["status"] = "no-gpu"
        summary["message"] = (
            "no GPU visible (neither NVML nor nvidia-smi found one, or CUDA_VISIBLE_DEVICES "
            "hides them all): nothing to check here; run this on a machine with a GPU"
        )
        return _finish(out, summary, started)
    from twinbench.measure.gpu_probe import measure_gpu_probe

    summary["gpu_probe_start_s"] = measure_gpu_probe()
    summary["groups"] = [_run_group(group, args.threads) for group in PLAN]
    summary["gpu_probe_end_s"] = measure_gpu_probe()
    failed = [c for g in summary["groups"] for c in g["cases"] if c["problems"]]
    summary["status"] = "failed" if failed else "ok"
    return _finish(out, summary, started)


def _run_group(group: tuple[str, str | None, str, list[str]], threads: int) -> dict[str, Any]:
    label, backend, needs, case_ids = group
    if importlib.util.find_spec(needs) is None:
        return {"group": label, "skipped": f"{needs} is not installed", "cases": []}
    from twinbench.core.cases import Case
    from twinbench.execute.pool import WorkerPool
    from twinbench.measure.timing import TimingSettings

    if backend is not None:
        os.environ["KERAS_BACKEND"] = backend  # the worker's Keras backend
    pool = WorkerPool(processes=1, threads=threads, numerics_dir=NUMERICS)
    timing = TimingSettings(warmup_s=0.2, min_sample_s=0.02, rounds=3)
    try:
        results = pool.measure_all([Case.from_id(i) for i in case_ids], timing)
    finally:
        pool.close()
    cases = [_check(case_id, processes[0]) for case_id, processes in results.items()]
    return {"group": label, "runner": pool.runner_metadata, "cases": cases}


def _check(case_id: str, result: Any) -> dict[str, Any]:
    """What the case shows, and each expectation of a CUDA path it does not meet."""
    problems = []
    if result.status == "skipped":
        return {"case": case_id, "status": "skipped", "reason": result.reason, "problems": []}
    if result.status != "ok":
        problems.append(f"{result.status}: {result.reason}")
    else:
        if result.ran_on != "cuda":
            problems.append(f"ran on {result.ran_on}")
        if not any(k.startswith("first_call_") for k in result.memory):
            problems.append("no first-call device memory peak")
        numerics = (result.numerics or {}).get("status")
        if numerics not in (None, "same", "no-reference"):
            problems.append(f"numerics {numerics}")
    samples = result.measurement.samples if result.measurement else []
    return {
        "case": case_id,
        "status": result.status,
        "median_ms": sorted(samples)[len(samples) // 2] * 1e3 if samples else None,
        "first_call_s": result.first_call_s,
        "memory": result.memory,
        "numerics": (result.numerics or {}).get("status"),
        "telemetry": result.gpu_telemetry,
        "problems": problems,
    }


def _finish(out: Path, summary: dict[str, Any], started: float) -> int:
    summary["seconds"] = round(time.perf_counter() - started, 1)
    (out / "SUMMARY.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    text = "\n".join(_text_lines(summary)) + "\n"
    (out / "SUMMARY.txt").write_text(text)
    print(text, end="")
    return 1 if summary["status"] == "failed" else 0


def _text_lines(summary: dict[str, Any]) -> list[str]:
    lines = [f"GPU acceptance: {summary['status']} in {summary['seconds']} s"]
    if summary["status"] == "no-gpu":
        return [*lines, summary["message"]]
    for gpu in summary["gpus"]["gpus"]:
        lines.append(f"GPU: {gpu['name']} ({gpu['uuid']}), cc {gpu['compute_capability']}")
    lines.append(f"GPU probe: {summary['gpu_probe_start_s']} -> {summary['gpu_probe_end_s']} s")
    for group in summary["groups"]:
        lines.append(f"[{group['group']}] {group.get('skipped', '')}".rstrip())
        for case in group["cases"]:
            shown = f"{case['median_ms']:.3f} ms" if case.get("median_ms") else case["status"]
            lines.append(f"  {case['case']}: {shown} {'; '.join(case['problems'])}".rstrip())
    return lines


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="gpu-acceptance", help="folder for SUMMARY.json/.txt")
    parser.add_argument("--threads", type=int, default=4, help="CPU threads per worker")
    return parser


if __name__ == "__main__":
    sys.exit(main())
