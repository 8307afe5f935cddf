"""The timing core, driven by a fake clock-free step so results are exact."""

from twinbench.measure.timing import (
    TimingSettings,
    calibrate_loops,
    loop_overhead_per_step,
    loop_timer,
    measure,
)


def fake_time_loops(step_s: float):
    """A timed callable whose steps take exactly `step_s` seconds, counting calls."""
    calls: list[int] = []

    def time_loops(loops: int) -> float:
        calls.append(loops)
        return loops * step_s

    return time_loops, calls


def test_calibration_reaches_the_minimum_sample_time():
    settings = TimingSettings(warmup_s=0, min_sample_s=0.02, rounds=5)
    for step_s in (1e-7, 3e-5, 1e-3, 0.019, 0.5):
        time_loops, _ = fake_time_loops(step_s)
        loops = calibrate_loops(time_loops, settings)
        assert loops * step_s >= 0.02 or loops == settings.max_loops
        # and not wastefully more than 4x the target
        assert loops == 1 or (loops // 2) * step_s < 0.02 * 4


def test_calibration_never_goes_under_min_loops():
    """Slow steps still get min_loops per sample, so an every-4th-step slowdown is in each."""
    settings = TimingSettings(warmup_s=0, min_sample_s=0.02, rounds=5, min_loops=4)
    for step_s in (0.5, 0.019, 0.006):
        time_loops, calls = fake_time_loops(step_s)
        assert calibrate_loops(time_loops, settings) == 4
        assert min(calls) == 4
    fast, _ = fake_time_loops(1e-4)
    assert calibrate_loops(fast, settings) * 1e-4 >= 0.02  # the sample time still rules


def test_calibration_stops_at_max_loops_for_an_empty_step():
    settings = TimingSettings(warmup_s=0, min_sample_s=1.0, rounds=1, max_loops=1024)
    time_loops, _ = fake_time_loops(0.0)
    assert calibrate_loops(time_loops, settings) == 1024


def test_measure_keeps_raw_per_step_samples():
    settings = TimingSettings(warmup_s=0, min_sample_s=0.01, rounds=7)
    time_loops, calls = fake_time_loops(1e-3)
    result = measure(time_loops, settings)
    assert result.loops * 1e-3 >= 0.01
    assert len(result.samples) == 7
    assert all(abs(s - 1e-3) < 1e-12 for s in result.samples)
    assert calls[-7:] == [result.loops] * 7


def test_loop_timer_syncs_once_on_the_last_output():
    outputs, synced = iter(range(100)), []
    time_loops = loop_timer(lambda: next(outputs), synced.append)
    assert time_loops(5) >= 0
    assert synced == [4]


def test_loop_overhead_is_small_and_positive():
    overhead = loop_overhead_per_step(loops=10_000, repeat=3)
    assert 0 < overhead < 1e-5  # an empty call costs tens of ns; 10 us would mean a broken loop
