"""The machine-speed probe and the wait for a calm machine before a confirmation round."""

from __future__ import annotations

import pytest

from twinbench.measure import probe


@pytest.fixture
def scripted_probe(monkeypatch):
    """Replace the probe measurement by a script of readings; sleeping only advances a clock."""
    clock = [0.0]
    readings: list[float] = []
    monkeypatch.setattr(probe.time, "perf_counter", lambda: clock[0])
    monkeypatch.setattr(probe.time, "sleep", lambda s: clock.__setitem__(0, clock[0] + s))
    monkeypatch.setattr(probe, "measure_probe", lambda: readings.pop(0))
    return readings


def test_a_calm_machine_is_measured_at_once(scripted_probe):
    scripted_probe.extend([0.0085])
    assert probe.wait_for_calm(0.0084) == (0.0085, 0.0)


def test_a_slow_phase_is_waited_out(scripted_probe):
    scripted_probe.extend([0.013, 0.014, 0.0086])
    probe_s, waited_s = probe.wait_for_calm(0.0084, pause_s=3.0)
    assert (probe_s, waited_s) == (0.0086, 6.0)


def test_the_wait_is_bounded(scripted_probe):
    scripted_probe.extend([0.013] * 50)
    probe_s, waited_s = probe.wait_for_calm(0.0084, max_wait_s=10.0, pause_s=3.0)
    assert probe_s == 0.013 and waited_s == 12.0  # gives up at the first look past 10 s


def test_the_minimum_gap_is_kept_even_without_a_reference(scripted_probe):
    scripted_probe.extend([0.02])
    assert probe.wait_for_calm(None, min_wait_s=20.0) == (0.02, 20.0)


def test_the_probe_reads_a_positive_time():
    assert 0 < probe.measure_probe(repeat=2) < 10


def test_the_fastest_probe_of_several_runs_is_the_calm_reference():
    slow_end = {"twinbench": {"probe": {"start_s": 0.0083, "end_s": 0.0125}}}
    calm = {"twinbench": {"probe": {"start_s": 0.0090, "end_s": None}}}
    assert probe.fastest_probe(slow_end, calm) == 0.0083
    assert probe.fastest_probe({"twinbench": {}}) is None  # files from before the probe
