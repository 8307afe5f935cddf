"""The GPU speed probe, and CUDA cases normalised by its drift, never by the CPU probe's."""

from __future__ import annotations

import json
import subprocess
from types import SimpleNamespace

import pytest

from twinbench.gate.compare import device_scales
from twinbench.gate.settings import GateSettings
from twinbench.measure import gpu_probe
from twinbench.measure.probe import probe_seconds


def run_file(cpu: tuple[float, float], gpu: tuple[float, float] | None) -> dict:
    probe = {"start_s": cpu[0], "end_s": cpu[1]}
    if gpu is not None:
        probe |= {"gpu_start_s": gpu[0], "gpu_end_s": gpu[1]}
    return {"twinbench": {"probe": probe}}


def test_each_device_reads_its_own_probe():
    run = run_file((0.008, 0.010), (0.0010, 0.0012))
    assert probe_seconds(run) == pytest.approx(0.009)
    assert probe_seconds(run, "cuda") == pytest.approx(0.0011)


def test_cuda_cases_are_scaled_by_the_gpu_drift_and_cpu_cases_by_the_cpu_drift():
    baseline = run_file((0.008, 0.008), (0.001, 0.001))
    current = run_file((0.016, 0.016), (0.0011, 0.0011))  # CPU 2x slower, GPU 1.1x
    scales = device_scales(baseline, current, GateSettings(normalise=True), cpu=2.0)
    assert scales["cpu"] == 2.0
    assert scales["cuda"] == pytest.approx(1.1)


def test_without_a_gpu_probe_cuda_cases_are_not_scaled_by_the_cpu_drift():
    baseline = run_file((0.008, 0.008), None)  # a run from before the GPU probe
    current = run_file((0.016, 0.016), (0.0011, 0.0011))
    scales = device_scales(baseline, current, GateSettings(normalise=True), cpu=2.0)
    assert scales == {"cpu": 2.0, "cuda": 1.0}


def test_nothing_is_scaled_without_normalising():
    baseline = run_file((0.008, 0.008), (0.001, 0.001))
    current = run_file((0.016, 0.016), (0.002, 0.002))
    assert device_scales(baseline, current, GateSettings(), cpu=1.0)["cuda"] == 1.0


def test_the_probe_child_reports_seconds_or_none():
    def answering(seconds):
        def run(*args, **kwargs):
            return SimpleNamespace(stdout="warning from a framework\n" + json.dumps(seconds))

        return run

    def probe(run):
        return gpu_probe.measure_gpu_probe(run=run, gpu_visible=lambda: True)

    assert probe(answering({"seconds": 0.0012})) == 0.0012
    assert probe(answering({"seconds": None, "reason": "no"})) is None

    def hanging(*args, **kwargs):
        raise subprocess.TimeoutExpired("probe", 300)

    assert probe(hanging) is None


def test_without_a_visible_gpu_no_child_process_starts(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")

    def never(*args, **kwargs):
        raise AssertionError("a probe process started without a GPU")

    assert gpu_probe.measure_gpu_probe(run=never) is None


def test_the_probe_child_itself_answers_none_without_a_gpu(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert gpu_probe.measure_gpu_probe(timeout_s=120, gpu_visible=lambda: True) is None


def test_the_probe_takes_the_fastest_timing_per_product():
    durations = iter([5.0, 3.0, 1.0, 2.0])  # first call untimed, then 3 timed
    clock = [0.0]

    def products():
        clock[0] += next(durations)

    original = gpu_probe.time.perf_counter
    gpu_probe.time.perf_counter = lambda: clock[0]
    try:
        assert gpu_probe.best_time(products, repeat=3) == 1.0 / gpu_probe.PRODUCTS
    finally:
        gpu_probe.time.perf_counter = original
