"""Keras 3 on its JAX or PyTorch backend (KERAS_BACKEND=jax|torch), one backend per process.

The same Keras model and weights as on TensorFlow, stepped with Keras' own backend-neutral
compiled paths: `predict_on_batch` (the backend's predict function, built once; not `predict`,
which builds a data adapter per call) and `train_on_batch` (its train function: JIT-compiled
with `jit_compile=True` on JAX; eager autograd on PyTorch, where Keras' "auto" does not use
torch.compile). Both return host values, so each step ends with the device sync included.

A backend is fixed when Keras is imported, so a process runs one backend: choose it with the
environment (`KERAS_BACKEND=jax pytest benches`, or the tox environments `bench-keras-jax`
and `bench-keras-torch`). The CUDA paths follow the JAX and PyTorch documentation and have
not been run by this project (no GPU was available when this was written).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from twinbench.core.cases import Case
from twinbench.measure.timing import loop_timer, no_sync
from twinbench.runners.base import (
    LEARNING_RATE,
    MOMENTUM,
    PEAK_MATMUL_SIZE,
    PreparedCase,
    best_rate,
)
from twinbench.zoo.spec import ModelSpec, make_batch, use_mixed_bfloat16

BACKENDS = ("jax", "torch")


def backend_name() -> str:
    """The Keras backend this process will use (from the environment)."""
    return os.environ.get("KERAS_BACKEND", "tensorflow")


class KerasPortableRunner:
    """Runs zoo models with Keras 3 on the JAX or PyTorch backend."""

    name = "keras"

    def __init__(self) -> None:
        self.backend = backend_name()
        if self.backend not in BACKENDS:
            raise RuntimeError(f"KERAS_BACKEND must be one of {BACKENDS}, got {self.backend!r}")
        self.threads = 0

    def configure(self, threads: int) -> None:
        self.threads = threads
        if self.backend == "jax":
            # XLA's CPU client sizes its own thread pool (all cores); jax offers no per-process
            # setting, so the thread count is not enforced here and the metadata says so.
            import jax

            # No TF32 for float32 matmuls on GPUs, as on the other sides.
            jax.config.update("jax_default_matmul_precision", "highest")
        else:
            import torch

            torch.set_num_threads(threads)
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        keras = _keras()
        if keras.backend.backend() != self.backend:
            raise RuntimeError(
                f"Keras started on {keras.backend.backend()!r}, not {self.backend!r}"
            )

    def device_available(self, device: str) -> str | None:
        if device == "cuda" and not _gpu_names(self.backend):
            return f"Keras' {self.backend} backend sees no CUDA device"
        return None

    def variant_available(self, case: Case) -> str | None:
        if case.mode == "fit":
            return f"fit mode is written for Keras on TensorFlow only, not on {self.backend}"
        if case.variant == "xla" and self.backend == "torch":
            return (
                "Keras' torch backend has no XLA (its jit_compile=True means torch.compile, "
                "benchmarked natively as torch/compile)"
            )
        return None

    def prepare(self, spec: ModelSpec, case: Case, seed: int) -> PreparedCase:
        keras = _keras()
        with keras.device(_device_name(self.backend, case.device)):
            model = spec.build_keras("float32")
            spec.transfer(spec.build_torch(seed), model)
            if case.precision == "bf16":
                use_mixed_bfloat16(model)
            model.compile(
                optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE, momentum=MOMENTUM),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                # graph: Keras' default ("auto": XLA on JAX, eager on torch); xla: forced.
                jit_compile=True if case.variant == "xla" else "auto",
            )
        x_np, y_np = make_batch(spec, case.batch, seed)
        x = spec.to_keras_layout(x_np)
        if case.mode == "infer":
            step: Callable[[], Any] = lambda: model.predict_on_batch(x)  # noqa: E731
        else:
            step = lambda: np.float32(model.train_on_batch(x, y_np))  # noqa: E731
        scope = lambda: keras.device(_device_name(self.backend, case.device))  # noqa: E731

        def run_once() -> Any:
            with scope():
                return step()

        return PreparedCase(
            time_loops=loop_timer(step, no_sync, scope),
            run_once=run_once,
            # The outputs are host copies: where the weights live says where the work ran.
            placed_on=lambda _out: _placement(self.backend, model),
            keepalive=[model, x, y_np],
        )

    def peak_flops(self, device: str) -> float:
        n = PEAK_MATMUL_SIZE[device]
        if self.backend == "jax":
            import jax

            a = jax.device_put(
                np.random.default_rng(0).standard_normal((n, n), np.float32),
                jax.devices("gpu" if device == "cuda" else "cpu")[0],
            )
            matmul = jax.jit(lambda m: m @ m)
            call: Callable[[], Any] = lambda: matmul(a).block_until_ready()  # noqa: E731
        else:
            import torch

            t = torch.randn(n, n, device=device)
            sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
            call = lambda: (t @ t, sync())  # noqa: E731
        time_loops = loop_timer(call, no_sync)
        time_loops(1)  # first call: compilation, kernel selection
        return best_rate(lambda: time_loops(2) / 2, 2.0 * n**3)

    def to_numpy(self, output: Any) -> np.ndarray:
        return np.asarray(output)

    def reset_peak_memory(self, device: str) -> None:
        if device == "cuda" and self.backend == "torch":
            import torch

            torch.cuda.reset_peak_memory_stats()

    def peak_memory(self, device: str) -> dict[str, int]:
        if device != "cuda":
            return {}
        if self.backend == "torch":
            import torch

            return {"torch_cuda_peak_bytes": int(torch.cuda.max_memory_allocated())}
        import jax

        stats = jax.devices("gpu")[0].memory_stats() or {}
        return {"jax_gpu_peak_bytes": int(stats.get("peak_bytes_in_use", 0))}

    def is_out_of_memory(self, error: BaseException) -> bool:
        return (
            isinstance(error, MemoryError)
            or "RESOURCE_EXHAUSTED" in str(error)
            or ("out of memory" in str(error).lower())
        )

    def release(self) -> None:
        _keras().backend.clear_session()
        gc.collect()

    def metadata(self) -> dict[str, Any]:
        keras = _keras()
        if self.backend == "jax":
            import jax

            precision = getattr(jax.config, "jax_default_matmul_precision", None)
            version, tf32 = jax.__version__, precision != "highest"
        else:
            import torch

            version, tf32 = torch.__version__, torch.backends.cuda.matmul.allow_tf32
        return {
            "version": version,
            "keras_version": keras.__version__,
            "keras_backend": keras.backend.backend(),
            "threads": self.threads if self.backend == "torch" else None,
            "jit_compile_default": "auto",
            "gpus": _gpu_names(self.backend),
            "tf32": tf32,
        }


def _keras() -> Any:
    import keras

    return keras


def _device_name(backend: str, device: str) -> str:
    """Keras' device name for a case's device.

    On the torch backend plain "cpu"/"cuda": measured with Keras 3.15, variables created under
    `keras.device("cpu:0")` are not autograd leaves, and `train_on_batch` then fails with "No
    gradients provided for any variable".
    """
    if backend == "torch":
        return device
    return "gpu:0" if device == "cuda" else "cpu:0"


def _gpu_names(backend: str) -> list[str]:
    if backend == "jax":
        import jax

        try:
            return [str(d) for d in jax.devices("gpu")]
        except RuntimeError:  # no GPU platform in this jaxlib
            return []
    import torch

    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def _placement(backend: str, model: Any) -> str:
    """Where the model's first weight lives: "cpu" or "cuda"."""
    value = model.weights[0].value
    if backend == "jax":
        (device,) = value.devices()
        return "cuda" if device.platform == "gpu" else "cpu"
    return "cuda" if value.device.type == "cuda" else "cpu"
