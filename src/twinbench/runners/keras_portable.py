"""Keras 3 on its JAX or PyTorch backend (KERAS_BACKEND=jax|torch), one backend per process.

The same Keras model and weights as on TensorFlow, stepped the way each backend's Keras guide
writes a training loop; what differs between the backends is one table,
`twinbench.runners.keras_backends.BACKENDS`. Inputs live on the case's device and a sample
syncs once, as in the native runners.

A backend is fixed when Keras is imported, so a process runs one backend: choose it with the
environment (`KERAS_BACKEND=jax pytest benches`, or the tox environments `bench-keras-jax`
and `bench-keras-torch`). The CUDA paths follow the JAX and PyTorch documentation and have
not been run by this project (no GPU was available when this was written).
"""

from __future__ import annotations

import gc
import os
from typing import Any

import numpy as np

from twinbench.core.cases import Case
from twinbench.runners.base import (
    LEARNING_RATE,
    MOMENTUM,
    PEAK_MATMUL_SIZE,
    PreparedCase,
    matmul_rate,
    prepared_case,
)
from twinbench.runners.keras_backends import BACKENDS
from twinbench.runners.twin_export import twin_weights
from twinbench.zoo.spec import ModelSpec, make_batch, use_mixed_bfloat16


def backend_name() -> str:
    """The Keras backend this process will use (from the environment)."""
    return os.environ.get("KERAS_BACKEND", "tensorflow")


class KerasPortableRunner:
    """Runs zoo models with Keras 3 on the JAX or PyTorch backend."""

    name = "keras"

    def __init__(self) -> None:
        self.backend_name = backend_name()
        if self.backend_name not in BACKENDS:
            raise RuntimeError(
                f"KERAS_BACKEND must be one of {tuple(BACKENDS)}, got {self.backend_name!r}"
            )
        self.backend = BACKENDS[self.backend_name]
        self.threads = 0

    def configure(self, threads: int) -> None:
        self.threads = threads
        self.backend.configure(threads)
        keras = _keras()
        if keras.backend.backend() != self.backend_name:
            raise RuntimeError(
                f"Keras started on {keras.backend.backend()!r}, not {self.backend_name!r}"
            )

    def device_available(self, device: str) -> str | None:
        if device == "cuda" and not self.backend.gpu_names():
            return f"Keras' {self.backend_name} backend sees no CUDA device"
        return None

    def variant_available(self, case: Case) -> str | None:
        if case.mode == "fit":
            return f"fit mode is written for Keras on TensorFlow only, not on {self.backend_name}"
        return self.backend.no_xla if case.variant == "xla" else None

    def prepare(self, spec: ModelSpec, case: Case, seed: int) -> PreparedCase:
        keras, backend = _keras(), self.backend
        scope = lambda: keras.device(backend.device_name(case.device))  # noqa: E731
        x_np, y_np = make_batch(spec, case.batch, seed)
        with scope():
            model = spec.build_keras("float32")
            spec.transfer(twin_weights(spec, case, seed), model)
            if case.precision == "bf16":
                use_mixed_bfloat16(model)
            x = backend.to_device(spec.to_keras_layout(x_np), case.device)
            y = backend.to_device(y_np, case.device)
            if case.mode == "infer":
                step = backend.infer_step(model, x)
            else:
                optimizer = keras.optimizers.SGD(learning_rate=LEARNING_RATE, momentum=MOMENTUM)
                loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
                step = backend.train_step(model, optimizer, loss, x, y)
        return prepared_case(
            step,
            backend.sync(case.device),
            scope,
            placed_on=backend.placed_on,
            keepalive=[model, x, y],
        )

    def peak_flops(self, device: str) -> float:
        matmul = self.backend.matmul(PEAK_MATMUL_SIZE[device], device)
        return matmul_rate(matmul, self.backend.sync(device), device)

    def to_numpy(self, output: Any) -> np.ndarray:
        if hasattr(output, "detach"):  # a torch tensor, maybe on the GPU or in bfloat16
            return output.detach().float().cpu().numpy()
        return np.asarray(output, dtype=np.float32)

    def reset_peak_memory(self, device: str) -> None:
        if device == "cuda":
            self.backend.reset_peak_memory()

    def peak_memory(self, device: str) -> dict[str, int]:
        return self.backend.peak_memory() if device == "cuda" else {}

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
        version, tf32 = self.backend.version_and_tf32()
        return {
            "version": version,
            "keras_version": keras.__version__,
            "keras_backend": keras.backend.backend(),
            "threads": self.threads if self.backend.sets_threads else None,
            "gpus": self.backend.gpu_names(),
            "tf32": tf32,
        }


def _keras() -> Any:
    import keras

    return keras
