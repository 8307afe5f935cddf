"""A user's own twins, registered in their conftest.py, through `pytest benches` end to end.

The project lives in a temporary directory with its own conftest.py, my_twins.py (the worked
example of docs/adding-a-model.md) and benches/, as a user's repository would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from twinbench.core.jsonfile import read_json
from twinbench.zoo import MODEL_NAMES
from twinbench.zoo.user import TwinError, register

ROOT = Path(__file__).resolve().parents[1]
CONFTEST = """
pytest_plugins = ["twinbench.plugin"]


def pytest_twinbench_twins(config):
    return {TWINS}
"""
BENCH = """
import pytest


@pytest.mark.twinbench_mode("infer")
def test_infer(case, measure):
    measure(case)


@pytest.mark.twinbench_mode("train")
def test_train(case, measure):
    measure(case)
"""


def user_project(root: Path, twins: dict[str, str]) -> Path:
    """A temporary project: conftest.py registering `twins`, my_twins.py, benches/."""
    (root / "benches").mkdir(parents=True)
    (root / "conftest.py").write_text(CONFTEST.replace("{TWINS}", repr(twins)))
    shutil.copy(ROOT / "fixtures" / "twins" / "my_twins.py", root / "my_twins.py")
    (root / "benches" / "test_twins.py").write_text(BENCH)
    return root


def pytest_benches(project: Path, *args: str) -> subprocess.CompletedProcess:
    """`pytest benches ARGS` in the user's project; twinbench importable as if installed."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT / "src")}
    env.pop("TWINBENCH_USER_TWINS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "benches", "-p", "no:cacheprovider", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )


def test_user_twin_runs_to_a_run_file_and_verdict_and_a_broken_one_is_never_timed(tmp_path):
    project = user_project(tmp_path, {"mine": "my_twins:SPEC", "broken": "my_twins:BROKEN"})
    done = pytest_benches(
        project,
        *("--models", "mine,broken", "--modes", "infer", "--devices", "cpu", "--batch-sizes", "2"),
        *("--profile", "smoke", "--results-dir", "results"),
    )
    assert done.returncode == 1, done.stdout + done.stderr  # the broken twin fails the run
    [path] = (project / "results" / "history").rglob("*.json.xz")
    run = read_json(path)
    timed = {bench["param"] for bench in run["benchmarks"]}
    assert timed == {"mine-keras-graph-cpu-infer-fp32-b2", "mine-torch-eager-cpu-infer-fp32-b2"}
    unmeasured = {item["case"]: item for item in run["twinbench"]["unmeasured"]}
    assert set(unmeasured) == {c.replace("mine", "broken") for c in timed}
    for item in unmeasured.values():
        assert item["status"] == "not-identical"
        assert "inference float32: largest difference" in item["reason"]
        assert "at output[" in item["reason"]
    verdicts = {v["case_id"]: v["verdict"] for v in run["twinbench"]["comparison"]["verdicts"]}
    assert {verdicts[c] for c in timed} == {"no-baseline"}
    assert {verdicts[c] for c in unmeasured} == {"not-identical"}
    assert run["twinbench"]["settings"]["parity_proofs"] == {
        "mine": "identical",
        "broken": "not-identical",
    }
    assert "not-identical" in done.stdout


def test_a_user_twin_unknown_to_models_is_a_usage_error_listing_it(tmp_path):
    project = user_project(tmp_path, {"mine": "my_twins:SPEC"})
    done = pytest_benches(project, "--collect-only", "-q", "--models", "yours")
    assert done.returncode == 4
    assert "--models: invalid value yours" in done.stderr and "mine" in done.stderr


def test_collecting_a_user_twin_imports_no_framework(tmp_path):
    project = user_project(tmp_path, {"mine": "my_twins:SPEC"})
    done = pytest_benches(project, "--collect-only", "-q", "--models", "mine", "--devices", "cpu")
    assert done.returncode == 0, done.stderr
    assert "[mine-torch-eager-cpu-train-fp32-b64]" in done.stdout


@pytest.mark.parametrize(
    ("twins", "message"),
    [
        ({"mlp": "my_twins:SPEC"}, "clashes with the built-in model 'mlp'"),
        ({"My-Twin": "my_twins:SPEC"}, "is not valid"),
        ({"mine": "my_twins.SPEC"}, "is not 'module:attribute'"),
        ({"mine": "not_there:SPEC"}, "module 'not_there' not found"),
    ],
)
def test_bad_registrations_are_clear_errors(twins, message):
    with pytest.raises(TwinError, match=message):
        register([twins], MODEL_NAMES)


def test_a_bad_registration_in_conftest_is_a_usage_error(tmp_path):
    project = user_project(tmp_path, {"cnn": "my_twins:SPEC"})
    done = pytest_benches(project, "--collect-only", "-q")
    assert done.returncode == 4
    assert "clashes with the built-in model 'cnn'; rename your twin" in done.stderr
