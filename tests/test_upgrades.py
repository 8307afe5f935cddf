"""Upgrades are judged and named: in the gate's lines, `check`, `compare`, history and report;
Keras on another backend is a series of its own (issue #16)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fixtures.runs import METADATA, run_with

from twinbench.bench.options import OptionError
from twinbench.bench.resolve import resolve_frameworks
from twinbench.cli import main
from twinbench.gate.compare import GateSettings, compare_runs
from twinbench.gate.session_gate import GateOutcome, verdict_lines
from twinbench.history.store import load_history
from twinbench.history.trends import trend_table, trends
from twinbench.render.text import framework_table
from twinbench.results.runfile import case_rows
from twinbench.results.storage import write_json_atomic

TORCH = "mlp-torch-eager-cpu-infer-fp32-b1"
KERAS = "mlp-keras-graph-cpu-infer-fp32-b1"
KERAS_JAX = "mlp-keras_jax-graph-cpu-infer-fp32-b1"
OLD, NEW = dict(METADATA, torch_version="2.12.0"), dict(METADATA, torch_version="2.13.0")


def test_the_gate_names_the_upgrade_above_the_table_and_on_the_regression_line():
    comparison = compare_runs(
        run_with({TORCH: 1e-4, KERAS: 3e-4}, OLD),
        run_with({TORCH: 2e-4, KERAS: 3e-4}, NEW),
        GateSettings(),
    )
    lines = verdict_lines(GateOutcome(comparison, Path("base.json")))
    assert lines[1] == "changed since the baseline: torch 2.12.0 -> 2.13.0"
    (regression,) = [line for line in lines if line.startswith("REGRESSION")]
    assert regression.endswith("; since the baseline: torch 2.12.0 -> 2.13.0")


def test_check_and_compare_print_the_change_and_judge(tmp_path, capsys):
    base = write_json_atomic(tmp_path / "a.json", run_with({TORCH: 1e-4}, OLD))
    run = write_json_atomic(tmp_path / "b.json", run_with({TORCH: 2e-4}, NEW))
    assert main(["check", str(run), "--baseline", str(base)]) == 1
    assert "changed since the baseline: torch 2.12.0 -> 2.13.0" in capsys.readouterr().out
    assert main(["compare", str(base), str(run), "--like-for-like"]) == 0
    out = capsys.readouterr().out
    assert "incomparable" in out and "stack differs (--like-for-like)" in out


def write_runs(root: Path, runs: list[dict], folder: str = "machine") -> None:
    for index, run in enumerate(runs):
        run["twinbench"]["started"] = f"2026-11-01T{index:02d}:00:00+00:00"
        path = root / "history" / folder / f"20261101T{index:02d}0000Z-{index:08x}.json"
        write_json_atomic(path, run)


def test_keras_on_jax_and_on_tensorflow_are_separate_series(tmp_path):
    write_runs(tmp_path, [run_with({KERAS: 3e-4, TORCH: 1e-4}), run_with({KERAS_JAX: 1e-4})])
    history = load_history(tmp_path)
    assert sorted(case for case, _ in history.series) == sorted([KERAS, KERAS_JAX, TORCH])
    by_case = {t.case_id: t for t in trends(history)}
    assert len(by_case[KERAS].points) == 1 and len(by_case[KERAS_JAX].points) == 1
    assert by_case[KERAS].ratio_to_previous() is None  # no 0.33x against the JAX run


def test_another_machine_is_another_series_and_says_which(tmp_path):
    other = dict(METADATA, cpu_model="Other CPU")
    write_runs(tmp_path, [run_with({TORCH: 1e-4}), run_with({TORCH: 3e-4}, other)])
    rows = trends(load_history(tmp_path))
    assert len(rows) == 2 and all(len(t.points) == 1 for t in rows)
    assert all(t.label.startswith(f"{TORCH} [") for t in rows)


def test_history_marks_the_upgrade_and_the_step_it_coincides_with(tmp_path, capsys):
    rng = np.random.default_rng(3)
    runs = []
    for index in range(16):
        slower = index >= 8
        step = 1e-4 * (1.5 if slower else 1.0) * np.exp(rng.normal(0, 0.02))
        runs.append(run_with({TORCH: step}, NEW if slower else OLD, processes=3))
    write_runs(tmp_path, runs)
    (trend,) = trends(load_history(tmp_path))
    assert list(trend.upgrades) == [8]
    table = trend_table([trend])
    assert "run 9: torch 2.12.0 -> 2.13.0" in table
    assert "at the run where torch went 2.12.0 -> 2.13.0" in table
    assert main(["history", "--results-dir", str(tmp_path)]) == 0
    assert "torch went 2.12.0 -> 2.13.0" in capsys.readouterr().out


def test_report_names_the_upgrade(tmp_path):
    base = run_with({TORCH: 1e-4}, OLD)
    current = run_with({TORCH: 1e-4}, NEW)
    comparison = compare_runs(base, current, GateSettings())
    current["twinbench"]["comparison"] = {
        "baseline": "b.json",
        "stack_changes": {k: list(v) for k, v in comparison.stack_changes.items()},
        "verdicts": [v.as_dict() for v in comparison.verdicts],
    }
    write_runs(tmp_path, [base, current])
    output = tmp_path / "report.html"
    assert main(["report", "--results-dir", str(tmp_path), "-o", str(output)]) == 0
    page = output.read_text()
    assert "Changed since the baseline: torch 2.12.0 -&gt; 2.13.0" in page
    assert "run 2: torch 2.12.0 -&gt; 2.13.0" in page  # the history table's column


def test_keras_backends_sit_beside_keras_on_tensorflow_in_the_framework_table():
    rows = case_rows(run_with({KERAS: 3e-4, KERAS_JAX: 2e-4, TORCH: 1e-4}))
    table = framework_table(rows).splitlines()
    assert "keras on" in table[0]
    body = {line.split()[5]: line for line in table[2:]}
    assert set(body) == {"tensorflow", "jax"}
    # The ratio, then its range over the worker processes.
    assert "2.00x (" in body["jax"] and "3.00x (" in body["tensorflow"]


def test_keras_on_tensorflow_alone_keeps_the_table_as_it_was():
    table = framework_table(case_rows(run_with({KERAS: 3e-4, TORCH: 1e-4})))
    assert "keras on" not in table and "3.00x (" in table.splitlines()[2]


def test_keras_backend_environment_names_the_framework():
    assert resolve_frameworks(("keras", "torch"), None) == ("keras", "torch")
    assert resolve_frameworks(("keras", "torch"), "jax") == ("keras_jax", "torch")
    assert resolve_frameworks(("keras_torch", "keras"), "torch") == ("keras_torch",)
    with pytest.raises(OptionError, match="KERAS_BACKEND to one of tensorflow, jax, torch"):
        resolve_frameworks(("keras",), "mxnet")
