"""What differs between Keras' JAX and PyTorch backends, in one table (`BACKENDS`).

Each backend steps the Keras model with the training loop its Keras guide writes ("Writing a
training loop from scratch in JAX / in PyTorch"), not `predict_on_batch`/`train_on_batch`:
those return host copies, so every step would pay a device-to-host copy and a sync that the
native runners do not pay. Here inputs are copied to the device once, a step returns a device
array, and the timed region syncs once per sample, as in the TensorFlow and PyTorch runners.

JAX: the forward pass and the train step are `jax.jit`-compiled functions of the model's
state (`stateless_call`, `optimizer.stateless_apply`): what Keras' own "auto" does on JAX.
PyTorch: eager autograd and the Keras optimizer, what Keras' "auto" does on torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

# A prepared step: model, optimizer, loss, device inputs x and y -> a call returning the output.
StepFactory = Callable[[Any, Any, Any, Any, Any], Callable[[], Any]]


@dataclass(frozen=True)
class Backend:
    """One Keras backend's way of doing each thing the portable runner needs."""

    # Sets precision (and threads where the backend can) before the first case.
    configure: Callable[[int], None]
    # Names of the GPUs this backend sees.
    gpu_names: Callable[[], list[str]]
    # Keras' device name for a case's device ("cpu"/"cuda").
    device_name: Callable[[str], str]
    # A NumPy array copied once onto a case's device.
    to_device: Callable[[np.ndarray, str], Any]
    # (model, x) -> inference step; (model, optimizer, loss, x, y) -> train step.
    infer_step: Callable[[Any, Any], Callable[[], Any]]
    train_step: StepFactory
    # Per device: waits for a step's output inside the timed region.
    sync: Callable[[str], Callable[[Any], None]]
    # "cpu" or "cuda": where a step's output was computed.
    placed_on: Callable[[Any], str]
    # Square float32 matrix on a device and a function multiplying it by itself.
    matmul: Callable[[int, str], Callable[[], Any]]
    reset_peak_memory: Callable[[], None]
    # Device memory by what the backend reports.
    peak_memory: Callable[[], dict[str, int]]
    # (framework version, whether float32 matmuls may use TF32), read from live settings.
    version_and_tf32: Callable[[], tuple[str, bool]]
    # Why the `xla` variant cannot run on this backend (None: it can).
    no_xla: str | None
    # Whether `configure` can hold the process to the requested thread count.
    sets_threads: bool


def _jax_configure(_threads: int) -> None:
    # XLA's CPU client sizes its own thread pool (all cores); jax has no per-process
    # setting, so the thread count is not enforced (metadata: threads None).
    import jax

    jax.config.update("jax_default_matmul_precision", "highest")  # no TF32, as elsewhere


def _jax_device(device: str) -> Any:
    import jax

    return jax.devices("gpu" if device == "cuda" else "cpu")[0]


def _jax_put(array: np.ndarray, device: str) -> Any:
    import jax

    return jax.device_put(array, _jax_device(device))


def _jax_gpu_names() -> list[str]:
    import jax

    try:
        return [str(d) for d in jax.devices("gpu")]
    except RuntimeError:  # no GPU platform in this jaxlib
        return []


def _jax_infer_step(model: Any, x: Any) -> Callable[[], Any]:
    import jax

    trainable = [v.value for v in model.trainable_variables]
    frozen = [v.value for v in model.non_trainable_variables]
    forward = jax.jit(lambda tv, ntv, x: model.stateless_call(tv, ntv, x, training=False)[0])
    return lambda: forward(trainable, frozen, x)


def _jax_train_step(model: Any, optimizer: Any, loss_fn: Any, x: Any, y: Any) -> Callable[[], Any]:
    import jax

    optimizer.build(model.trainable_variables)

    def loss_and_state(tv: Any, ntv: Any) -> tuple[Any, Any]:
        logits, ntv = model.stateless_call(tv, ntv, x, training=True)
        return loss_fn(y, logits), ntv

    grad_fn = jax.value_and_grad(loss_and_state, has_aux=True)

    @jax.jit
    def train(state: tuple[Any, Any, Any]) -> tuple[Any, tuple[Any, Any, Any]]:
        tv, ntv, ov = state
        (loss, ntv), grads = grad_fn(tv, ntv)
        tv, ov = optimizer.stateless_apply(ov, grads, tv)
        return loss, (tv, ntv, ov)

    state = [
        tuple([v.value for v in variables])
        for variables in (model.trainable_variables, model.non_trainable_variables)
    ] + [tuple(v.value for v in optimizer.variables)]
    holder = {"state": tuple(state)}

    def step() -> Any:
        loss, holder["state"] = train(holder["state"])
        return loss

    return step


def _jax_memory() -> dict[str, int]:
    """JAX has no reset for its peak: `peak_bytes_in_use` is the process' high-water mark over
    every case so far, and the key says so; `bytes_in_use` is what this case still holds."""
    import jax

    stats = jax.devices("gpu")[0].memory_stats() or {}
    return {
        "jax_gpu_lifetime_peak_bytes": int(stats.get("peak_bytes_in_use", 0)),
        "jax_gpu_bytes_in_use": int(stats.get("bytes_in_use", 0)),
    }


def _jax_version_and_tf32() -> tuple[str, bool]:
    import jax

    precision = getattr(jax.config, "jax_default_matmul_precision", None)
    return jax.__version__, precision not in ("highest", "float32")


def _jax_matmul(n: int, device: str) -> Callable[[], Any]:
    import jax

    a = _jax_put(np.random.default_rng(0).standard_normal((n, n), np.float32), device)
    square = jax.jit(lambda m: m @ m)
    return lambda: square(a)


JAX = Backend(
    configure=_jax_configure,
    gpu_names=_jax_gpu_names,
    device_name=lambda device: "gpu:0" if device == "cuda" else "cpu:0",
    to_device=lambda array, device: _jax_put(array, device),
    infer_step=_jax_infer_step,
    train_step=_jax_train_step,
    sync=lambda _device: lambda out: out.block_until_ready(),
    placed_on=lambda out: "cuda" if next(iter(out.devices())).platform == "gpu" else "cpu",
    matmul=_jax_matmul,
    reset_peak_memory=lambda: None,
    peak_memory=_jax_memory,
    version_and_tf32=_jax_version_and_tf32,
    no_xla=None,
    sets_threads=False,
)


def _torch_configure(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = torch.cuda.is_available()  # as the PyTorch runner


def _torch_infer_step(model: Any, x: Any) -> Callable[[], Any]:
    import torch

    def step() -> Any:
        with torch.no_grad():  # what Keras' torch predict_step does
            return model(x, training=False)

    return step


def _torch_train_step(
    model: Any, optimizer: Any, loss_fn: Any, x: Any, y: Any
) -> Callable[[], Any]:
    """Keras' torch train_step: forward, loss, backward, the Keras optimizer's update."""
    import torch

    optimizer.build(model.trainable_variables)

    def step() -> Any:
        loss = loss_fn(y, model(x, training=True))
        model.zero_grad()
        loss.backward()
        grads = [v.value.grad for v in model.trainable_variables]
        with torch.no_grad():
            optimizer.apply(grads, model.trainable_variables)
        return loss.detach()

    return step


def _torch_put(array: np.ndarray, device: str) -> Any:
    import torch

    return torch.from_numpy(array).to(device)


def _torch_matmul(n: int, device: str) -> Callable[[], Any]:
    import torch

    a = torch.randn(n, n, device=device)
    return lambda: a @ a


def _torch_sync(device: str) -> Callable[[Any], None]:
    from twinbench.runners.pytorch import device_sync

    return device_sync(device)


def _torch_gpu_names() -> list[str]:
    import torch

    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def _torch_reset_peak() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def _torch_memory() -> dict[str, int]:
    import torch

    # The PyTorch runner's key: the same allocator, so the report reads both alike.
    return {"cuda_peak_allocated_bytes": int(torch.cuda.max_memory_allocated())}


def _torch_version_and_tf32() -> tuple[str, bool]:
    import torch

    return torch.__version__, bool(torch.backends.cuda.matmul.allow_tf32)


TORCH = Backend(
    configure=_torch_configure,
    gpu_names=_torch_gpu_names,
    # Plain "cpu"/"cuda": variables created under `keras.device("cpu:0")` are not autograd
    # leaves, and training then finds no gradients (the Keras version: docs/measurements.md).
    device_name=lambda device: device,
    to_device=lambda array, device: _torch_put(array, device),
    infer_step=_torch_infer_step,
    train_step=_torch_train_step,
    sync=_torch_sync,
    placed_on=lambda out: "cuda" if out.device.type == "cuda" else "cpu",
    matmul=_torch_matmul,
    reset_peak_memory=_torch_reset_peak,
    peak_memory=_torch_memory,
    version_and_tf32=_torch_version_and_tf32,
    no_xla="Keras' torch backend has no XLA (its jit_compile=True means torch.compile, "
    "benchmarked natively as torch/compile)",
    sets_threads=True,
)

BACKENDS: dict[str, Backend] = {"jax": JAX, "torch": TORCH}
