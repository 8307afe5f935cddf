"""Run files: atomic writes, nothing lost, and clear errors naming the file and the key."""

from __future__ import annotations

import json
import os
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
    assert len(list(tmp_path.rglob("*.json.xz"))) == 8
    assert not list(tmp_path.rglob("*.tmp"))


def test_nan_is_refused_on_write_and_nothing_is_left(tmp_path):
    run = sample_run()
    run["benchmarks"][0]["stats"]["median"] = float("nan")
    with pytest.raises(ValueError):
        write_json_atomic(tmp_path / "run.json", run)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("step", "error"),
    [
        ("fsync", OSError(28, "No space left on device")),  # the temp file is half-written
        ("replace", PermissionError(13, "Permission denied")),  # written, never moved in place
        ("replace", KeyboardInterrupt()),  # Ctrl-C between writing and renaming
    ],
)
def test_a_write_that_fails_after_the_temp_file_exists_leaves_nothing(
    tmp_path, monkeypatch, step, error
):
    """The temp file exists when fsync or os.replace fails: it is removed, the old file kept."""
    target = tmp_path / "run.json"
    target.write_text('{"old": true}\n')
    seen: list[Path] = []

    def fail(*args):
        seen.extend(p for p in tmp_path.iterdir() if p.name.endswith(".tmp"))
        raise error

    monkeypatch.setattr(os, step, fail)
    with pytest.raises(type(error)):
        write_json_atomic(target, sample_run())
    monkeypatch.undo()
    assert len(seen) == 1  # the failure did happen with a temp file on disk
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]
    assert target.read_text() == '{"old": true}\n'


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


def no_samples_anywhere(run: dict) -> None:
    """Neither `stats.data` nor the processes' samples it is put back from."""
    bench = run["benchmarks"][0]
    del bench["stats"]["data"]
    for process in bench["extra_info"]["processes"]:
        process["samples"] = []


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (no_samples_anywhere, "benchmarks[0].stats.data"),  # a missing stats.data alone is
        # the stored form (compact.py): reading puts it back from the processes' samples
        (lambda r: r["benchmarks"][0]["stats"].update(data=[]), "benchmarks[0].stats.data"),
        (lambda r: r["benchmarks"][1].update(param=7), "benchmarks[1].param"),
        (lambda r: r["twinbench"].pop("identity"), "twinbench.identity"),
        (lambda r: r["twinbench"].pop("stack"), "twinbench.stack"),
        (lambda r: r["benchmarks"][0]["stats"].update(median="fast"), "benchmarks[0].stats.median"),
    ],
)
def test_missing_or_mistyped_keys_are_named(tmp_path, mutate, key):
    run = sample_run()
    mutate(run)
    assert_refused(write_text(tmp_path, json.dumps(run)), key, None)


def test_identity_ignores_volatile_fields_and_the_stack():
    fast_clock = dict(METADATA, cpu_hz_actual="3.9 GHz", hostname="other")
    new_driver = dict(METADATA, gpu_driver="999.1", torch_version="2.14.0")
    other_cpu = dict(METADATA, cpu_model="Other CPU")
    base = sample_run()["twinbench"]
    assert sample_run(fast_clock)["twinbench"]["identity_id"] == base["identity_id"]
    upgraded = sample_run(new_driver)["twinbench"]
    assert upgraded["identity_id"] == base["identity_id"]
    assert (upgraded["stack"]["gpu_driver"], upgraded["stack"]["torch_version"]) == (
        "999.1",
        "2.14.0",
    )
    assert sample_run(other_cpu)["twinbench"]["identity_id"] != base["identity_id"]


def test_run_files_are_readable_by_others(tmp_path):
    path = write_run(tmp_path, sample_run())
    assert path.stat().st_mode & 0o777 == 0o644
