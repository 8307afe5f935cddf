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
from twinbench.execute.pool import WorkerPool
from twinbench.measure.timing import TimingSettings
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


def test_keras_xla_is_compiled_by_xla_and_graph_is_not(tmp_path, monkeypatch):
    """XLA's own dump, from a worker measuring the cases: the outputs alone cannot tell.

    Dropping `jit_compile` would still reproduce the default's outputs; XLA dumps an
    optimised HLO module only for what it compiled, and TensorFlow names a function that
    must be compiled with `XlaMustCompile_true`.
    """
    monkeypatch.setenv("XLA_FLAGS", f"--xla_dump_to={tmp_path}")
    timing = TimingSettings(warmup_s=0.0, min_sample_s=0.001, rounds=1)
    pool = WorkerPool(processes=1, threads=1)
    dumped: dict[str, set[str]] = {}
    try:
        for variant in ("graph", "xla"):
            (result,) = pool.measure(Case("mlp", "keras", "cpu", "infer", BATCH, variant), timing)
            assert result.status == "ok", result.reason
            dumped[variant] = {p.name for p in tmp_path.iterdir()} - set().union(*dumped.values())
    finally:
        pool.close()
    assert dumped["graph"] == set()
    compiled = [name for name in dumped["xla"] if name.endswith(".cpu_after_optimizations.txt")]
    assert all("XlaMustCompile_true" in name for name in compiled)
    # Two modules at least: the runner's XLA availability check compiles a tiny function of
    # its own; the case's step is another.
    assert len(compiled) >= 2, compiled


def test_compile_without_a_cxx_compiler_skips_with_the_compilers_reason(tmp_path, monkeypatch):
    """No working C++ compiler (Inductor's CPU backend needs one): skipped, the reason given."""
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-c++"))
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))  # nothing cached
    timing = TimingSettings(warmup_s=0.0, min_sample_s=0.001, rounds=1)
    pool = WorkerPool(processes=1, threads=1)
    try:
        (compiled,) = pool.measure(Case("mlp", "torch", "cpu", "infer", BATCH, "compile"), timing)
        (eager,) = pool.measure(Case("mlp", "torch", "cpu", "infer", BATCH), timing)
    finally:
        pool.close()
    assert compiled.status == "skipped"
    assert (compiled.reason or "").startswith("torch.compile does not work here:")
    assert "no-such-c++" in (compiled.reason or "")
    assert eager.status == "ok"  # the default variant does not need the compiler
