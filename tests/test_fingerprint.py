"""Fields that must keep runs apart whatever the fingerprint's layout: a change is never judged.

Pinned through the public path (run file, then the gate), so the test holds whether these
fields live in one fingerprint, in its identity part, or (the Keras backend) in the case id.
"""

from __future__ import annotations

import pytest
from fixtures.runs import METADATA, run_with

from twinbench.gate.compare import GateSettings, compare_runs

KERAS = "mlp-keras-graph-cpu-infer-fp32-b1"
TORCH = "mlp-torch-eager-cpu-infer-fp32-b1"
CASES = {KERAS: 3e-4, TORCH: 1e-4}
BASE = dict(METADATA, keras_backend="tensorflow")
# Outcomes that say "not compared with this baseline".
NOT_JUDGED = {"incomparable", "no-baseline", "missing"}


def verdicts(current_metadata):
    baseline, current = run_with(CASES, BASE), run_with(CASES, current_metadata)
    return {v.case_id: v.verdict for v in compare_runs(baseline, current, GateSettings()).verdicts}


def test_the_same_machine_and_settings_are_compared():
    assert set(verdicts(dict(BASE, hostname="other", cpu_hz_actual="3.9 GHz")).values()) == {"ok"}


@pytest.mark.parametrize(("field", "other"), [("threads", 1), ("tf32", True)])
def test_thread_count_and_tf32_are_identity(field, other):
    """Two threads against one, or TF32 on: other numbers, never a regression or speed-up."""
    assert set(verdicts(dict(BASE, **{field: other})).values()) <= NOT_JUDGED


def test_the_keras_backend_keeps_keras_cases_apart():
    """Keras on JAX is not Keras on TensorFlow: its cases are never judged against them.

    Since schema 3 the backend is part of the case id (keras_jax), so a JAX run finds no
    TensorFlow figure to be judged against, and the PyTorch cases still are."""
    jax_keras = KERAS.replace("-keras-", "-keras_jax-")
    baseline = run_with(CASES, BASE)
    current = run_with({jax_keras: 3e-4, TORCH: 1e-4}, dict(BASE, keras_backend="jax"))
    found = {v.case_id: v.verdict for v in compare_runs(baseline, current, GateSettings()).verdicts}
    assert found[jax_keras] in NOT_JUDGED and found[TORCH] == "ok"
