"""Compressed run files: stored small and byte-for-byte reproducible, read by every command
beside the plain files written before them, and exported as JSON pytest-benchmark reads."""

from __future__ import annotations

import gzip
import lzma
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fixtures.runs import METADATA, run_with, sample_run

from twinbench.cli import main
from twinbench.core.jsonfile import RunFileError, read_json, write_json_atomic
from twinbench.gate.session_gate import run_gate
from twinbench.gate.settings import GateSettings
from twinbench.gate.stats import typical_level
from twinbench.gate.window import window_baseline
from twinbench.history.store import load_history
from twinbench.nightly.baselines import join_baseline_files
from twinbench.nightly.estimate import measured_costs
from twinbench.nightly.issue import issue_body
from twinbench.results.baselines import find_baseline, save_baseline
from twinbench.results.compact import TIMER_RESOLUTION_S, compact_run, float32_digits
from twinbench.results.runfile import case_rows
from twinbench.results.storage import machine_slug, read_run, write_run

ROOT = Path(__file__).resolve().parents[1]
TORCH = "mlp-torch-eager-cpu-infer-fp32-b1"
KERAS = "mlp-keras-graph-cpu-infer-fp32-b1"


def old_plain(run: dict) -> dict:
    """`run` as a version-3 file: what twinbench wrote, uncompressed, before version 4."""
    run["twinbench"]["schema_version"] = 3
    return run


def night(index: int, torch_s: float = 1e-4) -> dict:
    run = run_with({TORCH: torch_s, KERAS: 3e-4}, processes=3)
    run["twinbench"]["started"] = f"2026-11-{1 + index:02d}T02:00:00+00:00"
    return run


def mixed_history(results: Path, nights: int = 6) -> list[Path]:
    """A machine folder whose first half are old plain files and the rest compressed ones."""
    folder = results / "history" / machine_slug(METADATA)
    paths = []
    for index in range(nights):
        name = f"202611{1 + index:02d}T020000Z-{index:08x}"
        if index < nights // 2:
            path = write_json_atomic(folder / f"{name}.json", old_plain(night(index)))
        else:
            path = write_json_atomic(folder / f"{name}.json.xz", compact_run(night(index)))
        paths.append(path)
    return paths


def test_a_run_is_stored_compressed_and_the_same_run_gives_the_same_bytes(tmp_path):
    run = sample_run()
    path = write_run(tmp_path / "history", run)
    raw = path.read_bytes()
    assert path.name.endswith(".json.xz") and lzma.decompress(raw)  # a real xz stream
    again = write_run(tmp_path / "history", run)
    assert again != path and again.read_bytes() == raw  # the same run, the same bytes


def test_reading_puts_back_the_pooled_samples_and_keeps_every_level(tmp_path):
    run = run_with({TORCH: 1e-4, KERAS: 3e-4})
    before = {row.case.id: row for row in case_rows(run)}
    path = write_run(tmp_path, run)
    stored = read_json(path)
    assert all("data" not in bench["stats"] for bench in stored["benchmarks"])
    assert all("data" in bench["stats"] for bench in run["benchmarks"])  # the caller's copy
    for row in case_rows(read_run(path)):
        old = before[row.case.id]
        assert len(row.samples) == len(old.samples)
        assert row.samples == tuple(s for process in row.process_samples for s in process)
        grid = TIMER_RESOLUTION_S / row.loops
        assert all(abs(a - b) <= grid for a, b in zip(row.samples, old.samples, strict=True))
        assert typical_level(row.process_samples) == pytest.approx(
            typical_level(old.process_samples), rel=1e-9
        )
        assert row.median_s == old.median_s  # pytest-benchmark's summary is kept as measured


def test_pooled_samples_that_are_not_the_processes_own_are_kept(tmp_path):
    run = run_with({TORCH: 1e-4})
    run["benchmarks"][0]["stats"]["data"] = [1e-4] * 5
    stored = compact_run(run)
    assert stored["benchmarks"][0]["stats"]["data"] == [1e-4] * 5


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (ROOT / "fixtures" / "runfiles").glob("*.json"))
)
def test_old_plain_fixture_files_still_load(name):
    run = read_run(ROOT / "fixtures" / "runfiles" / name)
    assert run["benchmarks"] and all(bench["stats"]["data"] for bench in run["benchmarks"])


def test_a_plain_file_of_the_previous_schema_loads_unchanged(tmp_path):
    run = old_plain(sample_run())
    path = write_json_atomic(tmp_path / "old.json", run)
    loaded = read_run(path)
    assert loaded["twinbench"]["migrated_from"] == 3
    assert [b["stats"]["data"] for b in loaded["benchmarks"]] == [
        b["stats"]["data"] for b in run["benchmarks"]
    ]


def test_history_and_report_read_plain_and_compressed_runs_together(tmp_path, capsys):
    paths = mixed_history(tmp_path)
    history = load_history(tmp_path)
    assert not history.unreadable
    assert [path for path, _ in history.runs] == paths
    assert {len(points) for points in history.series.values()} == {6}
    assert main(["history", "--results-dir", str(tmp_path)]) == 0
    assert TORCH in capsys.readouterr().out
    page = tmp_path / "report.html"
    assert main(["report", "--results-dir", str(tmp_path), "-o", str(page)]) == 0
    assert "(6 runs)" in capsys.readouterr().out


def test_show_compare_check_and_export_take_either_kind(tmp_path, capsys):
    plain, *_, compressed = mixed_history(tmp_path)
    assert main(["show", str(plain), str(compressed)]) == 0
    assert main(["compare", str(plain), str(compressed)]) == 0
    assert main(["check", str(compressed), "--baseline", str(plain)]) == 0
    capsys.readouterr()
    save_baseline(tmp_path, read_run(plain), plain.name)  # baselines stay plain JSON
    assert main(["check", str(compressed)]) == 0
    assert "baselines" in capsys.readouterr().out
    assert main(["export", str(compressed), "-o", str(tmp_path / "out.json")]) == 0
    assert read_json(tmp_path / "out.json")["benchmarks"][0]["stats"]["data"]


def test_the_baseline_window_pools_plain_and_compressed_runs(tmp_path):
    mixed_history(tmp_path)
    window = window_baseline(tmp_path, night(9), 6)
    assert len(window.runs) == 6 and not window.unreadable
    assert {name.endswith(".xz") for name in window.runs} == {True, False}
    settings = GateSettings(baseline_window=4, confirm_rounds=0)
    outcome = run_gate(night(9, torch_s=2e-4), tmp_path, settings, remeasure=None)  # type: ignore[arg-type]
    assert outcome.baseline_runs == 4  # three compressed nights and the newest plain one
    verdicts = {v.case_id: v.verdict for v in outcome.comparison.verdicts}
    assert verdicts == {TORCH: "regression", KERAS: "ok"}


def test_baselines_and_nightly_scripts_read_compressed_files(tmp_path):
    plain, *_, compressed = mixed_history(tmp_path)
    identity = read_run(plain)["twinbench"]["identity_id"]
    legacy = write_json_atomic(tmp_path / "baselines" / "older-name.json.xz", read_run(plain))
    assert find_baseline(tmp_path, identity) == legacy
    joined = tmp_path / "joined.json"
    join_baseline_files([plain, compressed], joined)
    assert {b["param"] for b in read_json(joined)["benchmarks"]} == {TORCH, KERAS}
    assert set(measured_costs(tmp_path / "history", "box")) == {TORCH, KERAS}


def test_the_nightly_issue_names_cases_from_both_kinds(tmp_path):
    history = tmp_path / "artifacts" / "run-a100" / "results" / "history" / "a100"
    for name, case in (("old.json", TORCH), ("new.json.xz", KERAS), ("hand.json.gz", TORCH)):
        run = run_with({TORCH: 1e-4, KERAS: 3e-4})
        run["twinbench"]["comparison"] = {"verdicts": [{"case_id": case, "verdict": "regression"}]}
        write_json_atomic(history / name, run)
    body, failed = issue_body(tmp_path / "artifacts")
    assert failed and TORCH in body and KERAS in body


def test_summarise_runs_counts_both_kinds(tmp_path):
    mixed_history(tmp_path)
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "summarise_runs.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "(gate)" in line]
    assert len(lines) == 6 and any(".json.xz" in line for line in lines)


def test_a_cut_off_compressed_file_is_an_error_naming_it(tmp_path, capsys):
    *_, compressed = mixed_history(tmp_path)
    compressed.write_bytes(compressed.read_bytes()[:-40])
    with pytest.raises(RunFileError, match="cut off") as caught:
        read_run(compressed)
    assert caught.value.path == compressed
    assert main(["show", str(compressed)]) == 2
    assert str(compressed) in capsys.readouterr().err
    history = load_history(tmp_path)
    assert [path for path, _ in history.unreadable] == [compressed] and len(history.runs) == 5


def test_an_export_is_read_by_pytest_benchmark_compare(tmp_path):
    old = ROOT / "fixtures" / "runfiles" / "schema-2-run.json"
    new = write_run(tmp_path / "history", run_with({TORCH: 1e-4, KERAS: 3e-4}))
    exports = [tmp_path / "old.json", tmp_path / "new.json"]
    for source, target in zip((old, new), exports, strict=True):
        assert main(["export", str(source), "-o", str(target)]) == 0
    done = subprocess.run(
        [sys.executable, "-m", "pytest_benchmark", "compare", *map(str, exports)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Failed to load" not in done.stdout + done.stderr
    assert TORCH in done.stdout and KERAS in done.stdout
    assert "/old)" in done.stdout and "/new)" in done.stdout  # rows of both files


def test_export_refuses_a_name_pytest_benchmark_skips_and_the_run_itself(tmp_path, capsys):
    run = write_run(tmp_path, sample_run())
    assert main(["export", str(run), "-o", str(tmp_path / "out.json.xz")]) == 2
    assert "*.json" in capsys.readouterr().err
    assert not (tmp_path / "out.json.xz").exists()
    old = write_json_atomic(tmp_path / "old.json", old_plain(sample_run()))
    before = old.read_bytes()
    assert main(["export", str(old), "-o", str(old)]) == 2  # never rewrites a run file
    assert "never rewritten" in capsys.readouterr().err and old.read_bytes() == before


def test_compressed_files_are_much_smaller(tmp_path):
    run = run_with({TORCH: 1e-4, KERAS: 3e-4}, processes=6)
    plain = write_json_atomic(tmp_path / "plain.json", run).stat().st_size
    packed = write_run(tmp_path, run).stat().st_size
    assert packed * 4 < plain


def test_reference_outputs_are_cut_to_digits_that_give_every_float32_back():
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [rng.normal(0, 1, 2000), rng.normal(0, 1e-30, 100), rng.normal(0, 1e30, 100)]
    ).astype(np.float32)
    output = [[float(v) for v in values[:1000]], [float(v) for v in values[1000:]]]
    cut = float32_digits(output)
    assert np.array_equal(np.asarray(cut[0] + cut[1], dtype=np.float32), values)
    assert max(len(repr(v)) for v in cut[0]) < max(len(repr(v)) for v in output[0])
    assert float32_digits([0.1, None, "x"]) == [0.1, None, "x"]  # 0.1 is no float32: kept


def test_an_old_file_compressed_with_gzip_reads_as_before(tmp_path):
    old = ROOT / "fixtures" / "runfiles" / "schema-3-run.json"
    packed = tmp_path / "schema-3-run.json.gz"
    packed.write_bytes(gzip.compress(old.read_bytes()))  # what `gzip -k FILE` makes of it
    assert read_run(packed) == read_run(old)
