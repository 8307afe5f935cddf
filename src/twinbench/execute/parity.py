"""The parity proof: a model pair is timed only once it is shown to compute the same thing.

Run as ``python -m twinbench.execute.parity '[["mlp", "tiny"], ["mine", "tiny"]]'``
(`twinbench.execute.proof` starts it); prints one JSON Proof per line. For each model, with
the runners' own step functions (what is proven equal is what is timed):
  1. the weight map covers every PyTorch tensor and every Keras weight exactly once (a spec
     without a map: every Keras weight is overwritten by its transfer), shapes matching;
  2. the same weights and inputs give the same outputs in inference and in training mode,
     float32 and float64;
  3. three SGD-with-momentum steps from the same weights give the same losses (float64: in
     float32, rounding amplified over steps is not a difference of the models; the zoo's
     resnet moved 7e-4 by the third step in float32, 3e-9 in float64).
Tolerances are the zoo's parity tests': rtol = atol = 1e-5 in float32; 1e-7 in float64, the
transformer's (tests/test_parity_transformer.py: TensorFlow's GELU builds its constants in
float32, so float64 GELU is off by ~5e-9; mlp and cnn agree to 1e-12, and a wrong weight moves
outputs by tenths); 1e-6 for float64 losses (Keras' SGD casts its momentum through float32).
A full-size model is proven through its `proof_spec`: the same code at a reduced size.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # before the first `import keras`

import keras
import numpy as np
import tensorflow as tf
import torch

from twinbench.execute.proof import ERROR, IDENTICAL, NOT_IDENTICAL, Proof
from twinbench.runners import keras_tf as keras_runner
from twinbench.runners import pytorch as torch_runner
from twinbench.zoo import load_spec
from twinbench.zoo.spec import ModelSpec, make_batch
from twinbench.zoo.transfer import check_coverage, numpy_state

DTYPES = ("float32", "float64")
TOLERANCE = {"float32": 1e-5, "float64": 1e-7}
LOSS_TOLERANCE = 1e-6  # float64 losses
TRAIN_STEPS = 3
BATCH, SEED = 4, 0


class Mismatch(Exception):
    """A check that found the twins computing different things."""

    def __init__(self, check: str, reason: str, where: str = "", largest: float | None = None):
        super().__init__(reason)
        self.check, self.reason, self.where, self.largest = check, reason, where, largest


def prove(model: str, size: str, spec: ModelSpec | None = None) -> Proof:
    """Run every check on `model` at `size` (its registered spec unless given); never raises."""
    try:
        target = spec or load_spec(model, size)
        target = target.proof_spec or target
        for dtype in DTYPES:
            prove_forward(target, dtype)
        prove_training(target)
    except Mismatch as m:
        return Proof(model, size, NOT_IDENTICAL, m.check, m.where, m.largest, m.reason)
    except Exception as error:  # the proof could not run: an error, named, not a verdict
        traceback.print_exc()
        return Proof(model, size, ERROR, "proof", reason=f"{type(error).__name__}: {error}"[:800])
    return Proof(model, size, IDENTICAL)


def twins(spec: ModelSpec, dtype: str) -> tuple[torch.nn.Module, keras.Model]:
    """Seeded PyTorch model and its Keras twin with the weights transferred, coverage checked."""
    torch_model = spec.build_torch(SEED)
    torch_model = torch_model.double() if dtype == "float64" else torch_model
    keras_model = spec.build_keras(dtype)
    transfer(spec, torch_model, keras_model)
    return torch_model, keras_model


def transfer(spec: ModelSpec, torch_model: torch.nn.Module, keras_model: keras.Model) -> None:
    """spec.transfer, after checking the map and before checking every Keras weight got one."""
    try:
        if spec.weight_map is not None:
            pairs = spec.weight_map(keras_model)
            check_coverage(torch_model.state_dict().keys(), keras_model, pairs)
        for weight in _float_weights(keras_model):  # NaN: visible if the transfer skips it
            weight.assign(np.full(weight.shape, np.nan, dtype=weight.dtype))
        spec.transfer(numpy_state(torch_model), keras_model)  # as a Keras worker gets it
    except (ValueError, KeyError) as error:  # unknown names, shapes that cannot match
        raise Mismatch("weight map", f"{type(error).__name__}: {error}") from error
    unassigned = [w.path for w in _float_weights(keras_model) if np.isnan(np.asarray(w)).any()]
    if unassigned:
        raise Mismatch("weight map", "Keras weights the transfer never assigned", unassigned[0])


def _float_weights(keras_model: keras.Model) -> list[Any]:
    return [w for w in keras_model.weights if "float" in str(w.dtype)]


def prove_forward(spec: ModelSpec, dtype: str) -> None:
    """Same outputs in inference mode, then in training mode (batch statistics)."""
    torch_model, keras_model = twins(spec, dtype)
    x, _ = make_batch(spec, BATCH, SEED, dtype)
    x_keras = tf.constant(spec.to_keras_layout(x))
    with torch.inference_mode():
        torch_out = torch_runner.make_infer_step(torch_model, torch.from_numpy(x))()
    keras_out = keras_runner.make_infer_step(keras_model, x_keras)()
    compare(
        torch_runner.to_numpy(torch_out),
        keras_runner.to_numpy(keras_out),
        dtype,
        f"inference {dtype}",
        "output",
    )
    with torch.no_grad():
        torch_out = torch_model.train()(torch.from_numpy(x))
    keras_out = keras_model(x_keras, training=True)
    compare(torch_out.numpy(), np.asarray(keras_out), dtype, f"training mode {dtype}", "output")


def prove_training(spec: ModelSpec) -> None:
    """Three SGD steps from the same float64 weights on the same batch give the same losses."""
    torch_model, keras_model = twins(spec, "float64")
    x, y = make_batch(spec, BATCH, SEED, "float64")
    torch_step = torch_runner.make_train_step(
        torch_model,
        torch_runner.make_optimizer(torch_model),
        torch.from_numpy(x),
        torch.from_numpy(y),
    )
    with keras_floatx("float64"):  # Keras makes its loss and learning rate in floatx
        keras_step = keras_runner.make_train_step(
            keras_model,
            keras_runner.make_optimizer(),
            tf.constant(spec.to_keras_layout(x)),
            tf.constant(y),
        )
        for step in range(1, TRAIN_STEPS + 1):
            torch_loss = torch_runner.to_numpy(torch_step())
            keras_loss = keras_runner.to_numpy(keras_step())
            check = f"{TRAIN_STEPS} SGD steps float64"
            compare(torch_loss, keras_loss, None, check, f"loss of step {step}")


@contextlib.contextmanager
def keras_floatx(dtype: str) -> Iterator[None]:
    """Keras creates losses and the learning-rate variable in floatx, not in the model's dtype."""
    previous = keras.backend.floatx()
    keras.backend.set_floatx(dtype)
    try:
        yield
    finally:
        keras.backend.set_floatx(previous)


def compare(torch_value: Any, keras_value: Any, dtype: str | None, check: str, what: str) -> None:
    """Raise Mismatch unless |keras - torch| <= tol + tol * |torch| everywhere."""
    tol = LOSS_TOLERANCE if dtype is None else TOLERANCE[dtype]
    expected = np.asarray(torch_value, dtype=np.float64)
    actual = np.asarray(keras_value, dtype=np.float64)
    if expected.shape != actual.shape:
        raise Mismatch(
            check, f"shapes differ: PyTorch {expected.shape}, Keras {actual.shape}", what
        )
    difference = np.abs(actual - expected)
    bad = ~(difference <= tol + tol * np.abs(expected))  # NaN counts as different
    if bad.any():
        index = np.unravel_index(
            np.argmax(np.where(bad, np.nan_to_num(difference, nan=np.inf), -1)), bad.shape
        )
        where = f"{what}[{', '.join(map(str, index))}]" if expected.ndim else what
        largest = float(np.nanmax(difference)) if not np.isnan(difference).all() else float("nan")
        raise Mismatch(check, f"outside rtol = atol = {tol:g}", where, largest)


def main() -> None:
    """Prove each [model, size] of argv[1] (JSON); one JSON line per model on stdout."""
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # framework prints must not corrupt it
    for model, size in json.loads(sys.argv[1]):
        replies.write(json.dumps(prove(model, size).as_json()) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
