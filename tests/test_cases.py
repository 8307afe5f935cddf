"""The case matrix: ids, grouping and an order that never interleaves frameworks."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twinbench.core.cases import (
    DEVICES,
    FRAMEWORK_VARIANTS,
    FRAMEWORKS,
    MODES,
    PRECISIONS,
    VARIANTS,
    Case,
    Selection,
    build_matrix,
    migrate_case_id,
    unsupported,
)

SELECTION = Selection(
    models=("mlp", "cnn"),
    frameworks=FRAMEWORKS,
    devices=DEVICES,
    modes=MODES,
    batch_sizes=(1, 64),
)


def test_id_is_readable_and_round_trips():
    case = Case("mlp", "keras", "cpu", "infer", 64, "xla", "bf16")
    assert case.id == "mlp-keras-xla-cpu-infer-bf16-b64"
    assert case.group == "mlp-compiled-cpu-infer-bf16-b64"
    assert Case.from_id(case.id) == case


def test_variant_and_precision_default_to_the_framework_default_and_fp32():
    assert Case("mlp", "keras", "cpu", "infer", 64).id == "mlp-keras-graph-cpu-infer-fp32-b64"
    assert Case("mlp", "torch", "cpu", "infer", 64).id == "mlp-torch-eager-cpu-infer-fp32-b64"


def test_migrated_schema_1_id_names_the_default_variant_and_fp32():
    assert migrate_case_id("mlp-keras-cpu-infer-b64") == "mlp-keras-graph-cpu-infer-fp32-b64"
    assert migrate_case_id("cnn-torch-cuda-train-b1") == "cnn-torch-eager-cuda-train-fp32-b1"
    with pytest.raises(ValueError, match="schema-1"):
        migrate_case_id("mlp-keras-graph-cpu-infer-fp32-b64")


@given(
    model=st.sampled_from(["mlp", "cnn"]),
    framework=st.sampled_from(FRAMEWORKS),
    device=st.sampled_from(DEVICES),
    mode=st.sampled_from(MODES),
    batch=st.integers(1, 10_000),
    variant_index=st.integers(0, 1),
    precision=st.sampled_from(PRECISIONS),
)
def test_from_id_inverts_id(model, framework, device, mode, batch, variant_index, precision):
    variant = FRAMEWORK_VARIANTS[framework][variant_index]
    case = Case(model, framework, device, mode, batch, variant, precision)
    assert Case.from_id(case.id) == case


def test_from_id_rejects_malformed_and_schema_1_ids():
    for bad in ("mlp-keras-cpu-infer-b64", "mlp-keras-graph-cpu-infer-fp32-64", "a-b-c-d-e-f-bx"):
        with pytest.raises(ValueError, match="expected model-framework-variant") as caught:
            Case.from_id(bad)
        assert bad in str(caught.value)


def test_matrix_is_the_full_product_without_repeats():
    cases = build_matrix(SELECTION)
    assert len(cases) == 2 * 2 * 2 * len(MODES) * 2
    assert len({c.id for c in cases}) == len(cases)
    assert {c.variant for c in cases} == {"graph", "eager"}
    assert {c.precision for c in cases} == {"fp32"}


def test_each_framework_runs_only_its_own_variants():
    everything = Selection(**{**SELECTION.__dict__, "variants": VARIANTS, "precisions": PRECISIONS})
    cases = build_matrix(everything)
    # frameworks x devices x models x modes x batches x variants of each framework x precisions
    assert len(cases) == 2 * 2 * 2 * len(MODES) * 2 * 2 * 2
    assert all(c.variant in FRAMEWORK_VARIANTS[c.framework] for c in cases)
    only_xla = Selection(**{**SELECTION.__dict__, "variants": ("xla",)})
    assert {(c.framework, c.variant) for c in build_matrix(only_xla)} == {("keras", "xla")}


def test_matrix_keeps_each_framework_in_one_stretch():
    frameworks = [c.framework for c in build_matrix(SELECTION)]
    changes = sum(1 for a, b in itertools.pairwise(frameworks) if a != b)
    assert changes == 1  # all keras, then all torch


def test_keras_and_torch_twins_share_a_group():
    everything = Selection(**{**SELECTION.__dict__, "variants": VARIANTS, "precisions": PRECISIONS})
    groups: dict[str, set[str]] = {}
    for case in build_matrix(everything):
        groups.setdefault(case.group, set()).add(f"{case.framework}-{case.variant}")
    pairs = {frozenset(members) for members in groups.values()}
    assert pairs == {
        frozenset({"keras-graph", "torch-eager"}),
        frozenset({"keras-xla", "torch-compile"}),
    }


def test_bf16_is_unsupported_on_cpu_only():
    assert "CUDA only" in (
        unsupported(Case("mlp", "torch", "cpu", "infer", 1, "eager", "bf16")) or ""
    )
    assert unsupported(Case("mlp", "torch", "cuda", "infer", 1, "compile", "bf16")) is None
    assert unsupported(Case("mlp", "keras", "cpu", "infer", 1, "xla")) is None
    assert "no variant" in (unsupported(Case("mlp", "keras", "cpu", "infer", 1, "eager")) or "")
