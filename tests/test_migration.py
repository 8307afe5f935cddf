"""Older run files and baselines migrate on read: one test per migration step, on real files.

fixtures/runfiles keeps one file of each older schema, as twinbench wrote it, never edited:
schema 1 (case ids without variant and precision), schema 2 (one fingerprint holding the
software stack, baselines named by it, the Keras backend on the machine).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fixtures.runs import run_with

from twinbench.cli import main
from twinbench.gate.compare import GateSettings, compare_runs
from twinbench.history.store import load_history
from twinbench.results.baselines import (
    EXTEND,
    baseline_path,
    find_baseline,
    load_baseline,
    save_baseline,
)
from twinbench.results.migrations import STEPS
from twinbench.results.runfile import case_rows
from twinbench.results.storage import SCHEMA_VERSION, RunFileError, read_run, write_json_atomic

# Written by twinbench at schema 1 (fixtures.runs of that version), never edited since.
SCHEMA_1 = Path(__file__).resolve().parents[1] / "fixtures" / "runfiles"
# Written by `pytest benches --models mlp --frameworks torch --modes infer --batch-sizes 1
# --devices cpu` at schema 2 (commit b543e85) on this project's 2-core machine: a baseline
# (--save-baseline), the gated run after it, and Keras on JAX (KERAS_BACKEND=jax, keras).
RUNFILES = SCHEMA_1
TORCH_B1, KERAS_B1 = "mlp-torch-eager-cpu-infer-fp32-b1", "mlp-keras-graph-cpu-infer-fp32-b1"


def test_schema_1_run_reads_with_every_id_rewritten():
    path = SCHEMA_1 / "schema-1-run.json"
    before = path.read_bytes()
    run = read_run(path)
    meta = run["twinbench"]
    assert (meta["schema_version"], meta["migrated_from"]) == (SCHEMA_VERSION, 1)
    assert "fingerprint" not in meta and meta["identity"]["cpu_model"] and meta["stack"]
    bench = next(b for b in run["benchmarks"] if b["param"] == TORCH_B1)
    assert bench["params"]["case"] == TORCH_B1
    assert bench["group"] == "mlp-default-cpu-infer-fp32-b1"
    assert bench["fullname"] == f"benches/test_infer.py::test_infer[{TORCH_B1}]"
    assert bench["extra_info"]["case"]["variant"] == "eager"
    assert bench["extra_info"]["case"]["precision"] == "fp32"
    assert [item["case"] for item in meta["unmeasured"]] == ["cnn-keras-graph-cpu-train-fp32-b1"]
    verdicts = {v["case_id"] for v in meta["comparison"]["verdicts"]}
    assert TORCH_B1 in verdicts and KERAS_B1 in verdicts
    assert meta["settings"]["selection"]["variants"] == ["graph", "eager"]
    assert {row.case.id for row in case_rows(run)} >= {TORCH_B1, KERAS_B1}
    assert path.read_bytes() == before  # migrated in memory, the file is not rewritten


def test_schema_1_baseline_still_gates_todays_runs(tmp_path):
    identity_id = run_with({})["twinbench"]["identity_id"]
    results = tmp_path / "results"
    # Named as schema 1 and 2 named baselines: by the fingerprint id of the machine and stack.
    stored = results / "baselines" / "5d41c2a9b0e7.json"
    stored.parent.mkdir(parents=True)
    shutil.copy(SCHEMA_1 / "schema-1-baseline.json", stored)
    assert find_baseline(results, identity_id) == stored
    baseline = load_baseline(results, identity_id)
    assert baseline is not None
    # torch 2x slower than at schema 1; 9 processes, as the 3 of the old baseline are too few
    # for the permutation test on their own (stats.py)
    current = run_with({TORCH_B1: 2e-4, KERAS_B1: 3e-4}, processes=9)
    verdicts = {
        v.case_id: v.verdict for v in compare_runs(baseline, current, GateSettings()).verdicts
    }
    assert verdicts == {TORCH_B1: "regression", KERAS_B1: "ok"}
    # Pooling a run into it (explicit --save-baseline=extend) writes it at today's schema,
    # under today's name; the old file is left as it was.
    before = stored.read_bytes()
    saved = save_baseline(results, current, "now.json", EXTEND)
    assert saved == baseline_path(results, identity_id) and stored.read_bytes() == before
    pooled = json.loads(saved.read_text())
    assert pooled["twinbench"]["schema_version"] == SCHEMA_VERSION
    bench = next(b for b in pooled["benchmarks"] if b["param"] == TORCH_B1)
    assert len(bench["extra_info"]["processes"]) == 12  # 3 of the old baseline, 9 new


def test_malformed_schema_1_id_names_the_file_and_key(tmp_path):
    data = json.loads((SCHEMA_1 / "schema-1-run.json").read_text())
    data["twinbench"]["unmeasured"][0]["case"] = "cnn-keras-train-b1"
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    with pytest.raises(RunFileError, match="schema-1 case id") as caught:
        read_run(path)
    assert str(path) in str(caught.value)
    assert caught.value.key == "twinbench.unmeasured[0].case"


def test_schema_1_id_in_a_schema_2_file_is_refused(tmp_path):
    data = run_with({TORCH_B1: 1e-4})
    data["benchmarks"][0]["param"] = "mlp-torch-cpu-infer-b1"
    path = tmp_path / "new.json"
    path.write_text(json.dumps(data))
    with pytest.raises(RunFileError, match="not a case id") as caught:
        read_run(path)
    assert caught.value.key == "benchmarks[0].param"


def test_every_older_schema_has_a_migration_step_and_a_kept_file():
    assert sorted(STEPS) == list(range(1, SCHEMA_VERSION))
    for version in STEPS:
        assert sorted(RUNFILES.glob(f"schema-{version}-*.json")), f"no schema-{version} file"


def test_schema_2_fingerprint_becomes_identity_and_stack():
    meta = read_run(RUNFILES / "schema-2-baseline.json")["twinbench"]
    assert (meta["schema_version"], meta["migrated_from"]) == (SCHEMA_VERSION, 2)
    assert "fingerprint" not in meta and "fingerprint_id" not in meta
    assert meta["identity"]["cpu_model"] == "AMD EPYC" and meta["identity"]["threads"] == 2
    assert "torch_version" not in meta["identity"]
    assert meta["stack"]["torch_version"] == "2.13.0+cpu"
    assert meta["stack"]["twinbench_version"] == meta["twinbench_version"]
    assert meta["identity_id"] == run_with({}, _metadata_of(meta))["twinbench"]["identity_id"]


def _metadata_of(meta):
    """Today's metadata of the machine a migrated file names (stack as in the file)."""
    return {**meta["metadata"], **meta["identity"], **meta["stack"]}


def test_schema_2_baseline_under_its_old_name_gates_a_run_after_an_upgrade(tmp_path):
    results = tmp_path / "results"
    old_name = results / "baselines" / "9f535d1b5ea9.json"  # as schema 2 named it
    old_name.parent.mkdir(parents=True)
    shutil.copy(RUNFILES / "schema-2-baseline.json", old_name)
    meta = read_run(old_name)["twinbench"]
    upgraded = dict(_metadata_of(meta), torch_version="2.14.1")
    current = run_with({TORCH_B1: 1e-4}, upgraded, processes=9)
    identity_id = current["twinbench"]["identity_id"]
    assert not baseline_path(results, identity_id).exists()
    baseline = load_baseline(results, identity_id)
    assert baseline is not None
    comparison = compare_runs(baseline, current, GateSettings())
    assert comparison.stack_changes == {"torch_version": ("2.13.0+cpu", "2.14.1")}
    (verdict,) = comparison.verdicts
    assert verdict.verdict in ("ok", "faster", "regression") and verdict.ratio is not None


def test_schema_2_rounds_written_before_rounds_existed_become_one_round(tmp_path):
    data = json.loads((RUNFILES / "schema-2-baseline.json").read_text())
    processes = data["benchmarks"][0]["extra_info"]["processes"]
    # The layout of re-measurements before rounds: one flat list of process entries.
    data["benchmarks"][0]["extra_info"]["confirmation"] = processes[:2]
    path = tmp_path / "flat.json"
    path.write_text(json.dumps(data))
    (round_,) = read_run(path)["benchmarks"][0]["extra_info"]["confirmation"]
    assert round_ == {"probe_s": None, "waited_s": None, "processes": processes[:2]}


def test_schema_2_gated_run_keeps_its_verdicts_and_checks_against_the_old_baseline(
    tmp_path, capsys
):
    run = read_run(RUNFILES / "schema-2-run.json")
    comparison = run["twinbench"]["comparison"]
    assert comparison["identity_changes"] == {} and comparison["stack_changes"] == {}
    assert "fingerprint_changes" not in comparison
    assert [v["case_id"] for v in comparison["verdicts"]] == [TORCH_B1]
    (verdict,) = comparison["verdicts"]  # the gate's figures are named levels since schema 3
    assert verdict["baseline_level_s"] > 0 and "baseline_median_s" not in verdict
    rounds = run["benchmarks"][0]["extra_info"]["confirmation"]
    assert len(rounds) == 2 and all(r["processes"] for r in rounds)
    # `check` finds the schema-2 baseline under its old name and judges the schema-2 run.
    results = tmp_path / "results"
    (results / "baselines").mkdir(parents=True)
    shutil.copy(RUNFILES / "schema-2-baseline.json", results / "baselines" / "9f535d1b5ea9.json")
    code = main(["check", str(RUNFILES / "schema-2-run.json"), "--results-dir", str(results)])
    out = capsys.readouterr().out
    assert "9f535d1b5ea9.json" in out and "same software stack as the baseline" in out
    # Judged anew: the run confirmed 16-33x, but its rounds' workers measured a fifth of the
    # baseline workers' matrix-product peak, so today's gate calls it unsure (interference.py).
    assert f"UNSURE {TORCH_B1}" in out and "matrix-product peak was 21%" in out and code == 0


def test_schema_2_keras_on_jax_gets_its_own_framework_and_series(tmp_path):
    run = read_run(RUNFILES / "schema-2-keras-jax-run.json")
    (bench,) = run["benchmarks"]
    assert bench["param"] == "mlp-keras_jax-graph-cpu-infer-fp32-b1"
    assert bench["extra_info"]["case"]["framework"] == "keras_jax"
    assert bench["fullname"].endswith("[mlp-keras_jax-graph-cpu-infer-fp32-b1]")
    assert bench["group"] == "mlp-default-cpu-infer-fp32-b1"  # still paired with PyTorch
    assert list(run["twinbench"]["settings"]["frameworks"]) == ["keras_jax"]
    # Beside a Keras-on-TensorFlow run of the same machine: two series, never one.
    folder = tmp_path / "history" / "amd-epyc"
    folder.mkdir(parents=True)
    shutil.copy(RUNFILES / "schema-2-keras-jax-run.json", folder / "20261201T154114Z-jax.json")
    tf_run = run_with({KERAS_B1: 3e-4}, _metadata_of(run["twinbench"]))
    write_json_atomic(folder / "20261201T160000Z-tf.json", tf_run)
    history = load_history(tmp_path)
    assert history.unreadable == []
    cases = sorted(case for case, _ in history.series)
    assert cases == [KERAS_B1, "mlp-keras_jax-graph-cpu-infer-fp32-b1"]
    assert all(len(points) == 1 for points in history.series.values())
