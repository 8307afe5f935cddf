"""The gate of one run: suspects are re-measured in rounds, confirmed or cleared, recorded."""

from __future__ import annotations

from types import SimpleNamespace

from fixtures.runs import measured, run_with

from twinbench.bench import session as session_module
from twinbench.bench.resolve import resolve_options
from twinbench.bench.session import BenchSession
from twinbench.gate.confirm import ROUND_GAP_S
from twinbench.gate.rounds import Remeasurement
from twinbench.gate.session_gate import run_gate, verdict_lines
from twinbench.gate.settings import GateSettings
from twinbench.measure import probe as probe_module
from twinbench.results.baselines import save_baseline

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
    # Both rounds still read 2x, yet never significant: neither confirmed nor cleared.
    assert (decided.verdict, decided.confirmed) == ("unsure", False)


def test_rounds_wait_for_the_fastest_probe_seen(tmp_path):
    baseline = run_with(CASES)
    baseline["twinbench"]["probe"] = {"start_s": 0.0083, "end_s": 0.0125}  # ended slow
    save_baseline(tmp_path, baseline, "base.json")
    run = run_with(SLOW)
    run["twinbench"]["probe"] = {"start_s": 0.0090, "end_s": 0.0088}
    calls: list = []
    run_gate(run, tmp_path, GateSettings(), remeasure_at(2e-4, calls))
    # Not the baseline's mean (10.4 ms): its fastest reading; rounds' probes (8.4 ms) do
    # not lower it further here.
    assert [reference for _, reference in calls] == [0.0083, 0.0083]


def test_a_round_faster_than_anything_before_becomes_the_reference(tmp_path):
    baseline = run_with(CASES)
    baseline["twinbench"]["probe"] = {"start_s": 0.0100, "end_s": 0.0110}
    save_baseline(tmp_path, baseline, "base.json")
    calls: list = []
    run_gate(run_with(SLOW), tmp_path, GateSettings(), remeasure_at(2e-4, calls))
    assert [reference for _, reference in calls] == [0.0100, 0.0084]


def test_without_probe_readings_the_first_round_sets_the_reference(tmp_path):
    # Files from before the probe: nothing to wait for at first, then the round's own reading.
    save_baseline(tmp_path, run_with(CASES), "base.json")
    run = run_with(SLOW)
    assert not run["twinbench"]["probe"]
    calls: list = []
    run_gate(run, tmp_path, GateSettings(), remeasure_at(2e-4, calls))
    assert [reference for _, reference in calls] == [None, 0.0084]


def test_a_baseline_of_one_run_is_flagged_with_its_remedy(tmp_path):
    save_baseline(tmp_path, run_with(CASES), "base.json")
    outcome = run_gate(run_with(CASES), tmp_path, GateSettings(), remeasure_at(1e-4, []))
    assert outcome.baseline_runs == 1
    assert any("pools 1 run(s)" in line for line in verdict_lines(outcome))
    for name in ("b.json", "c.json"):
        save_baseline(tmp_path, run_with(CASES), name, "extend")
    outcome = run_gate(run_with(CASES), tmp_path, GateSettings(), remeasure_at(1e-4, []))
    assert outcome.baseline_runs == 3
    assert not any("pools" in line for line in verdict_lines(outcome))


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


# --- The session's own re-measurement, behind a fake clock, probe and worker pool. ----------

SLOW_PROBE_S, CALM_PROBE_S = 0.0125, 0.0084


class FakeMachine:
    """A clock that moves only when slept on or worked on, a probe that is slow until
    `calm_at`, and worker pools that record when they measured and whether they were closed."""

    def __init__(self, calm_at: float) -> None:
        self.now, self.calm_at = 1000.0, 1000.0 + calm_at
        self.sleeps: list[float] = []
        self.pools: list[FakeMachine.Pool] = []
        self.rounds: list[tuple[float, bool]] = []  # (start, calm then?) of each measuring

    def perf_counter(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def probe(self) -> float:
        self.now += 0.1  # seven timings of the reference workload
        return CALM_PROBE_S if self.now >= self.calm_at else SLOW_PROBE_S

    def pool_class(self) -> type:
        machine = self

        class Pool:
            def __init__(self, processes: int, threads: int, numerics_dir=None) -> None:
                self.processes, self.closed = processes, False
                machine.pools.append(self)

            def measure_all(self, cases, timing):
                machine.rounds.append((machine.now, machine.now >= machine.calm_at))
                machine.now += 5.0
                # Still 2x slower: both rounds confirm the suspect.
                return {c.id: measured(c.id, 2e-4, 3, self.processes).processes for c in cases}

            def close(self) -> None:
                self.closed = True

        return Pool


def bench_session(machine: FakeMachine, monkeypatch, results_dir) -> BenchSession:
    """A real BenchSession whose clock, probe and worker pools are the fake machine's."""
    clock = SimpleNamespace(perf_counter=machine.perf_counter, sleep=machine.sleep)
    monkeypatch.setattr(probe_module, "time", clock)
    monkeypatch.setattr(probe_module, "measure_probe", machine.probe)
    monkeypatch.setattr(session_module, "time", clock)
    monkeypatch.setattr(session_module, "WorkerPool", machine.pool_class())
    values = {
        "profile": "smoke",
        "frameworks": ("torch",),
        "devices": ("cpu",),
        "modes": ("infer",),
        "processes": 3,
        "threads": 1,
        "results_dir": str(results_dir),
        "regression_threshold": GateSettings().threshold,
        "confirm_rounds": GateSettings().confirm_rounds,
    }
    return BenchSession(resolve_options(values.get, results_dir))


def gate_with_calm_baseline(tmp_path, session: BenchSession):
    baseline = run_with(CASES)
    baseline["twinbench"]["probe"] = {"start_s": 0.0083, "end_s": 0.0090}
    save_baseline(tmp_path, baseline, "base.json")
    run = run_with(SLOW)
    return run, run_gate(run, tmp_path, GateSettings(), session._remeasure)


def test_rounds_wait_out_a_slow_machine_then_measure_in_fresh_pools_a_gap_apart(
    tmp_path, monkeypatch
):
    machine = FakeMachine(calm_at=10.0)
    session = bench_session(machine, monkeypatch, tmp_path)
    run, outcome = gate_with_calm_baseline(tmp_path, session)
    (first, first_calm), (second, second_calm) = machine.rounds
    assert first_calm and second_calm
    # The first round waited for the probe to come within 15% of the baseline's 8.3 ms ...
    assert machine.sleeps[:4] == [3.0] * 4 and first >= machine.calm_at
    # ... the second started ROUND_GAP_S after the first ended (it measured for 5 s).
    assert second - (first + 5.0) >= ROUND_GAP_S
    assert ROUND_GAP_S in machine.sleeps
    # One fresh pool per round, closed after it; the session's own pool is never used.
    main_pool, *round_pools = machine.pools
    assert len(round_pools) == 2 and all(pool.closed for pool in round_pools)
    assert not main_pool.closed
    rounds = outcome.comparison.rounds
    assert [r["cases"] for r in rounds] == [1, 1]
    assert rounds[0]["waited_s"] >= 10.0 and rounds[0]["elapsed_s"] == 5.0
    stored = bench_of(run, "mlp-torch-eager-cpu-infer-fp32-b1")["extra_info"]["confirmation"]
    assert [entry["probe_s"] for entry in stored] == [CALM_PROBE_S, CALM_PROBE_S]


def test_a_machine_that_never_calms_down_is_measured_after_the_longest_wait(tmp_path, monkeypatch):
    machine = FakeMachine(calm_at=float("inf"))
    session = bench_session(machine, monkeypatch, tmp_path)
    _, outcome = gate_with_calm_baseline(tmp_path, session)
    first_wait = outcome.comparison.rounds[0]["waited_s"]
    assert 60.0 <= first_wait <= 60.0 + 3.0 + 1.0  # max_wait_s, then one pause and a probe
    assert machine.rounds and not any(calm for _, calm in machine.rounds)
