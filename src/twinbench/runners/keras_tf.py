"""Keras 3 on TensorFlow: the step is a `tf.function` calling `model(x, training=...)`.

Never `model.predict` per batch: it rebuilds its data adapter on every call and times that,
not the model (DESIGN decision 2). Variants: `graph` is that tf.function, `xla` the same with
`jit_compile=True` (the whole step, optimizer update included, as `model.compile(jit_compile=
True)` would compile `train_step`). Precision `bf16` sets Keras' "mixed_bfloat16" policy on
every layer (bfloat16 compute, float32 variables; no loss scaling, which only float16 needs).
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Callable
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TF's start-up chatter out of reports

import keras
import numpy as np
import tensorflow as tf

from twinbench.core.cases import Case
from twinbench.measure.timing import no_sync
from twinbench.runners.base import (
    LEARNING_RATE,
    MOMENTUM,
    PEAK_MATMUL_SIZE,
    Counted,
    PreparedCase,
    matmul_rate,
    prepared_case,
)
from twinbench.runners.twin_export import twin_weights
from twinbench.zoo.digits import accuracy, load_digits
from twinbench.zoo.spec import ModelSpec, make_batch, use_mixed_bfloat16


def make_optimizer() -> keras.optimizers.Optimizer:
    """The optimizer both frameworks use: plain SGD with (non-Nesterov) momentum."""
    return keras.optimizers.SGD(learning_rate=LEARNING_RATE, momentum=MOMENTUM)


def make_infer_step(
    model: keras.Model, x: tf.Tensor, jit_compile: bool = False
) -> Callable[[], tf.Tensor]:
    """Compiled forward pass in inference mode (XLA-compiled with `jit_compile`)."""

    @tf.function(jit_compile=jit_compile)
    def step() -> tf.Tensor:
        return model(x, training=False)

    return step


def make_train_step(
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    x: tf.Tensor,
    y: tf.Tensor,
    jit_compile: bool = False,
) -> Callable[[], tf.Tensor]:
    """Compiled step: forward, cross-entropy on logits, gradients, optimizer update; the loss."""
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer.build(model.trainable_variables)  # create slots outside the traced function

    @tf.function(jit_compile=jit_compile)
    def step() -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(grads, model.trainable_variables)
        return loss

    return step


def make_fit_epoch(
    model: keras.Model, x: np.ndarray, y: np.ndarray, batch: int, shuffle: bool = True
) -> Callable[[], keras.callbacks.History]:
    """One epoch of `model.fit` on (x, y), same optimizer and loss as the train mode.

    jit_compile=False: Keras 3 would otherwise pick XLA by itself ("auto"), while the train
    mode and PyTorch's loop run without it (XLA is a variant of its own, DESIGN decision 2).
    Each call builds Keras' data adapter for the arrays again: that is what `fit` costs a user.
    """
    model.compile(
        optimizer=make_optimizer(),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=False,
    )
    return lambda: model.fit(x, y, batch_size=batch, epochs=1, shuffle=shuffle, verbose=0)


class KerasRunner:
    """Runs zoo models with Keras 3 on the TensorFlow backend."""

    name = "keras"

    def configure(self, threads: int) -> None:
        if keras.backend.backend() != "tensorflow":
            raise RuntimeError(
                f"the keras runner needs KERAS_BACKEND=tensorflow, got {keras.backend.backend()!r}"
            )
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
            for gpu in tf.config.list_physical_devices("GPU"):
                # Otherwise TensorFlow takes the whole card at start (DESIGN decision 8).
                tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError as error:  # TF's runtime already started in this process
            raise RuntimeError(
                f"TensorFlow was initialised before twinbench could set threads: {error}"
            ) from error
        tf.config.experimental.enable_tensor_float_32_execution(False)
        # No silent CPU fallback inside the graph: with soft placement off, an op that has no
        # kernel for the device the case asked for raises instead of moving to the CPU
        # (tf.config.set_soft_device_placement's documentation). The output-placement check
        # only sees the last op. Written from TensorFlow's documentation; not yet run on a GPU.
        tf.config.set_soft_device_placement(False)

    def device_available(self, device: str) -> str | None:
        if device == "cuda" and not tf.config.list_physical_devices("GPU"):
            return "TensorFlow sees no GPU (tf.config.list_physical_devices('GPU') is empty)"
        return None

    def variant_available(self, case: Case) -> str | None:
        return _try_xla(case.device) if case.variant == "xla" else None

    def prepare(self, spec: ModelSpec, case: Case, seed: int) -> PreparedCase:
        if case.mode == "fit":
            return _prepare_fit(spec, case, seed)
        scope = _device_scope(case.device)
        jit_compile = case.variant == "xla"
        with scope():
            model = spec.build_keras("float32")
            spec.transfer(twin_weights(spec, case, seed), model)
            if case.precision == "bf16":
                use_mixed_bfloat16(model)
            x_np, y_np = make_batch(spec, case.batch, seed)
            x = tf.constant(spec.to_keras_layout(x_np))
            y = tf.constant(y_np)
            if case.mode == "infer":
                step = make_infer_step(model, x, jit_compile)
            else:
                step = make_train_step(model, make_optimizer(), x, y, jit_compile)
        return prepared_case(
            step, _device_sync(case.device), scope, placed_on=_placed_on, keepalive=[model, x, y]
        )

    def peak_flops(self, device: str) -> float:
        n, scope = PEAK_MATMUL_SIZE[device], _device_scope(device)
        with scope():
            a = tf.random.normal((n, n))
            matmul = tf.function(lambda: tf.linalg.matmul(a, a))
        return matmul_rate(matmul, _device_sync(device), device, scope)

    def to_numpy(self, output: Any) -> np.ndarray:
        return to_numpy(output)

    def reset_peak_memory(self, device: str) -> None:
        if device == "cuda":
            tf.config.experimental.reset_memory_stats("GPU:0")

    def peak_memory(self, device: str) -> dict[str, int]:
        if device != "cuda":
            return {}
        info = tf.config.experimental.get_memory_info("GPU:0")
        return {"tf_gpu_peak_bytes": int(info["peak"])}

    def is_out_of_memory(self, error: BaseException) -> bool:
        return isinstance(error, (tf.errors.ResourceExhaustedError, MemoryError))

    def release(self) -> None:
        keras.backend.clear_session()
        gc.collect()

    def metadata(self) -> dict[str, Any]:
        build = tf.sysconfig.get_build_info()
        return {
            "version": tf.__version__,
            "keras_version": keras.__version__,
            "keras_backend": keras.backend.backend(),
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "cuda_version": build.get("cuda_version"),
            "cudnn_version": build.get("cudnn_version"),
            "gpus": [gpu.name for gpu in tf.config.list_physical_devices("GPU")],
            "tf32": tf.config.experimental.tensor_float_32_execution_enabled(),
            "soft_device_placement": tf.config.get_soft_device_placement(),
        }


def _prepare_fit(spec: ModelSpec, case: Case, seed: int) -> PreparedCase:
    """A fit case: the step is one epoch of `model.fit` over the digits' training split."""
    scope, data = _device_scope(case.device), load_digits(spec.input_shape, seed)
    keras.utils.set_random_seed(seed)  # fit's shuffle order
    with scope():
        model = spec.build_keras("float32")
        spec.transfer(twin_weights(spec, case, seed), model)
        x_train = spec.to_keras_layout(data.x_train)
        epoch = Counted(make_fit_epoch(model, x_train, data.y_train, case.batch))

    def evaluate() -> dict[str, Any]:
        with scope():
            logits = model(spec.to_keras_layout(data.x_test), training=False)
        return {"accuracy": accuracy(np.asarray(logits), data.y_test), "epochs": epoch.calls}

    return prepared_case(
        epoch,
        _last_loss,
        scope,
        # fit returns a History: where the trained weights live says where the work ran.
        placed_on=lambda _history: _placed_on(model.trainable_variables[-1].value),
        keepalive=[model, data],
        evaluate=evaluate,
    )


def _last_loss(history: keras.callbacks.History) -> None:
    """Read the epoch's last loss on the host: waits for the device like `_host_copy`."""
    float(history.history["loss"][-1])


def to_numpy(tensor: Any) -> np.ndarray:
    """Host copy of a tensor, for parity checks (bfloat16 outputs widened to float32)."""
    if getattr(tensor, "dtype", None) == tf.bfloat16:
        tensor = tf.cast(tensor, tf.float32)
    return np.asarray(tensor)


@functools.cache  # once per process and device: the answer does not change
def _try_xla(device: str) -> str | None:
    """None when XLA compiles and runs a tiny function on `device`, else the reason."""
    try:
        with _device_scope(device)():
            np.asarray(tf.function(lambda: tf.ones((2, 2)) * 2.0, jit_compile=True)())
    except Exception as error:  # the reason becomes the skip message of every xla case
        return f"XLA (jit_compile=True) does not work here: {type(error).__name__}: {error}"[:300]
    return None


def _device_scope(device: str) -> Callable[[], Any]:
    name = "/GPU:0" if device == "cuda" else "/CPU:0"
    return lambda: tf.device(name)


def _placed_on(out: tf.Tensor) -> str:
    return "cuda" if "GPU" in out.device.upper() else "cpu"


def _device_sync(device: str) -> Callable[[Any], None]:
    """TF enqueues GPU kernels asynchronously; copying the last output to the host waits for
    it (one stream). On the CPU the call returns when the work is done."""
    return _host_copy if device == "cuda" else no_sync


def _host_copy(out: Any) -> None:
    np.asarray(out)
