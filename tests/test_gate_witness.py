"""Interference witnesses per sample, and the injected slowdown the gate's tests use."""

import time

import pytest

from twinbench.measure import witness as witness_module
from twinbench.measure.inject import SLOWDOWN_ENV, slowdown_factor, slowed
from twinbench.measure.timing import TimingSettings, measure
from twinbench.measure.witness import SampleWitness, Snapshot, process_summary


def spin(seconds: float) -> None:
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass


def test_every_sample_gets_its_witnesses():
    def time_loops(loops: int) -> float:
        start = time.perf_counter()
        spin(0.002 * loops)
        return time.perf_counter() - start

    result = measure(time_loops, TimingSettings(warmup_s=0, min_sample_s=0.01, rounds=4))
    assert result.witness is not None
    assert set(result.witness) >= {"involuntary_switches", "cpu_per_wall"}
    assert all(len(values) == 4 for values in result.witness.values())
    # A spinning single-threaded step uses at most one CPU; how much of one it got depends on
    # the other jobs of this shared machine, so only the bounds are asserted.
    assert 0 < process_summary(result.witness)["cpu_per_wall"] <= 1.5


def test_a_sleeping_step_reads_as_not_on_the_cpu():
    witness = SampleWitness()
    witness.start()
    time.sleep(0.05)
    witness.stop()
    assert witness.readings["cpu_per_wall"][0] < 0.3


def test_steal_is_the_share_of_all_cpu_time(monkeypatch):
    snapshots = iter(
        [Snapshot(0.0, 0.0, 3, steal=10, total=1000), Snapshot(1.0, 0.5, 7, steal=60, total=1200)]
    )
    monkeypatch.setattr(witness_module, "take_snapshot", lambda: next(snapshots))
    monkeypatch.setattr(witness_module, "runnable_threads", lambda: 5)
    witness = SampleWitness()
    witness.start()
    witness.stop()
    assert witness.as_dict() == {
        "steal": [0.25],
        "involuntary_switches": [4.0],
        "cpu_per_wall": [0.5],
        "runnable": [5.0],
    }


def test_without_proc_the_readings_that_need_it_are_left_out(monkeypatch):
    snapshots = iter([Snapshot(0.0, 0.0, 0, None, None), Snapshot(1.0, 1.0, 0, None, None)])
    monkeypatch.setattr(witness_module, "take_snapshot", lambda: next(snapshots))
    monkeypatch.setattr(witness_module, "runnable_threads", lambda: None)
    witness = SampleWitness()
    witness.start()
    witness.stop()
    assert set(witness.as_dict() or {}) == {"involuntary_switches", "cpu_per_wall"}


@pytest.mark.parametrize(
    ("setting", "case_id", "factor"),
    [
        ("", "mlp-torch-eager-cpu-infer-fp32-b1", 1.0),
        ("1.25", "mlp-keras-graph-cpu-infer-fp32-b1", 1.25),
        ("*-torch-*=1.5", "mlp-keras-graph-cpu-infer-fp32-b1", 1.0),
        ("*-keras-*=1.1,*-b1=1.5", "mlp-torch-eager-cpu-infer-fp32-b1", 1.5),
    ],
)
def test_slowdown_setting(setting, case_id, factor):
    assert slowdown_factor(case_id, setting) == factor


def test_a_speedup_is_refused():
    with pytest.raises(ValueError, match=SLOWDOWN_ENV):
        slowdown_factor("mlp-torch-eager-cpu-infer-fp32-b1", "0.8")


def test_injected_slowdown_is_real_time(monkeypatch):
    monkeypatch.setenv(SLOWDOWN_ENV, "*-torch-*=1.5")

    def time_loops(loops: int) -> float:
        start = time.perf_counter()
        spin(0.01)
        return time.perf_counter() - start

    assert slowed(time_loops, "mlp-keras-graph-cpu-infer-fp32-b1") is time_loops
    start = time.perf_counter()
    reported = slowed(time_loops, "mlp-torch-eager-cpu-infer-fp32-b1")(1)
    took = time.perf_counter() - start
    assert reported >= 0.015
    assert took >= reported
