"""Run files: atomic writes, nothing lost, and clear errors naming the file and the key."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from fixtures.runs import METADATA, sample_run

from twinbench.results.runfile import case_rows
from twinbench.results.storage import (
    SCHEMA_VERSION,
    RunFileError,
    read_run,
    write_json_atomic,
    write_run,
)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_written_run_validates_and_reloads(tmp_path):
    path = write_run(tmp_path / "history", sample_run())
    assert path.parent.name == "test-cpu-9000"
    run = read_run(path)
    rows = {row.case.id: row for row in case_rows(run)}
    keras = rows["mlp-keras-graph-cpu-infer-fp32-b64"]
    assert keras.median_s == pytest.approx(2e-3, rel=0.01)
    assert len(keras.samples) == 9
    assert [len(samples) for samples in keras.process_samples] == [3, 3, 3]
    assert rows["mlp-torch-eager-cuda-infer-fp32-b64"].status == "skipped"
    assert run["twinbench"]["schema_version"] == SCHEMA_VERSION


def test_run_file_keeps_pytest_benchmark_layout(tmp_path):
    run = read_run(write_run(tmp_path, sample_run()))
    bench = run["benchmarks"][0]
    for key in ("group", "name", "fullname", "params", "param", "stats", "extra_info"):
        assert key in bench
    assert bench["group"] == "mlp-default-cpu-infer-fp32-b64"
    assert bench["stats"]["rounds"] == len(bench["stats"]["data"])


def test_two_runs_at_once_give_two_files(tmp_path):
    paths: list[Path] = []
    threads = [
        threading.Thread(target=lambda: paths.append(write_run(tmp_path, sample_run())))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(paths)) == 8
    assert len(list(tmp_path.rglob("*.json"))) == 8
    assert not list(tmp_path.rglob("*.tmp"))


def test_nan_is_refused_on_write_and_nothing_is_left(tmp_path):
    run = sample_run()
    run["benchmarks"][0]["stats"]["median"] = float("nan")
    with pytest.raises(ValueError):
        write_json_atomic(tmp_path / "run.json", run)
    assert list(tmp_path.iterdir()) == []


def write_text(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(text)
    return path


def assert_refused(path: Path, key: str | None, message: str | None) -> None:
    before = snapshot(path.parent)
    with pytest.raises(RunFileError, match=message) as caught:
        read_run(path)
    assert str(path) in str(caught.value)
    if key:
        assert caught.value.key == key
    assert snapshot(path.parent) == before  # reading never repairs or rewrites


def test_truncated_file_is_an_error_naming_the_file(tmp_path):
    text = json.dumps(sample_run())
    assert_refused(write_text(tmp_path, text[: len(text) // 2]), None, "not valid JSON")


def test_nan_in_a_file_names_the_key(tmp_path):
    run = sample_run()
    run["benchmarks"][0]["stats"]["median"] = float("nan")
    text = json.dumps(run)  # Python writes NaN unless told not to; other tools may too
    assert '"median": NaN' in text
    assert_refused(write_text(tmp_path, text), "benchmarks[0].stats.median", "non-finite")


def test_an_overflowing_number_in_a_file_names_the_key(tmp_path):
    """1e999 is valid JSON syntax that parses to infinity: no NaN literal to give it away."""
    text = json.dumps(sample_run()).replace('"median": ', '"median": 1e999, "was": ', 1)
    assert_refused(write_text(tmp_path, text), "benchmarks[0].stats.median", "non-finite")


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "binary.json"
    path.write_bytes(b'{"twinbench": "\xff"}')
    assert_refused(path, None, "not UTF-8")


def test_newer_schema_is_refused(tmp_path):
    run = sample_run()
    run["twinbench"]["schema_version"] = SCHEMA_VERSION + 1
    assert_refused(write_text(tmp_path, json.dumps(run)), "twinbench.schema_version", "newer")


def test_unknown_older_schema_is_refused(tmp_path):
    run = sample_run()
    run["twinbench"]["schema_version"] = 0
    assert_refused(write_text(tmp_path, json.dumps(run)), "twinbench.schema_version", "unknown")


def test_plain_pytest_benchmark_file_is_refused(tmp_path):
    run = sample_run()
    del run["twinbench"]
    assert_refused(write_text(tmp_path, json.dumps(run)), None, "not a twinbench run file")


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda r: r["benchmarks"][0]["stats"].pop("data"), "benchmarks[0].stats.data"),
        (lambda r: r["benchmarks"][0]["stats"].update(data=[]), "benchmarks[0].stats.data"),
        (lambda r: r["benchmarks"][1].update(param=7), "benchmarks[1].param"),
        (lambda r: r["twinbench"].pop("fingerprint"), "twinbench.fingerprint"),
        (lambda r: r["benchmarks"][0]["stats"].update(median="fast"), "benchmarks[0].stats.median"),
    ],
)
def test_missing_or_mistyped_keys_are_named(tmp_path, mutate, key):
    run = sample_run()
    mutate(run)
    assert_refused(write_text(tmp_path, json.dumps(run)), key, None)


def test_fingerprint_ignores_volatile_fields():
    fast_clock = dict(METADATA, cpu_hz_actual="3.9 GHz", hostname="other")
    new_driver = dict(METADATA, gpu_driver="999.1")
    base = sample_run()["twinbench"]["fingerprint_id"]
    assert sample_run(fast_clock)["twinbench"]["fingerprint_id"] == base
    assert sample_run(new_driver)["twinbench"]["fingerprint_id"] != base


def test_run_files_are_readable_by_others(tmp_path):
    path = write_run(tmp_path, sample_run())
    assert path.stat().st_mode & 0o777 == 0o644
