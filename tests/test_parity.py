"""Parity of the zoo's twin models: same weights and inputs give the same numbers in both.

Every check runs the runners' own step functions (make_infer_step, make_optimizer,
make_train_step), so what is proven equal is exactly what is benchmarked.

Tolerances are rtol=atol of np.testing.assert_allclose(keras, torch). "Seen" is the largest
absolute error found by an earlier session's 400 random examples per model and dtype (CPU; TF 2.21,
Keras 3.15, torch 2.13); `tox -e thorough` measures it again (fixtures/properties.py), and its
latest figures, with their example counts, are in docs/measurements.md ("parity tolerances"):
  forward, inference and training mode: float32 1e-5 (seen 9.5e-7), float64 1e-12 (seen 6.4e-15).
  three SGD steps, float64: losses, weights and BatchNorm statistics, 1e-6 (seen 1.9e-8); not
    tighter because Keras' SGD casts its momentum 0.9 through float32 (0.8999999762).
  three SGD steps, float32: the losses only, 1e-4 (seen 1.4e-5). Weights are not compared
    elementwise: the gradients of ReLU (at 0) and max pooling (at ties) jump, and where two values
    are a few ulps apart the frameworks' roundings can fall on different sides. In 3-5% of random
    cnn examples that moved one output channel of conv2 by up to ~1e-4 (batch=2, seed=585082594:
    Keras' pool2 takes the other of two values 1e-6 apart; PyTorch float32 agrees with float64).
"""

from __future__ import annotations

import functools
import itertools
import os
import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # before the first `import keras`

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch
from fixtures.properties import examples, record_error
from hypothesis import given
from hypothesis import strategies as st

from twinbench.execute.parity import keras_floatx
from twinbench.runners import keras_tf as keras_runner
from twinbench.runners import pytorch as torch_runner
from twinbench.zoo import MODEL_NAMES, cnn, load_spec, mlp
from twinbench.zoo.spec import ModelSpec, make_batch
from twinbench.zoo.transfer import load_weights, weights_as_torch

ZOO = {"mlp": mlp, "cnn": cnn}
DTYPES = ("float32", "float64")
TOLERANCE = {"float32": {"rtol": 1e-5, "atol": 1e-5}, "float64": {"rtol": 1e-12, "atol": 1e-12}}
TRAIN_TOLERANCE = {"float32": {"rtol": 1e-4, "atol": 1e-4}, "float64": {"rtol": 1e-6, "atol": 1e-6}}
TRAIN_STEPS = 3

batches = st.integers(1, 16)
seeds = st.integers(0, 2**31 - 1)
# Few examples under .ci/run: each one traces a fresh tf.function (fixtures/properties.py).
few = examples(8)


@functools.cache
def keras_model(name: str, dtype: str) -> keras.Model:
    """One Keras model per (model, dtype): `transfer` overwrites all of its weights anyway."""
    return ZOO[name].SPEC.build_keras(dtype)


def twins(name: str, dtype: str, seed: int) -> tuple[torch.nn.Module, keras.Model]:
    """A fresh seeded PyTorch model and the cached Keras model with its weights transferred."""
    torch_model = ZOO[name].SPEC.build_torch(seed)
    if dtype == "float64":
        torch_model = torch_model.double()
    keras_twin = keras_model(name, dtype)
    ZOO[name].SPEC.transfer(torch_model, keras_twin)
    return torch_model, keras_twin


def assert_parity(
    torch_value: Any, keras_value: Any, tolerance: dict[str, float], what: str
) -> None:
    """The parity check every test uses: Keras' value is close to PyTorch's."""
    np.testing.assert_allclose(
        np.asarray(keras_value),
        np.asarray(torch_value),
        rtol=tolerance["rtol"],
        atol=tolerance["atol"],
        err_msg=what,
    )
    difference = np.abs(np.asarray(keras_value, float) - np.asarray(torch_value, float))
    record_error(what, float(difference.max(initial=0.0)))


def infer_logits(
    spec: ModelSpec, torch_model: torch.nn.Module, keras_twin: keras.Model, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Logits of the runners' benchmarked inference steps: (PyTorch, Keras)."""
    with torch.inference_mode():
        torch_out = torch_runner.make_infer_step(torch_model, torch.from_numpy(x))()
    keras_x = tf.constant(spec.to_keras_layout(x))
    keras_out = keras_runner.make_infer_step(keras_twin, keras_x)()
    return torch_runner.to_numpy(torch_out), keras_runner.to_numpy(keras_out)


def train_step_pair(
    spec: ModelSpec,
    torch_model: torch.nn.Module,
    keras_twin: keras.Model,
    dtype: str,
    x: np.ndarray,
    y: np.ndarray,
) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """The runners' benchmarked training steps on one batch: (PyTorch, Keras)."""
    torch_step = torch_runner.make_train_step(
        torch_model,
        torch_runner.make_optimizer(torch_model),
        torch.from_numpy(x),
        torch.from_numpy(y),
    )
    with keras_floatx(dtype):  # else a float64 model gets a float32 loss (no-op for float32)
        keras_step = keras_runner.make_train_step(
            keras_twin,
            keras_runner.make_optimizer(),
            tf.constant(spec.to_keras_layout(x)),
            tf.constant(y),
        )
    return torch_step, keras_step


def train_losses(
    torch_step: Callable[[], Any], keras_step: Callable[[], Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Losses of TRAIN_STEPS steps of both frameworks: (PyTorch, Keras)."""
    losses = [
        (torch_runner.to_numpy(torch_step()), keras_runner.to_numpy(keras_step()))
        for _ in range(TRAIN_STEPS)
    ]
    torch_losses, keras_losses = zip(*losses, strict=True)
    return np.array(torch_losses), np.array(keras_losses)


def batchnorms(torch_model: torch.nn.Module) -> dict[str, torch.nn.BatchNorm2d]:
    """BatchNorm modules by name (equal to their Keras layer names)."""
    return {n: m for n, m in torch_model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}


def variance_history(torch_model: torch.nn.Module) -> dict[str, list[np.ndarray]]:
    """Start of a per-BatchNorm record: the running_var both twins begin with."""
    bns = batchnorms(torch_model).items()
    return {n: [bn.get_buffer("running_var").numpy().copy()] for n, bn in bns}


def record_keras_variances(history: dict[str, list[np.ndarray]], keras_twin: keras.Model) -> None:
    """Append each Keras BatchNorm's moving_variance after one more update."""
    for name, values in history.items():
        values.append(np.asarray(keras_twin.get_layer(name).moving_variance).copy())


def bessel_corrected(history: list[np.ndarray], momentum: float, n: int) -> np.ndarray:
    """PyTorch's running_var, rebuilt from Keras' moving_variance after each update.

    Both update v_t = (1 - m) v_(t-1) + m s_t, Keras with the biased batch variance s_t and
    PyTorch with the unbiased s_t * n / (n - 1): a documented difference, not a bug.
    """
    expected = history[0]
    for before, after in itertools.pairwise(history):
        biased = (after - (1 - momentum) * before) / momentum
        expected = (1 - momentum) * expected + momentum * biased * n / (n - 1)
    return expected


def assert_state_parity(
    module: ModuleType,
    torch_model: torch.nn.Module,
    keras_twin: keras.Model,
    history: dict[str, list[np.ndarray]],
    batch: int,
    tolerance: dict[str, float],
) -> None:
    """Every transferred tensor of zoo `module` matches its Keras twin, running_var after Bessel."""
    expected = weights_as_torch(module.weight_map(keras_twin))
    for bn_name, bn in batchnorms(torch_model).items():
        assert bn.momentum is not None  # a fixed momentum, not a cumulative average
        _, height, width, _ = keras_twin.get_layer(bn_name).output.shape
        n = batch * height * width  # values per channel that the BatchNorm averages over
        expected[f"{bn_name}.running_var"] = bessel_corrected(history[bn_name], bn.momentum, n)
    state = torch_model.state_dict()
    for key, value in expected.items():
        assert_parity(state[key].numpy(), value, tolerance, key)


@pytest.mark.parametrize("name", ZOO)
def test_load_spec_finds_the_module_spec(name: str) -> None:
    assert load_spec(name) is ZOO[name].SPEC
    assert ZOO[name].SPEC.name == name


@pytest.mark.parametrize("name", MODEL_NAMES)
@few
@given(seed=seeds)
def test_seed_determines_torch_weights(name: str, seed: int) -> None:
    build = load_spec(name).build_torch
    first, again, other = (build(s).state_dict() for s in (seed, seed, seed + 1))
    assert all(
        t.dtype == torch.float32 and t.device.type == "cpu"
        for t in again.values()
        if t.is_floating_point()
    )
    for key, value in first.items():
        assert torch.equal(value, again[key]), key
        if value.is_floating_point():  # every parameter and statistic is seeded
            assert not torch.equal(value, other[key]), key


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ZOO)
@few
@given(batch=batches, seed=seeds)
def test_inference_parity(name: str, dtype: str, batch: int, seed: int) -> None:
    torch_model, keras_twin = twins(name, dtype, seed)
    x, _ = make_batch(ZOO[name].SPEC, batch, seed, dtype)
    torch_out, keras_out = infer_logits(ZOO[name].SPEC, torch_model, keras_twin, x)
    assert_parity(torch_out, keras_out, TOLERANCE[dtype], "inference logits")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ZOO)
@few
@given(batch=batches, seed=seeds)
def test_training_mode_forward_parity(name: str, dtype: str, batch: int, seed: int) -> None:
    torch_model, keras_twin = twins(name, dtype, seed)
    x, _ = make_batch(ZOO[name].SPEC, batch, seed, dtype)
    history = variance_history(torch_model)
    with torch.no_grad():
        torch_out = torch_model.train()(torch.from_numpy(x))
    keras_out = keras_twin(tf.constant(ZOO[name].SPEC.to_keras_layout(x)), training=True)
    record_keras_variances(history, keras_twin)
    assert_parity(torch_out.numpy(), keras_out, TOLERANCE[dtype], "training-mode logits")
    assert_state_parity(ZOO[name], torch_model, keras_twin, history, batch, TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ZOO)
@few
@given(batch=batches, seed=seeds)
def test_training_parity(name: str, dtype: str, batch: int, seed: int) -> None:
    torch_model, keras_twin = twins(name, dtype, seed)
    x, y = make_batch(ZOO[name].SPEC, batch, seed, dtype)
    torch_step, keras_step = train_step_pair(ZOO[name].SPEC, torch_model, keras_twin, dtype, x, y)
    history = variance_history(torch_model)
    losses: list[tuple[np.ndarray, np.ndarray]] = []
    for _ in range(TRAIN_STEPS):
        losses.append((torch_runner.to_numpy(torch_step()), keras_runner.to_numpy(keras_step())))
        record_keras_variances(history, keras_twin)
    torch_losses, keras_losses = zip(*losses, strict=True)
    assert_parity(torch_losses, keras_losses, TRAIN_TOLERANCE[dtype], "losses")
    if dtype == "float64":  # float32 weights can differ where gradients jump (module docstring)
        assert_state_parity(
            ZOO[name], torch_model, keras_twin, history, batch, TRAIN_TOLERANCE[dtype]
        )


# --- The checks can fail: deliberately broken transfers. -------------------------------------

Pairs = list[Any]


def swap_sources(pairs: Pairs, a: str, b: str) -> Pairs:
    """Exchange which PyTorch tensors two Keras variables receive (same shapes: no error)."""
    renamed = {a: b, b: a}
    return [(renamed.get(name, name), variable, layout) for name, variable, layout in pairs]


def with_layout(pairs: Pairs, target: str, layout: object) -> Pairs:
    """Give one tensor a wrong axis permutation (None: no transpose)."""
    return [(name, var, layout if name == target else lay) for name, var, lay in pairs]


BROKEN: dict[str, tuple[str, Callable[[Pairs], Pairs]]] = {
    "mlp-square-kernel-not-transposed": ("mlp", lambda p: with_layout(p, "fc2.weight", None)),
    "mlp-biases-swapped": ("mlp", lambda p: swap_sources(p, "fc1.bias", "fc2.bias")),
    "cnn-mean-var-swapped": (
        "cnn",
        lambda p: swap_sources(p, "bn1.running_mean", "bn1.running_var"),
    ),
    "cnn-gamma-beta-swapped": ("cnn", lambda p: swap_sources(p, "bn2.weight", "bn2.bias")),
    "cnn-kernel-kh-kw-swapped": ("cnn", lambda p: with_layout(p, "conv1.weight", (3, 2, 1, 0))),
}


@pytest.mark.parametrize("broken", BROKEN)
def test_broken_transfer_fails_inference_parity(broken: str) -> None:
    name, breaks = BROKEN[broken]
    module, torch_model = ZOO[name], ZOO[name].SPEC.build_torch(0)
    keras_twin = keras_model(name, "float32")
    load_weights(torch_model, keras_twin, breaks(module.weight_map(keras_twin)))
    x, _ = make_batch(module.SPEC, 4, 0)
    with pytest.raises(AssertionError):
        assert_parity(
            *infer_logits(ZOO[name].SPEC, torch_model, keras_twin, x), TOLERANCE["float32"], broken
        )


def test_forgotten_transpose_of_non_square_kernel_raises() -> None:
    keras_twin, pairs = keras_model("mlp", "float32"), mlp.weight_map(keras_model("mlp", "float32"))
    with pytest.raises(ValueError, match=re.escape("fc1.weight")):
        load_weights(mlp.build_torch(0), keras_twin, with_layout(pairs, "fc1.weight", None))


@pytest.mark.parametrize("name", ZOO)
def test_forgotten_or_doubled_tensor_raises(name: str) -> None:
    module, keras_twin = ZOO[name], keras_model(name, "float32")
    pairs, torch_model = module.weight_map(keras_twin), module.build_torch(0)
    with pytest.raises(ValueError, match="not transferred"):
        load_weights(torch_model, keras_twin, pairs[:-1])
    with pytest.raises(ValueError, match="used twice"):
        load_weights(torch_model, keras_twin, [*pairs, pairs[0]])


def test_running_var_differs_without_bessel_correction() -> None:
    torch_model, keras_twin = twins("cnn", "float64", 0)
    x, _ = make_batch(cnn.SPEC, 2, 0, "float64")
    with torch.no_grad():
        torch_model.train()(torch.from_numpy(x))
    keras_twin(tf.constant(cnn.to_keras_layout(x)), training=True)
    naive = np.asarray(keras_twin.get_layer("bn2").moving_variance)
    with pytest.raises(AssertionError):
        unbiased = torch_model.state_dict()["bn2.running_var"].numpy()
        assert_parity(unbiased, naive, TOLERANCE["float64"], "bn2.running_var")
