"""Reference outputs: same, changed, absent, unreadable; refresh keeps what it does not touch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twinbench.execute.numerics import (
    check_output,
    load_references,
    reference_path,
    refresh_references,
    stored_output,
)
from twinbench.results.storage import RunFileError

LOGITS = np.array([[0.25, -1.5, 3.0], [1e-6, 0.0, -2.0]])


def test_same_within_float32_noise():
    check = check_output(LOGITS * (1 + 1e-6), LOGITS.tolist())
    assert check.status == "same"
    assert check.worst is not None and check.worst < 1


def test_changed_reports_the_largest_relative_error():
    moved = LOGITS.copy()
    moved[0, 2] = 3.03  # 1% off
    check = check_output(moved, LOGITS.tolist())
    assert check.status == "changed"
    assert check.max_relative_error == pytest.approx(0.01, rel=1e-6)


def test_shape_change_is_a_change_and_absence_is_no_reference():
    assert check_output(LOGITS[:1], LOGITS.tolist()).status == "changed"
    assert check_output(LOGITS, None).status == "no-reference"
    assert check_output(np.float32(2.3), 2.3).status == "same"  # a training loss


def test_refresh_writes_and_merges(tmp_path):
    refresh_references(tmp_path, "mlp", {("torch", "infer"): LOGITS.tolist()}, {"torch": "x"})
    refresh_references(tmp_path, "mlp", {("keras", "train"): 2.3}, {"torch": "y"})
    data = load_references(reference_path(tmp_path, "mlp"))
    assert stored_output(data, "torch", "infer") == LOGITS.tolist()
    assert stored_output(data, "keras", "train") == 2.3
    assert stored_output(data, "keras", "infer") is None


def test_unreadable_reference_names_the_file(tmp_path):
    path = reference_path(tmp_path, "cnn")
    path.write_text('{"format_version": 1, "outputs": {')
    with pytest.raises(RunFileError, match=r"cnn\.json"):
        load_references(path)
    path.write_text(json.dumps({"format_version": 9}))
    with pytest.raises(RunFileError, match="format_version"):
        load_references(path)


def test_bf16_has_a_looser_tolerance_that_still_catches_a_different_model():
    rounded = LOGITS * (1 + 2**-8)  # one bfloat16 rounding step
    assert check_output(rounded, LOGITS.tolist()).status == "changed"
    assert check_output(rounded, LOGITS.tolist(), "bf16").status == "same"
    wrong = LOGITS + 0.3  # what a wrongly mapped weight does to logits
    assert check_output(wrong, LOGITS.tolist(), "bf16").status == "changed"
