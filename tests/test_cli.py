"""The `twinbench` console script: show and check, with their exit statuses."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures.runs import run_with, sample_run

from twinbench.cli import main
from twinbench.results.baselines import save_baseline
from twinbench.results.storage import write_run

CASES = {"mlp-torch-eager-cpu-infer-fp32-b1": 1e-4, "mlp-keras-graph-cpu-infer-fp32-b1": 3e-4}


def test_show_prints_tables_and_names_a_broken_file(tmp_path, capsys):
    path = write_run(tmp_path, sample_run())
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Keras vs PyTorch" in out and "2.00x" in out  # keras 2 ms against torch 1 ms
    broken = tmp_path / "broken.json.xz"
    broken.write_bytes(path.read_bytes()[:100])
    assert (
        main(["show", str(broken)]) == 2
    )  # an unreadable input: the usage exit status of every subcommand
    assert str(broken) in capsys.readouterr().err


def test_check_exit_statuses(tmp_path, capsys):
    results = tmp_path / "results"
    baseline = run_with(CASES)
    save_baseline(results, baseline, "first.json")
    same = write_run(tmp_path / "h", run_with(CASES))
    slow = write_run(tmp_path / "h", run_with({k: v * 2 for k, v in CASES.items()}))
    assert main(["check", str(same), "--results-dir", str(results)]) == 0
    assert main(["check", str(slow), "--results-dir", str(results)]) == 1
    assert "REGRESSION mlp-torch-eager-cpu-infer-fp32-b1" in capsys.readouterr().out
    # a looser threshold for these cases lets the same run pass
    loose = ["--case-threshold", "mlp-*=2.5"]
    assert main(["check", str(slow), "--results-dir", str(results), *loose]) == 0


def test_check_without_baseline_passes_unless_strict(tmp_path):
    run = write_run(tmp_path, run_with(CASES))
    empty = tmp_path / "nothing"
    (empty / "history").mkdir(parents=True)  # runs but no baseline yet: a first run, no error
    assert main(["check", str(run), "--results-dir", str(empty)]) == 0
    assert main(["check", str(run), "--results-dir", str(empty), "--strict-gate"]) == 1


def test_check_with_an_unreadable_baseline_is_a_usage_error(tmp_path, capsys):
    run = write_run(tmp_path, run_with(CASES))
    bad = tmp_path / "bad.json"
    data = run_with(CASES)
    data["twinbench"]["schema_version"] = 99
    bad.write_text(json.dumps(data))
    assert main(["check", str(run), "--baseline", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "twinbench.schema_version" in err


def test_show_output_of_a_stored_run_is_unchanged(capsys, monkeypatch):
    """`show` prints a stored run file exactly as the golden output (an intended change of the
    output updates fixtures/output/ in the same commit)."""
    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    assert main(["show", "fixtures/runfiles/schema-1-run.json"]) == 0
    golden = (root / "fixtures" / "output" / "show-schema-1-run.txt").read_text(encoding="utf-8")
    assert capsys.readouterr().out == golden
