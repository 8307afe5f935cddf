"""scripts/witness_study.py `runs`: scores witnesses over ordinary run files (issue #14 part 1)."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures.scripts import load_script


def run_file(path: Path, processes: list[tuple[list[float], list[float]]]) -> Path:
    """One case whose processes have these (samples, steal per sample)."""
    extra = {
        "processes": [
            {"samples": samples, "witness": {"steal": steal, "runnable": [1.0] * len(steal)}}
            for samples, steal in processes
        ],
    }
    path.write_text(
        json.dumps(
            {
                "benchmarks": [{"param": "mlp-torch-eager-cpu-infer-fp32-b1", "extra_info": extra}],
                "twinbench": {},
            }
        ),
        encoding="utf-8",
    )
    return path


def test_a_witness_that_reads_high_exactly_when_samples_are_slow_scores_one(tmp_path):
    study = load_script("witness_study")
    calm = run_file(tmp_path / "calm.json", [([1.0, 1.0, 1.0], [0.0, 0.0, 0.0])])
    noisy = run_file(
        tmp_path / "noisy.json",
        [([1.0, 1.0, 1.0], [0.01, 0.02, 0.0]), ([1.5, 1.6, 1.4], [0.3, 0.2, 0.25])],
    )
    rows = {row[0]: row for row in study.score_runs(calm, [noisy], slow_ratio=1.15)}
    # steal separates the slow process perfectly, per sample and per process
    assert rows["steal"][1:] == (1.0, 3, 3, 1.0, 1, 1)
    # runnable reads the same for all: chance
    assert rows["runnable"][1] == 0.5
    # a witness the runs do not hold scores nothing
    assert rows["cpu_per_wall"][1] is None


def test_the_workers_peak_is_scored_per_process_against_the_calm_workers(tmp_path):
    """A slow process whose worker read a third of the calm peak; rounds only on request."""
    study = load_script("witness_study")
    calm = run_file(tmp_path / "calm.json", [([1.0, 1.0], [0.0, 0.0])])
    noisy = run_file(tmp_path / "noisy.json", [([1.0, 1.0], [0.0, 0.0])])
    for path, peaks in ((calm, [9e10]), (noisy, [9e10])):
        run = json.loads(path.read_text(encoding="utf-8"))
        extra = run["benchmarks"][0]["extra_info"]
        for process, peak in zip(extra["processes"], peaks, strict=True):
            process["peak_flops"] = peak
        if path == noisy:
            slow = {"samples": [1.6, 1.7], "peak_flops": 3e10, "witness": {"steal": [0.0, 0.0]}}
            extra["confirmation"] = [{"processes": [slow]}]
        path.write_text(json.dumps(run), encoding="utf-8")
    rows = {row[0]: row for row in study.score_runs(calm, [noisy], 1.15, with_rounds=True)}
    # the slow round's worker read lower: AUC 0 (low readings go with slow processes)
    assert rows["peak_flops"][1:] == (None, 0, 0, 0.0, 1, 1)
    without = {row[0]: row for row in study.score_runs(calm, [noisy], 1.15)}
    assert without["peak_flops"][4:] == (None, 0, 1)
