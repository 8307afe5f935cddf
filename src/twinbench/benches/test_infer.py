"""Inference: one forward pass per step (Keras in tf.function, PyTorch under inference_mode)."""

import pytest


@pytest.mark.twinbench_mode("infer")
def test_infer(case, measure):
    measure(case)
