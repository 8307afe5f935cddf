"""The case matrix: ids, grouping and an order that never interleaves frameworks."""

import itertools

from hypothesis import given
from hypothesis import strategies as st

from twinbench.cases import DEVICES, FRAMEWORKS, MODES, Case, Selection, build_matrix

SELECTION = Selection(
    models=("mlp", "cnn"),
    frameworks=FRAMEWORKS,
    devices=DEVICES,
    modes=MODES,
    batch_sizes=(1, 64),
)


def test_id_is_readable_and_round_trips():
    case = Case("mlp", "keras", "cpu", "infer", 64)
    assert case.id == "mlp-keras-cpu-infer-b64"
    assert case.group == "mlp-cpu-infer-b64"
    assert Case.from_id(case.id) == case


@given(
    model=st.sampled_from(["mlp", "cnn"]),
    framework=st.sampled_from(FRAMEWORKS),
    device=st.sampled_from(DEVICES),
    mode=st.sampled_from(MODES),
    batch=st.integers(1, 10_000),
)
def test_from_id_inverts_id(model, framework, device, mode, batch):
    case = Case(model, framework, device, mode, batch)
    assert Case.from_id(case.id) == case


def test_from_id_rejects_malformed():
    for bad in ("mlp-keras-cpu-infer", "mlp-keras-cpu-infer-64", "a-b-c-d-bx"):
        try:
            Case.from_id(bad)
        except ValueError as error:
            assert bad in str(error)
        else:
            raise AssertionError(f"{bad} was accepted")


def test_matrix_is_the_full_product_without_repeats():
    cases = build_matrix(SELECTION)
    assert len(cases) == 2 * 2 * 2 * len(MODES) * 2
    assert len({c.id for c in cases}) == len(cases)


def test_matrix_keeps_each_framework_in_one_stretch():
    frameworks = [c.framework for c in build_matrix(SELECTION)]
    changes = sum(1 for a, b in itertools.pairwise(frameworks) if a != b)
    assert changes == 1  # all keras, then all torch


def test_keras_and_torch_twins_share_a_group():
    groups: dict[str, set[str]] = {}
    for case in build_matrix(SELECTION):
        groups.setdefault(case.group, set()).add(case.framework)
    assert all(frameworks == {"keras", "torch"} for frameworks in groups.values())
