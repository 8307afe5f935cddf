"""The parity proof that runs before any timing: it passes twins and names what differs.

In-process (the session runs it in a child process, tests/test_user_twins.py end to end).
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from fixtures.twins.my_twins import BROKEN, SPEC, weight_map

from twinbench.execute.parity import prove
from twinbench.execute.proof import ERROR, IDENTICAL, NOT_IDENTICAL
from twinbench.zoo.spec import ModelSpec
from twinbench.zoo.transfer import numpy_state


def test_a_correct_user_twin_is_proven_identical():
    proof = prove("mine", "tiny", SPEC)
    assert proof.status == IDENTICAL, proof


def test_one_kernel_not_transposed_is_not_identical_naming_the_output():
    proof = prove("broken", "tiny", BROKEN)
    assert proof.status == NOT_IDENTICAL
    assert proof.check == "inference float32"
    assert re.fullmatch(r"output\[\d+, \d\]", proof.where)
    assert proof.largest_difference is not None and proof.largest_difference > 1e-3
    assert "largest difference" in proof.summary and proof.where in proof.summary


def with_map(spec: ModelSpec, changed) -> ModelSpec:
    return dataclasses.replace(spec, weight_map=changed, transfer=None)


def test_weight_map_naming_a_tensor_that_does_not_exist_names_it():
    spec = with_map(
        SPEC,
        lambda k: [("mid.wieght", *p[1:]) if p[0] == "mid.weight" else p for p in weight_map(k)],
    )
    proof = prove("mine", "tiny", spec)
    assert (proof.status, proof.check) == (NOT_IDENTICAL, "weight map")
    assert "unknown PyTorch tensors" in proof.reason and "mid.wieght" in proof.reason
    assert "not transferred" in proof.reason and "mid.weight" in proof.reason


def test_a_keras_weight_used_twice_is_named():
    spec = with_map(
        SPEC, lambda k: [*weight_map(k)[:-1], ("out.bias", k.get_layer("mid").bias, None)]
    )
    proof = prove("mine", "tiny", spec)
    assert (proof.status, proof.check) == (NOT_IDENTICAL, "weight map")
    assert "assigned twice" in proof.reason and "mid/bias" in proof.reason


def test_shapes_that_cannot_match_name_the_tensor():
    spec = with_map(
        SPEC, lambda k: [(n, v, None if n == "inp.weight" else lay) for n, v, lay in weight_map(k)]
    )
    proof = prove("mine", "tiny", spec)
    assert (proof.status, proof.check) == (NOT_IDENTICAL, "weight map")
    assert "inp.weight: Keras expects shape (12, 16), got (16, 12)" in proof.reason


def test_a_transfer_that_skips_a_keras_weight_is_not_identical():
    def transfer_without_out_bias(weights, keras_model):
        state = numpy_state(weights)  # a NumPy state dict, as a user's transfer receives it
        for name, variable, layout in weight_map(keras_model)[:-1]:
            value = state[name]
            variable.assign(value if layout is None else value.transpose(layout))

    spec = dataclasses.replace(SPEC, transfer=transfer_without_out_bias, weight_map=None)
    proof = prove("mine", "tiny", spec)
    assert (proof.status, proof.check) == (NOT_IDENTICAL, "weight map")
    assert proof.where.endswith("out/bias")


def test_a_builder_that_raises_is_an_error_not_a_verdict():
    def no_model(seed: int):
        raise RuntimeError("my builder is broken")

    proof = prove("mine", "tiny", dataclasses.replace(SPEC, build_torch=no_model))
    assert proof.status == ERROR and "my builder is broken" in proof.reason


@pytest.mark.parametrize("builder", ["build_torch", "build_keras"])
def test_a_missing_builder_is_a_clear_error(builder):
    with pytest.raises(ValueError, match=f"{builder} is missing"):
        dataclasses.replace(SPEC, **{builder: None})


def test_a_spec_needs_a_weight_map_or_a_transfer():
    with pytest.raises(ValueError, match="weight_map or a transfer"):
        dataclasses.replace(SPEC, weight_map=None, transfer=None)
