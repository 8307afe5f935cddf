"""Training: forward, cross-entropy, backward and an SGD-with-momentum update per step."""

import pytest


@pytest.mark.twinbench_mode("train")
def test_train(case, measure):
    measure(case)
