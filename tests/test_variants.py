"""Variants and precisions compute what the default variant computes, through the runners.

Each check prepares cases exactly as a worker does (`Runner.prepare`, then one step), so what
is checked is what is benchmarked. torch.compile (Inductor) and XLA both build on this CPU.
bf16 cases are benchmarked on CUDA only, but the runners' bf16 code is device-independent:
here it runs on the CPU, where both frameworks support bfloat16, to check it numerically.
"""

from __future__ import annotations

import functools
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # before the first `import keras`

import numpy as np
import pytest
import torch

from twinbench.core.cases import Case
from twinbench.execute.numerics import check_output
from twinbench.runners.base import Runner
from twinbench.runners.keras_tf import KerasRunner
from twinbench.runners.pytorch import TorchRunner
from twinbench.zoo import load_spec

RUNNERS = {"keras": KerasRunner, "torch": TorchRunner}
COMPILED = {"keras": "xla", "torch": "compile"}
BATCH, SEED = 4, 0


@functools.cache
def runner(framework: str) -> Runner:
    return RUNNERS[framework]()


def first_output(case: Case) -> np.ndarray:
    """The output of one step of `case` (logits, or the loss of the first training step)."""
    framework = runner(case.framework)
    prepared = framework.prepare(load_spec(case.model), case, SEED)
    try:
        return np.asarray(framework.to_numpy(prepared.run_once()), dtype=np.float64)
    finally:
        framework.release()


@pytest.mark.parametrize("mode", ["infer", "train"])
@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_compiled_variant_reproduces_the_default_within_the_fp32_tolerance(framework, mode):
    default = first_output(Case("mlp", framework, "cpu", mode, BATCH))
    graphs_before = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    compiled = first_output(Case("mlp", framework, "cpu", mode, BATCH, COMPILED[framework]))
    assert check_output(compiled, default.tolist()).status == "same"
    if framework == "torch":  # Dynamo captured the model: compiled, not silently eager
        assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > graphs_before


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_bf16_computes_in_bfloat16_within_its_tolerance(framework):
    fp32 = first_output(Case("mlp", framework, "cpu", "infer", BATCH))
    bf16 = first_output(Case("mlp", framework, "cpu", "infer", BATCH, precision="bf16"))
    assert check_output(bf16, fp32.tolist(), "fp32").status == "changed"  # really bfloat16
    assert check_output(bf16, fp32.tolist(), "bf16").status == "same"


def test_bf16_training_step_gives_a_close_loss():
    for framework in ("keras", "torch"):
        fp32 = first_output(Case("mlp", framework, "cpu", "train", BATCH))
        bf16 = first_output(Case("mlp", framework, "cpu", "train", BATCH, precision="bf16"))
        assert check_output(bf16, fp32.tolist(), "bf16").status == "same", framework
