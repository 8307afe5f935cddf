"""The `unsure` verdict: suspects the rounds could neither confirm nor clear, or interference."""

from __future__ import annotations

from dataclasses import replace

from fixtures.runs import METADATA, measured, run_with

from twinbench.core.status import fails
from twinbench.gate.compare import GateSettings, judge_samples
from twinbench.gate.confirm import Round, decide, stored_rounds
from twinbench.gate.rounds import Remeasurement
from twinbench.gate.session_gate import run_gate, verdict_lines
from twinbench.results.baselines import save_baseline

CASE = "mlp-torch-eager-cpu-infer-fp32-b1"
OTHER = "mlp-keras-graph-cpu-infer-fp32-b1"
SETTINGS = GateSettings()
BASE = tuple((1e-3 * (1 + 0.02 * i),) * 5 for i in range(9))


def level(factor: float, n: int = 3):
    return tuple((1e-3 * factor * (1 + 0.02 * i),) * 5 for i in range(n))


def test_unsure_fails_only_a_strict_gate():
    assert not fails("unsure", strict=False)
    assert fails("unsure", strict=True)


def test_rounds_that_still_read_slow_without_significance_end_unsure():
    strict_alpha = replace(SETTINGS, alpha=1e-9)  # nothing reaches it
    suspect = judge_samples(CASE, BASE, level(1.3), strict_alpha)
    rounds = [Round(level(1.3))] * 3
    decided = decide(suspect, BASE, level(1.3), rounds, strict_alpha)
    assert (decided.verdict, decided.confirmed) == ("unsure", False)


def test_rounds_that_end_at_baseline_speed_clear_the_suspect():
    suspect = judge_samples(CASE, BASE, level(1.3), SETTINGS)
    rounds = [Round(level(1.3)), Round(level(1.0)), Round(level(1.0))]
    decided = decide(suspect, BASE, level(1.3), rounds, SETTINGS)
    assert (decided.verdict, decided.confirmed) == ("ok", False)


def test_a_confirmation_under_witnessed_steal_is_unsure():
    suspect = judge_samples(CASE, BASE, level(1.5), SETTINGS)
    calm = ({"steal": 0.0},) * 3
    stolen = ({"steal": 0.3},) * 3
    clean = [Round(level(1.5), witnesses=calm)] * 2
    assert decide(suspect, BASE, level(1.5), clean, SETTINGS).verdict == "regression"
    noisy = [Round(level(1.5), witnesses=stolen), Round(level(1.5), witnesses=calm)]
    decided = decide(suspect, BASE, level(1.5), noisy, SETTINGS)
    assert (decided.verdict, decided.confirmed) == ("unsure", False)
    assert "the host stole 30% of the CPU time" in decided.note


def test_a_confirmation_whose_step_lost_its_cpu_share_is_unsure():
    """Against the case's baseline share: 1.5 CPUs per wall second usually, 0.6 in a spell."""
    suspect = judge_samples(CASE, BASE, level(1.5), SETTINGS)
    usual, starved = ({"cpu_per_wall": 1.5},) * 3, ({"cpu_per_wall": 0.6},) * 3
    clean = [Round(level(1.5), witnesses=usual)] * 2
    assert decide(suspect, BASE, level(1.5), clean, SETTINGS, 1.0, 1.5).verdict == "regression"
    spell = [Round(level(1.5), witnesses=starved), Round(level(1.5), witnesses=usual)]
    decided = decide(suspect, BASE, level(1.5), spell, SETTINGS, 1.0, 1.5)
    assert (decided.verdict, decided.confirmed) == ("unsure", False)
    assert "the step got 40% of the CPU time per wall second it got in the baseline" in decided.note
    # A share kept within the limit (1.4 of 1.5), or no baseline share to hold it against: counts
    slightly_less = [Round(level(1.5), witnesses=({"cpu_per_wall": 1.4},) * 3)] * 2
    assert decide(suspect, BASE, level(1.5), slightly_less, SETTINGS, 1.0, 1.5).verdict == (
        "regression"
    )
    assert decide(suspect, BASE, level(1.5), spell, SETTINGS).verdict == "regression"


def test_the_gate_holds_rounds_against_the_baselines_cpu_share(tmp_path):
    """End to end: the baseline's processes give the usual share, the rounds' their own."""
    base = run_with({CASE: 1e-4})
    for process in base["benchmarks"][0]["extra_info"]["processes"]:
        process["witness"] = {"cpu_per_wall": [1.0, 1.0, 1.0]}
    save_baseline(tmp_path, base, "base.json")
    run = run_with({CASE: 2e-4})
    outcome = run_gate(run, tmp_path, SETTINGS, remeasure_with(2e-4, {"cpu_per_wall": 0.4}))
    (verdict,) = outcome.comparison.verdicts
    assert verdict.verdict == "unsure" and "40% of the CPU time" in verdict.note
    calm = run_gate(
        run_with({CASE: 2e-4}), tmp_path, SETTINGS, remeasure_with(2e-4, {"cpu_per_wall": 0.98})
    )
    assert calm.comparison.verdicts[0].verdict == "regression"


def test_the_gate_holds_rounds_against_the_baselines_matmul_peak(tmp_path):
    """A round whose workers' peak fell far below the baseline's ran on a slower machine."""
    save_baseline_with_peak(tmp_path, 1.0e11)
    slow_machine = remeasure_with(2e-4, {"cpu_per_wall": 1.0}, peak_flops=3.0e10)
    outcome = run_gate(run_with({CASE: 2e-4}), tmp_path, SETTINGS, slow_machine)
    (verdict,) = outcome.comparison.verdicts
    assert verdict.verdict == "unsure"
    assert "the workers' matrix-product peak was 30% of the baseline's" in verdict.note
    usual_machine = remeasure_with(2e-4, {"cpu_per_wall": 1.0}, peak_flops=0.9e11)
    calm = run_gate(run_with({CASE: 2e-4}), tmp_path, SETTINGS, usual_machine)
    assert calm.comparison.verdicts[0].verdict == "regression"


def test_after_an_upgrade_a_lower_peak_does_not_excuse_a_slowdown(tmp_path):
    """The new framework's own matmul may be what slowed: the peak is not held against it."""
    save_baseline_with_peak(tmp_path, 1.0e11)
    upgraded = run_with({CASE: 2e-4}, metadata={**METADATA, "torch_version": "2.14.0"})
    slow_matmul = remeasure_with(2e-4, {"cpu_per_wall": 1.0}, peak_flops=3.0e10)
    outcome = run_gate(upgraded, tmp_path, SETTINGS, slow_matmul)
    (verdict,) = outcome.comparison.verdicts
    assert verdict.verdict == "regression" and "peak" not in verdict.note


def test_stored_rounds_carry_each_workers_peak():
    process = {"samples": [1e-3], "peak_flops": 5e10, "witness": {"steal": [0.0]}}
    (round_,) = stored_rounds({"confirmation": [{"processes": [process]}]})
    assert round_.witnesses == ({"steal": 0.0, "peak_flops": 5e10},)


def save_baseline_with_peak(folder, peak_flops: float) -> None:
    """A baseline of CASE whose workers each measured this matrix-product peak."""
    base = run_with({CASE: 1e-4})
    for process in base["benchmarks"][0]["extra_info"]["processes"]:
        process["peak_flops"] = peak_flops
    save_baseline(folder, base, "base.json")


def remeasure_with(step_s: float, witness: dict[str, float], peak_flops: float | None = None):
    def remeasure(case_ids, _calm):
        results = {}
        for case_id in case_ids:
            processes = [
                replace(p, peak_flops=peak_flops) for p in measured(case_id, step_s).processes
            ]
            for process in processes:
                assert process.measurement is not None
                samples = len(process.measurement.samples)
                process.measurement.witness = {k: [v] * samples for k, v in witness.items()}
            results[case_id] = processes
        return Remeasurement(results, probe_s=0.0084, waited_s=0.0)

    return remeasure


def remeasure_with_steal(step_s: float, steal: float):
    return remeasure_with(step_s, {"steal": steal})


def test_the_gate_lists_unsure_cases_with_what_to_do_and_stores_them(tmp_path):
    save_baseline(tmp_path, run_with({CASE: 1e-4, OTHER: 3e-4}), "base.json")
    run = run_with({CASE: 2e-4, OTHER: 3e-4})
    outcome = run_gate(run, tmp_path, SETTINGS, remeasure_with_steal(2e-4, 0.25))
    verdicts = {v.case_id: v.verdict for v in outcome.comparison.verdicts}
    assert verdicts == {CASE: "unsure", OTHER: "ok"}
    assert not outcome.comparison.failed(strict=False)
    assert outcome.comparison.failed(strict=True)
    stored = {v["case_id"]: v["verdict"] for v in run["twinbench"]["comparison"]["verdicts"]}
    assert stored[CASE] == "unsure"
    rounds = next(b for b in run["benchmarks"] if b["param"] == CASE)["extra_info"]["confirmation"]
    assert rounds[0]["processes"][0]["witness"]["steal"][0] == 0.25
    lines = verdict_lines(outcome)
    assert any(line.startswith(f"UNSURE {CASE}: ") for line in lines)
    assert any("what to do about 1 unsure case(s): rerun it" in line for line in lines)


def test_notable_witnesses_of_the_run_are_shown_beside_the_verdict(tmp_path):
    save_baseline(tmp_path, run_with({CASE: 1e-4}), "base.json")
    run = run_with({CASE: 1e-4})
    for process in run["benchmarks"][0]["extra_info"]["processes"]:
        process["witness"] = {"steal": [0.2, 0.2, 0.2], "cpu_per_wall": [0.3, 0.3, 0.3]}
    outcome = run_gate(run, tmp_path, SETTINGS, remeasure_with_steal(1e-4, 0.0))
    (verdict,) = outcome.comparison.verdicts
    assert verdict.verdict == "ok"
    assert verdict.note.endswith("witnessed: steal 20%, cpu/wall 0.30")


def test_the_nightly_issue_lists_unsure_cases_apart_without_failing(tmp_path, capsys):
    import json

    from twinbench.nightly.issue import main as list_failures

    verdicts = [{"case_id": CASE, "verdict": "unsure", "ratio": 1.2, "note": "rounds disagree"}]
    folder = tmp_path / "bench-job" / "history" / "machine"
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(
        json.dumps({"twinbench": {"comparison": {"verdicts": verdicts}}})
    )
    assert list_failures([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "No failing case" in out
    assert f"- `{CASE}` **unsure**, 1.20x: rounds disagree" in out.split("Unsure (")[1]
