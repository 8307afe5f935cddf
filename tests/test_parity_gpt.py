"""Parity of the gpt twins (GPT-2-shaped causal LM) at the tiny size, through the runners'
own step functions (as test_parity.py), and the full size built once, never run.

Tolerances (rtol = atol): inference float32 1e-5; float64 1e-7, the transformer's (TF builds
GELU's constants in float32, test_parity_transformer.py); losses of three SGD steps float64
1e-6, float32 1e-4 (test_parity.py's).
"""

from __future__ import annotations

import functools
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # before the first `import keras`

import keras
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from test_parity import (
    TOLERANCE,
    TRAIN_TOLERANCE,
    assert_parity,
    infer_logits,
    train_losses,
    train_step_pair,
)
from twinbench.zoo import gpt, load_spec
from twinbench.zoo.attention import HeadSplit
from twinbench.zoo.spec import make_batch

SPEC = gpt.SPEC
INFER_TOLERANCE = {"float32": TOLERANCE["float32"], "float64": {"rtol": 1e-7, "atol": 1e-7}}
few = settings(max_examples=3, deadline=None)


@functools.cache
def keras_model(dtype: str) -> keras.Model:
    return SPEC.build_keras(dtype)


def twins(dtype: str, seed: int) -> tuple[torch.nn.Module, keras.Model]:
    torch_model = SPEC.build_torch(seed)
    torch_model = torch_model.double() if dtype == "float64" else torch_model
    SPEC.transfer(torch_model, keras_model(dtype))
    return torch_model, keras_model(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@few
@given(batch=st.integers(1, 4), seed=st.integers(0, 2**31 - 1))
def test_inference_parity(dtype: str, batch: int, seed: int) -> None:
    torch_model, keras_twin = twins(dtype, seed)
    x, _ = make_batch(SPEC, batch, seed, dtype)
    torch_out, keras_out = infer_logits(SPEC, torch_model, keras_twin, x)
    assert torch_out.shape == (batch * gpt.CONFIG.seq_len, gpt.CONFIG.vocab_size)
    assert_parity(torch_out, keras_out, INFER_TOLERANCE[dtype], "logits")


def test_the_mask_is_causal_in_both_frameworks() -> None:
    """Changing the last token moves the last position's logits only, in both twins."""
    torch_model, keras_twin = twins("float64", 0)
    x, _ = make_batch(SPEC, 1, 0, "float64")
    changed = x.copy()
    changed[0, -1] = (changed[0, -1] + 1) % gpt.CONFIG.vocab_size
    for before, after in zip(
        infer_logits(SPEC, torch_model, keras_twin, x),
        infer_logits(SPEC, torch_model, keras_twin, changed),
        strict=True,
    ):
        np.testing.assert_array_equal(before[:-1], after[:-1])
        assert np.abs(before[-1] - after[-1]).max() > 1e-6


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_three_sgd_steps_give_the_same_losses(dtype: str) -> None:
    torch_model, keras_twin = twins(dtype, 7)
    x, y = make_batch(SPEC, 2, 7, dtype)
    assert y.shape == (2 * gpt.CONFIG.seq_len,)  # a label per position
    losses = train_losses(*train_step_pair(SPEC, torch_model, keras_twin, dtype, x, y))
    assert_parity(*losses, TRAIN_TOLERANCE[dtype], "losses")


def test_attention_kernel_without_its_head_split_fails_parity() -> None:
    torch_model, keras_twin = SPEC.build_torch(0), keras_model("float32")
    pairs = gpt.weight_map(keras_twin)
    wrong = HeadSplit(None, axis=1, heads=gpt.CONFIG.n_heads)  # the transpose forgotten
    broken = [(n, v, wrong if n == "blocks.0.attn.key.weight" else lay) for n, v, lay in pairs]
    from twinbench.zoo.transfer import load_weights

    load_weights(torch_model, keras_twin, broken)  # square: no shape error
    x, _ = make_batch(SPEC, 2, 0)
    with pytest.raises(AssertionError):
        assert_parity(*infer_logits(SPEC, torch_model, keras_twin, x), TOLERANCE["float32"], "")


def test_full_size_is_gpt2_small_with_tied_embeddings() -> None:
    """Built once in each framework and transferred, never run: 124,439,808 parameters."""
    full = load_spec("gpt", "full")
    torch_model = full.build_torch(0)
    assert sum(p.numel() for p in torch_model.parameters()) == 124_439_808
    keras_twin = full.build_keras("float32")
    assert keras_twin.count_params() == 124_439_808  # the tied head adds no weight
    full.transfer(torch_model, keras_twin)  # the weight map covers the full size too
    assert full.proof_spec is SPEC and full.labels_per_example == 1024
