"""GPU speed probe: a fixed float32 matrix product on the device, the CUDA counterpart of the
CPU probe in `probe`.

The CPU probe is pure Python: it follows the CPU (noisy neighbours, clocks) but says nothing
about the GPU, whose clocks, power cap and temperature move on their own. CUDA cases are
therefore normalised by this probe's drift (`--normalise-by-probe`), never the CPU one's.

It runs in a child process (``python -m twinbench.measure.gpu_probe``) so the pytest process
never imports a framework; that process uses PyTorch if it sees CUDA, else JAX's GPU platform,
and prints one JSON line: {"seconds": ..., "framework": ...} or {"seconds": null, "reason": ...}.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from twinbench.measure.gpu import collect_gpus, load_nvml, worker_environment

# Matrix side and repetitions: about a millisecond per product on a current data-centre GPU,
# long against launch overhead; the fastest of REPEAT timings of PRODUCTS products.
SIZE, PRODUCTS, REPEAT = 4096, 10, 7


def best_time(run_products: Callable[[], None], repeat: int = REPEAT) -> float:
    """Fastest of `repeat` timings of `run_products` (which ends with a device sync), per
    product, after one untimed call (kernel selection, allocation)."""
    run_products()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run_products()
        best = min(best, time.perf_counter() - start)
    return best / PRODUCTS


def _torch_products() -> Callable[[], None] | None:
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32, as in the cases
    a = torch.randn(SIZE, SIZE, device="cuda")

    def run() -> None:
        for _ in range(PRODUCTS):
            a @ a
        torch.cuda.synchronize()

    return run


def _jax_products() -> Callable[[], None] | None:
    try:
        import jax
        import jax.numpy as jnp

        device = jax.devices("gpu")[0]
    except (ImportError, RuntimeError):
        return None
    a = jax.device_put(jnp.ones((SIZE, SIZE), jnp.float32), device)
    square = jax.jit(lambda m: m @ m, inline=True)

    def run() -> None:
        out = a
        for _ in range(PRODUCTS):
            out = square(a)
        out.block_until_ready()

    return run


def probe_here() -> dict[str, Any]:
    """The probe in this process: seconds per product, or why there is none."""
    for framework, make in (("torch", _torch_products), ("jax", _jax_products)):
        run = make()
        if run is not None:
            return {"seconds": best_time(run), "framework": framework}
    return {"seconds": None, "reason": "no framework here sees a CUDA device"}


def any_gpu_visible() -> bool:
    """Whether NVML or nvidia-smi sees a GPU that CUDA_VISIBLE_DEVICES leaves visible."""
    return bool(collect_gpus(load_nvml())["gpus"])


def measure_gpu_probe(
    timeout_s: float = 300.0,
    run: Callable[..., Any] = subprocess.run,
    gpu_visible: Callable[[], bool] = any_gpu_visible,
) -> float | None:
    """The probe measured in a child process, seconds per product; None without a GPU (or
    when the child fails: the run goes on without GPU normalisation). Without a visible GPU
    no child starts: importing a framework there would cost seconds for nothing."""
    if not gpu_visible():
        return None
    try:
        done = run(
            [sys.executable, "-m", "twinbench.measure.gpu_probe"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=worker_environment(),
        )
        seconds = json.loads(done.stdout.strip().splitlines()[-1]).get("seconds")
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
    return float(seconds) if seconds else None


if __name__ == "__main__":
    print(json.dumps(probe_here()))
