"""Fit: one epoch of Keras `model.fit` against PyTorch's DataLoader loop, on digits, per step."""

import pytest


@pytest.mark.twinbench_mode("fit")
def test_fit(case, measure):
    measure(case)
