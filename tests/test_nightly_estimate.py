"""The night's duration is estimated before it starts, and shards fit the job (#13 item 16)."""

from __future__ import annotations

import json
import platform

import pytest

from twinbench.bench.profiles import PROFILES
from twinbench.nightly.estimate import (
    USABLE_SHARE,
    case_costs,
    job_minutes,
    main,
    night_cases,
    split_models,
)

FULL = PROFILES["full"]


def test_the_nights_cases_leave_out_those_that_skip_before_measuring():
    cases = night_cases(FULL, "cuda", "mlp", "")
    assert cases and all(case.device == "cuda" and case.model == "mlp" for case in cases)
    cpu = night_cases(FULL, "cpu", "mlp", "")
    assert all(case.precision == "fp32" for case in cpu)  # bf16 on a CPU skips


def test_a_measured_night_replaces_the_default_cost(tmp_path):
    case = night_cases(FULL, "cuda", "mlp", "eager,graph")[0]
    process = {"first_call_s": 2.0, "warmup_s": 1.0, "loops": 10, "samples": [0.1] * 20}
    run = {
        "machine_info": {"node": platform.node()},
        "benchmarks": [{"param": case.id, "extra_info": {"processes": [process, process]}}],
    }
    (tmp_path / "h100").mkdir()
    (tmp_path / "h100" / "20261201T000000Z-a.json").write_text(json.dumps(run))
    slow = {**process, "first_call_s": 100.0}
    elsewhere = {
        "machine_info": {"node": "another-runner"},
        "benchmarks": [{"param": case.id, "extra_info": {"processes": [slow]}}],
    }
    (tmp_path / "h100" / "20261202T000000Z-b.json").write_text(json.dumps(elsewhere))
    cost = case_costs([case], FULL, 5, tmp_path)[0]
    assert cost.measured and cost.seconds == pytest.approx(5 * (2 * 2.0 + 1.0 + 20 * 0.1 * 10))
    assert not case_costs([case], FULL, 5, tmp_path / "missing")[0].measured


def test_shards_split_the_models_and_each_fits_when_enough():
    costs = case_costs(night_cases(FULL, "cuda", "", "compile,xla"), FULL, 3, None)
    shards = split_models(costs, 3)
    assert sorted(m for shard in shards for m in shard) == sorted({c.case.model for c in costs})
    jobs = [[c for c in costs if c.case.model in shard] for shard in shards]
    assert max(map(job_minutes, jobs)) < job_minutes(costs)


def test_the_workflows_jobs_each_fit_the_usable_part_of_the_job(capsys):
    """The matrix of nightly.yml, as estimated with default costs (no night measured yet)."""
    for variants, processes, shards in (("eager,graph", 0, 1), ("compile,xla", 3, 3)):
        for shard in range(1, shards + 1):
            argv = ["--variants", variants, "--processes", str(processes)]
            main([*argv, "--shards", str(shards), "--shard", str(shard)])
            out = capsys.readouterr().out
            assert "DOES NOT FIT" not in out and "::warning" not in out, out
    assert 240 * USABLE_SHARE < 240


def test_the_estimate_prints_the_jobs_options_and_warns_when_it_cannot_fit(tmp_path, capsys):
    output = tmp_path / "github_output"
    main(["--shards", "1", "--baseline", "extend", "--github-output", str(output)])
    printed = capsys.readouterr().out
    assert printed.startswith("profile full on cuda, 10 processes per case")
    assert "::warning title=night too long::" in printed and "next step" in printed
    args = output.read_text()
    assert args.startswith("bench_args=--profile=full --devices=cuda --models=")
    assert args.rstrip().endswith("--baseline-code-check=suspects --save-baseline=extend")
