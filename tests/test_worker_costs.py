"""scripts/worker_costs.py: where a worker's time goes, case by case."""

from __future__ import annotations

from fixtures.scripts import load_script


def test_the_timed_part_counts_every_loop_of_every_sample_and_the_warm_up():
    script = load_script("worker_costs")
    result = {"measurement": {"samples": [0.01, 0.02], "loops": 4, "warmup_s": 0.2}}
    assert script.timed_seconds(result) == 0.03 * 4 + 0.2
    assert script.timed_seconds({"status": "skipped"}) == 0.0


def test_cases_and_timing_come_from_the_run_file():
    script = load_script("worker_costs")
    ids = ["mlp-torch-eager-cpu-infer-fp32-b1", "mlp-keras-graph-cpu-infer-fp32-b1"]
    timing = {"warmup_s": 0.5, "min_sample_s": 0.01, "rounds": 7}
    run = {
        "benchmarks": [{"param": case_id} for case_id in ids],
        "twinbench": {"settings": {"profile": "quick", "timing": timing}},
    }
    assert [case.id for case in script.run_cases(run, "*-torch-*")] == ids[:1]
    assert script.run_timing(run).rounds == 7
    run["twinbench"]["settings"] = {"profile": "smoke"}
    assert script.run_timing(run).rounds == 3  # the smoke profile's


def test_totals_add_the_cases_up():
    script = load_script("worker_costs")
    costs = [script.Cost("a", 2.0, 0.5), script.Cost("b", 1.0, 0.25)]
    assert script.totals(costs) == (3.0, 0.75)
