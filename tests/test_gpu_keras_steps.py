"""Keras on JAX and on PyTorch train like the PyTorch runner: the portable runner's own
training loops (keras_backends) give the same losses over three steps, so the optimizer
update, not only the first forward pass, is the same arithmetic."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

THREE_STEPS = """
import json, sys
from twinbench.core.cases import Case
from twinbench.runners import load_runner
from twinbench.zoo import load_spec
framework = sys.argv[1]
runner = load_runner(framework)
runner.configure(1)
case = Case("mlp", framework, "cpu", "train", 4)
prepared = runner.prepare(load_spec("mlp"), case, 0)
print(json.dumps([float(runner.to_numpy(prepared.run_once())) for _ in range(3)]))
"""


def losses(framework: str, backend: str) -> list[float]:
    done = subprocess.run(
        [sys.executable, "-c", THREE_STEPS, framework],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {"KERAS_BACKEND": backend},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_three_training_steps_match_the_pytorch_runner(backend):
    if backend == "jax":
        pytest.importorskip("jax")
    expected = losses("torch", "tensorflow")
    assert expected[2] < expected[0]  # it learns: the steps update the weights
    assert losses("keras", backend) == pytest.approx(expected, rel=1e-5)
