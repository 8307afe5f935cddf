"""Parity of the transformer twins, through the runners' own step functions (as test_parity.py).

Tolerances are rtol=atol of np.testing.assert_allclose(keras, torch). "Seen" is the largest
absolute error over 50 random examples (batch 1-16) per dtype (CPU; TF 2.21, Keras 3.15,
torch 2.13):
  inference, float32: 1e-5 (seen 1.8e-7).
  inference, float64: 1e-7 (seen 1.8e-9). Not 1e-12 as for mlp/cnn: TensorFlow's exact GELU
    (tf.nn.gelu, which Keras' gelu calls) computes erfc(-x * cast(0.7071067811865476)), and the
    cast builds a float32 constant first, so in float64 1/sqrt(2) is off by 1.7e-8 (relative)
    and GELU(sqrt(2)) by 5e-9. With each fc's activation swapped for 0.5 x (1 + erf(x/sqrt(2)))
    the same models agree to 1e-12 (seen 4.4e-16): the transfer itself is exact.
  three SGD steps, float64: losses and every weight, 1e-6 (seen 4.8e-9 and 8.8e-10), as in
    test_parity.py (Keras' SGD casts its momentum through float32).
  three SGD steps, float32: losses and every weight, 1e-4 (seen 4.8e-7 and 1.2e-7). Unlike
    mlp/cnn, the weights are compared too: GELU, softmax and LayerNorm have no kinks for
    rounding to fall on either side of.
Training-mode forward passes are not tested on their own: without dropout or BatchNorm they
are the inference ones.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # before the first `import keras`

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch
from hypothesis import given

from test_parity import (
    TOLERANCE,
    TRAIN_TOLERANCE,
    Pairs,
    assert_parity,
    batches,
    few,
    infer_logits,
    seeds,
    swap_sources,
    train_losses,
    train_step_pair,
    with_layout,
)
from twinbench.zoo import transformer
from twinbench.zoo.attention import HeadSplit
from twinbench.zoo.spec import make_batch
from twinbench.zoo.transfer import load_weights, weights_as_torch
from twinbench.zoo.transformer import SPEC

# "float64-erf": float64 with an exact float64 GELU in Keras (module docstring).
VARIANTS = ("float32", "float64", "float64-erf")
INFER_TOLERANCE = {
    "float32": TOLERANCE["float32"],
    "float64": {"rtol": 1e-7, "atol": 1e-7},
    "float64-erf": TOLERANCE["float64"],
}
HEADS = transformer.CONFIG.n_heads


def erf_gelu(x: Any) -> Any:
    """Exact GELU with 1/sqrt(2) in the tensor's own dtype, as PyTorch computes it."""
    return 0.5 * x * (1.0 + keras.ops.erf(x / math.sqrt(2.0)))


@functools.cache
def keras_model(variant: str) -> keras.Model:
    """One Keras model per variant: `transfer` overwrites all of its weights anyway."""
    model = SPEC.build_keras(variant.removesuffix("-erf"))
    if variant.endswith("-erf"):
        for i in range(transformer.CONFIG.n_layers):
            model.get_layer(f"block{i}_fc").activation = erf_gelu
    return model


def twins(variant: str, seed: int) -> tuple[torch.nn.Module, keras.Model]:
    """A fresh seeded PyTorch model and the cached Keras model with its weights transferred."""
    torch_model = SPEC.build_torch(seed)
    if variant.startswith("float64"):
        torch_model = torch_model.double()
    keras_twin = keras_model(variant)
    SPEC.transfer(torch_model, keras_twin)
    return torch_model, keras_twin


def test_keras_weights_as_torch_inverts_transfer() -> None:
    torch_model, keras_twin = twins("float32", 0)
    back = weights_as_torch(transformer.weight_map(keras_twin))
    state = torch_model.state_dict()
    assert back.keys() == state.keys()
    for key, value in state.items():
        np.testing.assert_array_equal(back[key], value.numpy(), err_msg=key)


def test_keras_float64_gelu_rounds_through_float32() -> None:
    """Why float64 inference gets 1e-7: if this fails, TensorFlow fixed it; tighten."""
    x = tf.constant([math.sqrt(2.0)], dtype="float64")
    error = abs(float(keras.activations.gelu(x, approximate=False)[0] - erf_gelu(x)[0]))
    assert 1e-9 < error < INFER_TOLERANCE["float64"]["atol"]


@pytest.mark.parametrize("variant", VARIANTS)
@few
@given(batch=batches, seed=seeds)
def test_inference_parity(variant: str, batch: int, seed: int) -> None:
    torch_model, keras_twin = twins(variant, seed)
    x, _ = make_batch(SPEC, batch, seed)
    assert x.dtype == np.int64
    torch_out, keras_out = infer_logits(SPEC, torch_model, keras_twin, x)
    assert_parity(torch_out, keras_out, INFER_TOLERANCE[variant], "inference logits")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@few
@given(batch=batches, seed=seeds)
def test_training_parity(dtype: str, batch: int, seed: int) -> None:
    torch_model, keras_twin = twins(dtype, seed)
    x, y = make_batch(SPEC, batch, seed)
    torch_losses, keras_losses = train_losses(
        *train_step_pair(SPEC, torch_model, keras_twin, dtype, x, y)
    )
    tolerance = TRAIN_TOLERANCE[dtype]
    assert_parity(torch_losses, keras_losses, tolerance, "losses")
    state = torch_model.state_dict()
    for key, value in weights_as_torch(transformer.weight_map(keras_twin)).items():
        assert_parity(state[key].numpy(), value, tolerance, key)


# --- The checks can fail: deliberately broken transfers. -------------------------------------


def attention(block: int) -> dict[str, str]:
    """PyTorch names of one block's attention tensors, by short name ("q.w", "out.b", ...)."""
    parts = {"q": "query", "k": "key", "v": "value", "out": "out"}
    return {
        f"{p}.{t[0]}": f"blocks.{block}.attn.{name}.{t}"
        for p, name in parts.items()
        for t in ("weight", "bias")
    }


class HeadsReversed(HeadSplit):
    """The heads in reverse order: a permutation of heads, not a layout error within one."""

    def to_keras(self, value: np.ndarray) -> np.ndarray:
        return np.flip(super().to_keras(value), axis=self.axis)


class DimMajorSplit(HeadSplit):
    """Feature j * heads + h -> [h, j]: the classic reshape-order bug, shapes unchanged."""

    def to_keras(self, value: np.ndarray) -> np.ndarray:
        head_dim = transformer.CONFIG.d_model // self.heads
        by_dim = HeadSplit(self.permutation, self.axis, heads=head_dim).to_keras(value)  # [j, h]
        return np.swapaxes(by_dim, self.axis, self.axis + 1)


def wrong_head_order(pairs: Pairs) -> Pairs:
    """q, k, v and out of block 0 all split dim-major: consistent, yet other heads."""
    names = set(attention(0).values()) - {attention(0)["out.b"]}
    return [
        (n, v, DimMajorSplit(lay.permutation, lay.axis, lay.heads) if n in names else lay)
        for n, v, lay in pairs
    ]


BROKEN: dict[str, Callable[[Pairs], Pairs]] = {
    "query-key-swapped": lambda p: swap_sources(p, attention(0)["q.w"], attention(0)["k.w"]),
    "out-kernel-not-transposed": lambda p: with_layout(
        p, attention(1)["out.w"], HeadSplit(None, axis=0, heads=HEADS)
    ),
    "value-kernel-not-transposed": lambda p: with_layout(
        p, attention(0)["v.w"], HeadSplit(None, axis=1, heads=HEADS)
    ),
    "out-heads-permuted": lambda p: with_layout(
        p, attention(0)["out.w"], HeadsReversed((1, 0), axis=0, heads=HEADS)
    ),
    "heads-split-dim-major": wrong_head_order,
    "ln1-gamma-beta-swapped": lambda p: swap_sources(p, "blocks.0.ln1.weight", "blocks.0.ln1.bias"),
}


@pytest.mark.parametrize("broken", BROKEN)
def test_broken_transfer_fails_inference_parity(broken: str) -> None:
    torch_model, keras_twin = SPEC.build_torch(0), keras_model("float32")
    pairs = BROKEN[broken](transformer.weight_map(keras_twin))
    load_weights(torch_model, keras_twin, pairs)
    x, _ = make_batch(SPEC, 4, 0)
    with pytest.raises(AssertionError):
        assert_parity(*infer_logits(SPEC, torch_model, keras_twin, x), TOLERANCE["float32"], broken)


def test_forgotten_or_doubled_tensor_raises() -> None:
    keras_twin, torch_model = keras_model("float32"), SPEC.build_torch(0)
    pairs = transformer.weight_map(keras_twin)
    forgotten = [pair for pair in pairs if pair[0] != attention(1)["v.b"]]
    with pytest.raises(ValueError, match=r"not transferred.*blocks\.1\.attn\.value\.bias"):
        load_weights(torch_model, keras_twin, forgotten)
    with pytest.raises(ValueError, match="used twice"):
        load_weights(torch_model, keras_twin, [*pairs, pairs[0]])


@pytest.mark.parametrize(
    ("name", "layout"),
    [
        ("blocks.0.fc.weight", None),  # (256, 64) not transposed
        ("blocks.0.attn.query.weight", (1, 0)),  # not split into heads
        ("blocks.0.attn.key.weight", HeadSplit((1, 0), axis=1, heads=2 * HEADS)),  # 8 x 8
        ("blocks.1.attn.out.bias", HeadSplit(None, axis=0, heads=HEADS)),  # split, but shared
    ],
)
def test_wrong_shape_raises(name: str, layout: object) -> None:
    keras_twin = keras_model("float32")
    pairs = with_layout(transformer.weight_map(keras_twin), name, layout)
    with pytest.raises(ValueError, match=re.escape(name)):
        load_weights(SPEC.build_torch(0), keras_twin, pairs)
