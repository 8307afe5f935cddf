"""The witnesses shown beside a verdict: read against the case's baseline where it has them."""

from __future__ import annotations

from fixtures.runs import run_with

from twinbench.gate.compare import GateSettings
from twinbench.gate.interference import usual_witnesses
from twinbench.gate.session_gate import run_gate
from twinbench.gate.witness_notes import notable
from twinbench.results.baselines import save_baseline

CASE = "mlp-torch-eager-cpu-infer-fp32-b1"
CUDA_CASE = "mlp-torch-eager-cuda-infer-fp32-b1"


def with_witnesses(run, cpu_per_wall: float, peak_flops: float):
    """Every process of every case got this CPU share and measured this peak."""
    for bench in run["benchmarks"]:
        for process in bench["extra_info"]["processes"]:
            samples = len(process["samples"])
            process["witness"] = {"cpu_per_wall": [cpu_per_wall] * samples}
            process["peak_flops"] = peak_flops
    return run


def test_a_share_is_read_against_the_cases_baseline_share():
    starved = ({"cpu_per_wall": 0.9},) * 3
    assert notable(starved, usual_cpu_per_wall=1.5) == "cpu/wall 0.90 (60% of baseline)"
    # A framework that keeps one thread busy: 0.4 is most of its usual share, not a spell.
    one_thread = ({"cpu_per_wall": 0.4},) * 3
    assert notable(one_thread, usual_cpu_per_wall=0.42) == ""
    # Without a baseline share, only a step under half a CPU stands out.
    assert notable(one_thread) == "cpu/wall 0.40"
    assert notable(starved) == ""


def test_a_low_peak_is_shown_against_the_baselines_and_only_then():
    slow = ({"peak_flops": 7e10},) * 3
    assert notable(slow, usual_peak_flops=1e11) == "matmul peak 70% of baseline"
    assert notable(slow, usual_peak_flops=7.5e10) == ""
    assert notable(slow) == ""


def test_the_peak_is_compared_only_for_cpu_cases_of_an_unchanged_stack():
    base = with_witnesses(run_with({CASE: 1e-4, CUDA_CASE: 1e-4}), 1.5, 1e11)
    cpu, cuda = (next(b for b in base["benchmarks"] if b["param"] == c) for c in (CASE, CUDA_CASE))
    assert usual_witnesses(cpu, stack_changed=False) == (1.5, 1e11)
    assert usual_witnesses(cpu, stack_changed=True) == (1.5, None)
    assert usual_witnesses(cuda, stack_changed=False) == (1.5, None)


def test_the_gate_notes_a_first_look_that_lost_its_share_and_peak(tmp_path):
    save_baseline(tmp_path, with_witnesses(run_with({CASE: 1e-4}), 1.6, 1e11), "base.json")
    run = with_witnesses(run_with({CASE: 1e-4}), 1.2, 8e10)

    def never(case_ids, _calm):  # the case is no suspect: nothing to re-measure
        raise AssertionError(f"re-measured {case_ids}")

    outcome = run_gate(run, tmp_path, GateSettings(), never)
    (verdict,) = outcome.comparison.verdicts
    assert verdict.verdict == "ok"
    assert verdict.note.endswith(
        "witnessed: cpu/wall 1.20 (75% of baseline), matmul peak 80% of baseline"
    )
    calm = with_witnesses(run_with({CASE: 1e-4}), 1.55, 9.6e10)
    (verdict,) = run_gate(calm, tmp_path, GateSettings(), never).comparison.verdicts
    assert "witnessed" not in (verdict.note or "")
