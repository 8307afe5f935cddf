"""Schema-1 run files and baselines (case ids without variant and precision) migrate on read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fixtures.runs import run_with

from twinbench.gate.compare import GateSettings, compare_runs
from twinbench.results.baselines import EXTEND, baseline_path, load_baseline, save_baseline
from twinbench.results.runfile import case_rows
from twinbench.results.storage import SCHEMA_VERSION, RunFileError, read_run

# Written by twinbench at schema 1 (fixtures.runs of that version), never edited since.
SCHEMA_1 = Path(__file__).resolve().parents[1] / "fixtures" / "runfiles"
TORCH_B1, KERAS_B1 = "mlp-torch-eager-cpu-infer-fp32-b1", "mlp-keras-graph-cpu-infer-fp32-b1"


def test_schema_1_run_reads_with_every_id_rewritten():
    path = SCHEMA_1 / "schema-1-run.json"
    before = path.read_bytes()
    run = read_run(path)
    meta = run["twinbench"]
    assert (meta["schema_version"], meta["migrated_from"]) == (SCHEMA_VERSION, 1)
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
    fingerprint_id = run_with({})["twinbench"]["fingerprint_id"]  # unchanged by schema 2
    results = tmp_path / "results"
    stored = baseline_path(results, fingerprint_id)
    stored.parent.mkdir(parents=True)
    shutil.copy(SCHEMA_1 / "schema-1-baseline.json", stored)
    baseline = load_baseline(results, fingerprint_id)
    assert baseline is not None
    # torch 2x slower than at schema 1; 9 processes, as the 3 of the old baseline are too few
    # for the permutation test on their own (stats.py)
    current = run_with({TORCH_B1: 2e-4, KERAS_B1: 3e-4}, processes=9)
    verdicts = {
        v.case_id: v.verdict for v in compare_runs(baseline, current, GateSettings()).verdicts
    }
    assert verdicts == {TORCH_B1: "regression", KERAS_B1: "ok"}
    # Pooling a run into it (explicit --save-baseline=extend) writes it at today's schema.
    save_baseline(results, current, "now.json", EXTEND)
    pooled = json.loads(stored.read_text())
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
