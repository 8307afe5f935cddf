"""Parity of the lstm twins: same weights and token ids give the same numbers in both frameworks.

Like test_parity.py (whose tolerances and helpers this module reuses), every check runs the
runners' own step functions. Tolerances are rtol=atol of np.testing.assert_allclose(keras, torch).
"Seen" is the largest absolute error over 50 random examples per dtype (batch 1-16, random seed;
CPU; TF 2.21, Keras 3.15, torch 2.13):
  forward: float32 1e-5 (seen 8.9e-8), float64 1e-12 (seen 1.7e-16). There is no dropout or
    BatchNorm, so training mode computes what inference does: one forward test covers both.
  three SGD steps: float32 1e-4 (seen: losses 7.2e-7, weights 1.2e-7), float64 1e-6 (seen:
    losses 7.6e-10, weights 8.1e-10; Keras' SGD casts momentum 0.9 through float32). Unlike the
    mlp and cnn, float32 weights are compared too: tanh and sigmoid have no kinks (no ReLU, no
    max pooling) where the frameworks' roundings could send a gradient different ways.
  Keras' one LSTM bias is compared with the sum bias_ih_l0 + bias_hh_l0 of PyTorch's two: no
    split of it is the right one. The sum only follows Keras' bias because PyTorch's bias_hh_l0
    is frozen; with both trained the float64 losses part by ~1e-4 from the second step on
    (test_training_both_torch_biases_breaks_parity).
"""

from __future__ import annotations

import copy
import functools
import os
import re
from collections.abc import Callable

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # before the first `import keras`

import keras
import numpy as np
import pytest
import torch
from hypothesis import given

from test_parity import (
    DTYPES,
    TOLERANCE,
    TRAIN_TOLERANCE,
    assert_parity,
    batches,
    few,
    infer_logits,
    seeds,
    train_losses,
    train_step_pair,
)
from twinbench.zoo import lstm
from twinbench.zoo.spec import make_batch

SPEC = lstm.SPEC
GATES = "ifgo"  # PyTorch's gate blocks along dim 0 (Keras: i, f, c, o along the last axis)


@functools.cache
def keras_model(dtype: str) -> keras.Model:
    """One Keras model per dtype: `transfer` overwrites all of its weights anyway."""
    return SPEC.build_keras(dtype)


def torch_model_in(dtype: str, seed: int) -> torch.nn.Module:
    """A fresh seeded PyTorch model in `dtype`."""
    torch_model = SPEC.build_torch(seed)
    return torch_model.double() if dtype == "float64" else torch_model


def twins(dtype: str, seed: int) -> tuple[torch.nn.Module, keras.Model]:
    """A fresh seeded PyTorch model and the cached Keras model with its weights transferred."""
    torch_model, keras_twin = torch_model_in(dtype, seed), keras_model(dtype)
    SPEC.transfer(torch_model, keras_twin)
    return torch_model, keras_twin


def train_losses_for(
    torch_model: torch.nn.Module, keras_twin: keras.Model, dtype: str, batch: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Losses of TRAIN_STEPS runner train steps on one batch: (PyTorch, Keras)."""
    x, y = make_batch(SPEC, batch, seed, dtype)
    return train_losses(*train_step_pair(SPEC, torch_model, keras_twin, dtype, x, y))


def assert_state_parity(
    torch_model: torch.nn.Module, keras_twin: keras.Model, tolerance: dict[str, float]
) -> None:
    """Every Keras weight matches PyTorch's; Keras' LSTM bias the sum of PyTorch's two."""
    state = torch_model.state_dict()
    for key, value in lstm.keras_weights_as_torch(keras_twin).items():
        torch_value = sum(state[name].numpy() for name in key.split("+"))  # SUMMED_BIAS: a sum
        assert_parity(torch_value, value, tolerance, key)


def test_only_bias_hh_is_frozen() -> None:
    trainable = {n: p.requires_grad for n, p in SPEC.build_torch(0).named_parameters()}
    assert [n for n, grad in trainable.items() if not grad] == ["lstm.bias_hh_l0"]
    assert trainable["lstm.bias_hh_l0"] is False  # still seeded and transferred, not trained


def test_spec_takes_token_ids() -> None:
    x, _ = make_batch(SPEC, 3, 0, "float64")
    assert x.dtype == np.int64 and x.shape == (3, 32)
    assert x.min() >= 0 and x.max() < SPEC.vocab_size == 1000


@pytest.mark.parametrize("dtype", DTYPES)
@few
@given(batch=batches, seed=seeds)
def test_inference_parity(dtype: str, batch: int, seed: int) -> None:
    torch_model, keras_twin = twins(dtype, seed)
    x, _ = make_batch(SPEC, batch, seed, dtype)
    assert_parity(*infer_logits(SPEC, torch_model, keras_twin, x), TOLERANCE[dtype], "logits")


@pytest.mark.parametrize("dtype", DTYPES)
@few
@given(batch=batches, seed=seeds)
def test_training_parity(dtype: str, batch: int, seed: int) -> None:
    torch_model, keras_twin = twins(dtype, seed)
    torch_losses, keras_losses = train_losses_for(torch_model, keras_twin, dtype, batch, seed)
    assert_parity(torch_losses, keras_losses, TRAIN_TOLERANCE[dtype], "losses")
    # float32 too: no ReLU or max pooling whose gradient jumps (module docstring).
    assert_state_parity(torch_model, keras_twin, TRAIN_TOLERANCE[dtype])


# --- The checks can fail: deliberately broken transfers and a trainable bias_hh. ------------


def transfer_without_bias_hh(torch_model: torch.nn.Module, keras_twin: keras.Model) -> None:
    """Keras' bias gets bias_ih_l0 alone (shapes agree, no error)."""
    lstm.transfer(torch_model, keras_twin)
    lstm.summed_bias(keras_twin)[1].assign(torch_model.state_dict()["lstm.bias_ih_l0"].numpy())


def permuted_gates(order: str) -> Callable[[torch.nn.Module, keras.Model], None]:
    """A transfer that writes PyTorch's gate blocks (i, f, g, o) to Keras in `order`."""

    def transfer(torch_model: torch.nn.Module, keras_twin: keras.Model) -> None:
        shuffled = copy.deepcopy(torch_model)
        for name, tensor in shuffled.lstm.named_parameters():  # all four, blocks along dim 0
            blocks = dict(zip(GATES, tensor.data.chunk(4), strict=True))
            tensor.data = torch.cat([blocks[gate] for gate in order])
            assert tensor.shape == getattr(torch_model.lstm, name).shape
        lstm.transfer(shuffled, keras_twin)

    return transfer


BROKEN: dict[str, Callable[[torch.nn.Module, keras.Model], None]] = {
    "bias-hh-not-added": transfer_without_bias_hh,
    "gates-f-g-swapped": permuted_gates("igfo"),
    "gates-i-o-swapped": permuted_gates("ofgi"),  # both sigmoid gates: the subtler swap
}


@pytest.mark.parametrize("broken", BROKEN)
def test_broken_transfer_fails_inference_parity(broken: str) -> None:
    torch_model, keras_twin = SPEC.build_torch(0), keras_model("float32")
    BROKEN[broken](torch_model, keras_twin)
    x, _ = make_batch(SPEC, 4, 0)
    with pytest.raises(AssertionError):
        assert_parity(*infer_logits(SPEC, torch_model, keras_twin, x), TOLERANCE["float32"], broken)


def test_training_both_torch_biases_breaks_parity() -> None:
    torch_model, keras_twin = twins("float64", 0)
    torch_model.lstm.bias_hh_l0.requires_grad_(True)  # the sum now moves at twice Keras' rate
    torch_losses, keras_losses = train_losses_for(torch_model, keras_twin, "float64", 4, 0)
    assert_parity(torch_losses[:1], keras_losses[:1], TRAIN_TOLERANCE["float64"], "first loss")
    with pytest.raises(AssertionError):
        assert_parity(torch_losses, keras_losses, TRAIN_TOLERANCE["float64"], "losses")


def test_forgotten_or_doubled_tensor_raises() -> None:
    keras_twin, torch_model = keras_model("float32"), SPEC.build_torch(0)
    pairs, summed = lstm.weight_map(keras_twin), lstm.summed_bias(keras_twin)
    (bias_ih, bias_hh), bias = summed
    load = functools.partial(lstm.load_lstm_weights, torch_model, keras_twin)
    with pytest.raises(ValueError, match="not transferred"):
        load(pairs[:-1], summed)
    with pytest.raises(ValueError, match="used twice"):
        load([*pairs, pairs[0]], summed)
    with pytest.raises(ValueError, match=re.escape(f"not transferred': ['{bias_hh}']")):
        load(pairs, ((bias_ih,), bias))  # the bias_hh forgotten in the sum
    with pytest.raises(ValueError, match=re.escape(f"unknown PyTorch tensors': ['{bias_hh}']")):
        load([*pairs, (bias_hh, pairs[-1][1], None)], summed)  # ... or used twice
    with pytest.raises(ValueError, match="bad summed sources"):
        load(pairs, ((bias_ih, bias_ih), bias))
