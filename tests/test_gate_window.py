"""--baseline-window: the baseline pooled from the last N comparable runs of the history."""

from __future__ import annotations

import argparse

from fixtures.runs import METADATA, run_with

from twinbench.bench.options import add_gate_options
from twinbench.bench.resolve import gate_settings
from twinbench.gate.session_gate import run_gate, verdict_lines
from twinbench.gate.settings import GateSettings
from twinbench.gate.window import window_baseline
from twinbench.results.baselines import save_baseline
from twinbench.results.runfile import case_rows
from twinbench.results.storage import machine_slug, write_json_atomic

CASE = "mlp-torch-eager-cpu-infer-fp32-b1"


def store(results, name, run):
    """Write `run` into the history under a chosen (time-sortable) file name."""
    folder = results / "history" / machine_slug(run["twinbench"]["metadata"])
    write_json_atomic(folder / f"{name}.json", run)


def processes_of(baseline, case_id=CASE):
    row = next(r for r in case_rows(baseline) if r.case.id == case_id)
    return row.process_samples


def test_the_window_pools_the_newest_runs_of_the_same_fingerprint(tmp_path):
    for night in range(5):
        store(
            tmp_path, f"2026120{night}T000000Z", run_with({CASE: 1e-4 * (1 + night)}, processes=2)
        )
    other = run_with({CASE: 9e-4}, metadata={**METADATA, "threads": 1}, processes=2)
    store(tmp_path, "20261209T000000Z", other)  # newest, but another fingerprint
    window = window_baseline(tmp_path, run_with({CASE: 1e-4}), 3)
    assert window.runs == [f"2026120{n}T000000Z.json" for n in (4, 3, 2)]
    assert window.baseline is not None
    pooled = processes_of(window.baseline)
    assert len(pooled) == 6
    assert min(min(p) for p in pooled) > 2.9e-4  # nights 2-4 only: 3e-4, 4e-4, 5e-4
    assert window.baseline["twinbench"]["pooled_runs"] == window.runs


def test_runs_before_a_cases_latest_confirmed_change_are_left_out(tmp_path):
    old, new = run_with({CASE: 1e-4}), run_with({CASE: 2e-4})
    new["twinbench"]["comparison"] = {
        "verdicts": [{"case_id": CASE, "verdict": "regression", "confirmed": True}]
    }
    store(tmp_path, "20261201T000000Z", old)
    store(tmp_path, "20261202T000000Z", new)
    store(tmp_path, "20261203T000000Z", run_with({CASE: 2e-4}))
    window = window_baseline(tmp_path, run_with({CASE: 2e-4}), 7)
    assert window.baseline is not None
    assert len(processes_of(window.baseline)) == 12  # the two runs at the new level
    assert min(min(p) for p in processes_of(window.baseline)) > 1.5e-4


def test_the_gate_judges_against_the_window_and_says_so(tmp_path):
    save_baseline(tmp_path, run_with({CASE: 2e-4}), "stale.json")  # would hide the slowdown
    for night in range(3):
        store(tmp_path, f"2026120{night}T000000Z", run_with({CASE: 1e-4}))
    settings = GateSettings(baseline_window=7, confirm_rounds=0)
    outcome = run_gate(run_with({CASE: 2e-4}), tmp_path, settings, remeasure=None)  # type: ignore[arg-type]
    (verdict,) = outcome.comparison.verdicts
    assert verdict.verdict == "regression"
    assert outcome.baseline_runs == 3
    assert "baseline pooled from the last 3 run(s) in" in verdict_lines(outcome)[0]


def test_an_empty_history_falls_back_to_the_saved_baseline(tmp_path):
    save_baseline(tmp_path, run_with({CASE: 1e-4}), "base.json")
    settings = GateSettings(baseline_window=7, confirm_rounds=0)
    outcome = run_gate(run_with({CASE: 1e-4}), tmp_path, settings, remeasure=None)  # type: ignore[arg-type]
    assert outcome.baseline is not None and outcome.baseline.name.endswith(".json")
    assert any("no comparable run under" in line for line in verdict_lines(outcome))


def test_an_unreadable_history_file_is_named_not_used(tmp_path):
    store(tmp_path, "20261201T000000Z", run_with({CASE: 1e-4}))
    broken = tmp_path / "history" / machine_slug(METADATA) / "20261202T000000Z.json"
    broken.write_text("{", encoding="utf-8")
    outcome = run_gate(
        run_with({CASE: 1e-4}),
        tmp_path,
        GateSettings(baseline_window=3, confirm_rounds=0),
        None,  # type: ignore[arg-type]
    )
    assert outcome.baseline_runs == 1
    assert any("skipped unreadable 20261202T000000Z.json" in line for line in outcome.notes)


def test_the_option_reaches_the_gate_settings():
    parser = argparse.ArgumentParser()
    add_gate_options(parser.add_argument)
    args = parser.parse_args(["--baseline-window", "7"])
    assert gate_settings(lambda name: getattr(args, name)).baseline_window == 7
    assert gate_settings(lambda name: getattr(parser.parse_args([]), name)).baseline_window == 0


def started(run, day):
    run["twinbench"]["started"] = f"2026-12-0{day}T00:00:00+00:00"
    return run


def test_check_pools_the_runs_that_started_before_the_run_it_judges(tmp_path, capsys):
    from twinbench.cli import main

    for day in (1, 2, 3):
        store(tmp_path, f"2026120{day}T000000Z", started(run_with({CASE: 1e-4}), day))
    store(tmp_path, "20261205T000000Z", started(run_with({CASE: 2e-4}), 5))  # judged
    store(tmp_path, "20261206T000000Z", started(run_with({CASE: 2e-4}), 6))  # came after
    judged = tmp_path / "history" / machine_slug(METADATA) / "20261205T000000Z.json"
    status = main(["check", str(judged), "--baseline-window", "7"])
    out = capsys.readouterr().out
    assert status == 1, out  # 2x against the three earlier runs, not against itself
    assert "baseline pooled from the last 3 run(s) in" in out
    assert main(["check", str(judged)]) == 0  # no saved baseline and no window: nothing
    assert "no baseline at" in capsys.readouterr().out
