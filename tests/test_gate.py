"""The gate of one run: suspects are re-measured in rounds, confirmed or cleared, recorded."""

from __future__ import annotations

from fixtures.runs import measured, run_with

from twinbench.baselines import save_baseline
from twinbench.compare import GateSettings
from twinbench.gate import Remeasurement, run_gate, verdict_lines

CASES = {"mlp-torch-eager-cpu-infer-fp32-b1": 1e-4, "mlp-keras-graph-cpu-infer-fp32-b1": 3e-4}
SLOW = {"mlp-torch-eager-cpu-infer-fp32-b1": 2e-4, "mlp-keras-graph-cpu-infer-fp32-b1": 3e-4}


def remeasure_at(step_s: float, calls: list[tuple[list[str], float | None]]):
    """A fake confirmation round whose processes all run at `step_s` per step."""

    def remeasure(case_ids: list[str], reference_probe_s: float | None) -> Remeasurement:
        calls.append((case_ids, reference_probe_s))
        results = {case_id: measured(case_id, step_s).processes for case_id in case_ids}
        return Remeasurement(results, probe_s=0.0084, waited_s=0.0)

    return remeasure


def bench_of(run, case_id):
    return next(b for b in run["benchmarks"] if b["param"] == case_id)


def test_a_suspect_that_stays_slow_is_a_confirmed_regression(tmp_path):
    save_baseline(tmp_path, run_with(CASES), "base.json")
    run, calls = run_with(SLOW), []
    outcome = run_gate(run, tmp_path, GateSettings(), remeasure_at(2e-4, calls))
    # Only the suspect, in two rounds: two re-measurements must agree.
    assert [ids for ids, _ in calls] == [["mlp-torch-eager-cpu-infer-fp32-b1"]] * 2
    verdicts = {v.case_id: v for v in outcome.comparison.verdicts}
    slow = verdicts["mlp-torch-eager-cpu-infer-fp32-b1"]
    assert (slow.verdict, slow.confirmed) == ("regression", True)
    assert "12 processes" in slow.note  # the run's 6 and the rounds' 3 each, pooled
    assert outcome.comparison.failed(strict=False)
    stored_round, _ = bench_of(run, "mlp-torch-eager-cpu-infer-fp32-b1")["extra_info"][
        "confirmation"
    ]
    assert len(stored_round["processes"]) == 3 and stored_round["probe_s"] == 0.0084
    stored = run["twinbench"]["comparison"]
    assert {v["verdict"] for v in stored["verdicts"]} == {"regression", "ok"}
    assert stored["settings"]["confirm_rounds"] == 3
    lines = verdict_lines(outcome)
    assert any("confirmed by re-measurement" in line for line in lines)
    assert any(line.startswith("confirmation: 2 round(s) of 1, 1 suspect(s)") for line in lines)


def test_a_suspect_that_recovers_is_cleared(tmp_path):
    save_baseline(tmp_path, run_with(CASES), "base.json")
    calls: list = []
    outcome = run_gate(run_with(SLOW), tmp_path, GateSettings(), remeasure_at(1e-4, calls))
    (cleared,) = [v for v in outcome.comparison.verdicts if v.confirmed is False]
    assert cleared.verdict == "ok" and "not confirmed" in cleared.note
    # Two rounds disagree: the one round left could not make two agreeing ones.
    assert len(calls) == 2
    assert not outcome.comparison.failed(strict=False)


def test_an_undecided_suspect_gets_more_rounds_but_no_more_than_configured(tmp_path):
    save_baseline(tmp_path, run_with(CASES), "base.json")
    run, calls = run_with(SLOW), []
    # Rounds at 2x agree, but at an alpha nothing reaches the pooled evidence is never
    # significant: both rounds are used, then the suspect is cleared.
    settings = GateSettings(alpha=1e-12, confirm_rounds=2)
    outcome = run_gate(run, tmp_path, settings, remeasure_at(2e-4, calls))
    assert len(calls) == 2
    rounds = bench_of(run, "mlp-torch-eager-cpu-infer-fp32-b1")["extra_info"]["confirmation"]
    assert len(rounds) == 2
    (decided,) = [v for v in outcome.comparison.verdicts if v.confirmed is not None]
    assert (decided.verdict, decided.confirmed) == ("ok", False)


def test_the_baseline_probe_is_passed_so_rounds_can_wait_for_a_calm_machine(tmp_path):
    baseline = run_with(CASES)
    baseline["twinbench"]["probe"] = {"start_s": 0.008, "end_s": 0.010}
    save_baseline(tmp_path, baseline, "base.json")
    calls: list = []
    run_gate(run_with(SLOW), tmp_path, GateSettings(), remeasure_at(2e-4, calls))
    assert abs(calls[0][1] - 0.009) < 1e-12  # the mean of its start and end probes


def test_zero_rounds_leaves_a_significant_suspect_unconfirmed(tmp_path):
    save_baseline(tmp_path, run_with(CASES), "base.json")
    calls: list = []
    settings = GateSettings(confirm_rounds=0)
    outcome = run_gate(run_with(SLOW), tmp_path, settings, remeasure_at(2e-4, calls))
    assert calls == []
    (suspect,) = [v for v in outcome.comparison.verdicts if v.verdict == "regression"]
    assert suspect.confirmed is None
    assert any("not re-measured" in line for line in verdict_lines(outcome))


def test_nothing_is_re_measured_without_a_baseline(tmp_path):
    calls: list = []
    outcome = run_gate(run_with(SLOW), tmp_path, GateSettings(), remeasure_at(2e-4, calls))
    assert calls == [] and outcome.baseline is None
    assert {v.verdict for v in outcome.comparison.verdicts} == {"no-baseline"}
