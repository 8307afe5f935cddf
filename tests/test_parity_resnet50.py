"""Parity of ResNet-50's twins (the resnet model's full size) at the reduced size, through the
runners' own step functions (as test_parity.py), and the full size built once, never run.

Tolerances (rtol = atol) as test_parity_resnet.py: forward float32 1e-5, float64 1e-12; three
SGD steps, losses, float64 1e-6 (the float32 losses drift by rounding: that file's docstring).
"""

from __future__ import annotations

import functools
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # before the first `import keras`

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch

from test_parity import (
    TOLERANCE,
    TRAIN_TOLERANCE,
    assert_parity,
    infer_logits,
    train_losses,
    train_step_pair,
)
from twinbench.zoo import load_spec, resnet50
from twinbench.zoo.spec import make_batch
from twinbench.zoo.transfer import load_weights

SPEC = resnet50.REDUCED_SPEC


@functools.cache
def keras_model(dtype: str) -> keras.Model:
    return SPEC.build_keras(dtype)


def twins(dtype: str, seed: int) -> tuple[torch.nn.Module, keras.Model]:
    torch_model = SPEC.build_torch(seed)
    torch_model = torch_model.double() if dtype == "float64" else torch_model
    SPEC.transfer(torch_model, keras_model(dtype))
    return torch_model, keras_model(dtype)


@pytest.mark.parametrize(("dtype", "batch", "seed"), [("float32", 3, 1), ("float64", 2, 5)])
def test_inference_and_training_mode_parity(dtype: str, batch: int, seed: int) -> None:
    torch_model, keras_twin = twins(dtype, seed)
    x, _ = make_batch(SPEC, batch, seed, dtype)
    assert_parity(*infer_logits(SPEC, torch_model, keras_twin, x), TOLERANCE[dtype], "inference")
    with torch.no_grad():
        torch_out = torch_model.train()(torch.from_numpy(x)).numpy()
    keras_out = keras_twin(tf.constant(SPEC.to_keras_layout(x)), training=True)
    assert_parity(torch_out, keras_out, TOLERANCE[dtype], "training-mode logits")


def test_three_float64_sgd_steps_give_the_same_losses() -> None:
    torch_model, keras_twin = twins("float64", 3)
    x, y = make_batch(SPEC, 2, 3, "float64")
    losses = train_losses(*train_step_pair(SPEC, torch_model, keras_twin, "float64", x, y))
    assert_parity(*losses, TRAIN_TOLERANCE["float64"], "losses")


def test_the_plan_has_identity_and_projection_shortcuts_at_both_strides() -> None:
    plan = resnet50.block_plan(resnet50.REDUCED)
    assert {(b.projects, b.stride) for b in plan} == {(True, 1), (False, 1), (True, 2)}


def test_stride_two_conv_kernel_with_kh_kw_swapped_fails_parity() -> None:
    torch_model, keras_twin = SPEC.build_torch(0), keras_model("float32")
    pairs = resnet50.weight_map(keras_twin, resnet50.REDUCED)
    target = "layer2.0.conv2.weight"
    broken = [(n, v, (3, 2, 1, 0) if n == target else lay) for n, v, lay in pairs]
    load_weights(torch_model, keras_twin, broken)  # 3x3: no shape error
    x, _ = make_batch(SPEC, 2, 0)
    with pytest.raises(AssertionError):
        assert_parity(*infer_logits(SPEC, torch_model, keras_twin, x), TOLERANCE["float32"], "")


def test_full_size_is_torchvision_resnet50() -> None:
    """Built once in each framework and transferred, never run: 25,557,032 parameters."""
    full = load_spec("resnet", "full")
    torch_model = full.build_torch(0)
    assert sum(p.numel() for p in torch_model.parameters()) == 25_557_032
    state = torch_model.state_dict()
    # torchvision's names and shapes, so its checkpoints' keys would line up.
    assert state["conv1.weight"].shape == (64, 3, 7, 7)
    assert state["layer2.0.downsample.0.weight"].shape == (512, 256, 1, 1)
    assert state["layer4.2.bn3.running_var"].shape == (2048,)
    assert state["fc.weight"].shape == (1000, 2048)
    assert sum(1 for k in state if k.endswith("conv1.weight")) == 1 + 3 + 4 + 6 + 3
    keras_twin = full.build_keras("float32")
    trainable = sum(int(np.prod(w.shape)) for w in keras_twin.trainable_weights)
    assert trainable == 25_557_032
    assert keras_twin.output.shape == (None, 1000)
    full.transfer(torch_model, keras_twin)  # the weight map covers the full size too
    assert full.proof_spec is SPEC and full.input_shape == (3, 224, 224)
