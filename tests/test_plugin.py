"""The pytest plugin end to end, in subprocesses, as a user runs `pytest benches`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from twinbench.bench.profiles import PROFILES
from twinbench.core.cases import MODES
from twinbench.core.jsonfile import read_json
from twinbench.execute.fit import FIT_ROUNDS, MIN_ACCURACY
from twinbench.results.storage import read_run
from twinbench.zoo import MODEL_NAMES, MODEL_SIZES

ROOT = Path(__file__).resolve().parents[1]


def pytest_benches(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`pytest benches ARGS` from the repository root, as a user would type it."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "benches", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": "", **(env or {})},
        timeout=600,
    )


def test_collect_only_shows_the_matrix_without_importing_frameworks():
    code = (
        "import sys, pytest\n"
        "rc = pytest.main(['benches', '--collect-only', '-q', '-p', 'no:cacheprovider'])\n"
        "print('HEAVY', sorted(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))\n"
        "sys.exit(rc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout
    for case_id in (
        "mlp-keras-graph-cpu-infer-fp32-b64",
        "mlp-torch-eager-cuda-train-fp32-b1",
        "cnn-keras-graph-cuda-train-fp32-b64",
        "cnn-torch-eager-cpu-infer-fp32-b1",
    ):
        assert f"[{case_id}]" in done.stdout
    # frameworks x devices x modes x quick batch sizes x the quick profile's models
    quick_models = PROFILES["quick"].models
    assert quick_models is not None and "resnet" not in quick_models
    assert f"{2 * 2 * 3 * 2 * len(quick_models)} tests collected" in done.stdout


@pytest.mark.parametrize(
    ("option", "value", "valid"),
    [
        ("--models", "mpl", ", ".join(MODEL_NAMES)),
        ("--frameworks", "jax", "keras, torch"),
        ("--devices", "tpu", "cpu, cuda"),
        ("--modes", "predict", "infer, train, fit"),
        ("--batch-sizes", "0", "positive integers"),
        ("--variants", "jit", "default, all, graph, xla, eager, compile"),
        ("--precisions", "fp16", "fp32, bf16"),
        ("--profile", "fast", "'quick', 'full', 'smoke'"),
    ],
)
def test_bad_option_value_is_a_usage_error_listing_valid_values(option, value, valid):
    done = pytest_benches("--collect-only", option, value)
    assert done.returncode == 4  # pytest's usage error
    assert option in done.stderr and valid in done.stderr


def test_full_profile_collects_every_variant_and_precision():
    done = pytest_benches("--collect-only", "-q", "--profile=full", "--models=mlp")
    assert done.returncode == 0, done.stderr
    for case_id in ("mlp-keras-xla-cuda-train-bf16-b256", "mlp-torch-compile-cpu-infer-fp32-b1"):
        assert f"[{case_id}]" in done.stdout
    # frameworks x devices x modes x batch sizes x 2 variants each x precisions
    assert f"{2 * 2 * len(MODES) * 3 * 2 * 2} tests collected" in done.stdout


def test_full_profile_includes_the_models_quick_leaves_out():
    done = pytest_benches("--collect-only", "-q", "--profile=full")
    assert done.returncode == 0, done.stderr
    assert "[resnet-torch-compile-cuda-train-bf16-b256]" in done.stdout
    assert "[gpt.full-torch-compile-cuda-train-bf16-b8]" in done.stdout
    tiny = 2 * 2 * len(MODES) * 3 * 2 * 2 * len(MODEL_NAMES)
    full = 2 * 1 * len(MODES) * 2 * 2 * 2 * len(MODEL_SIZES)  # CUDA only, batch sizes 1 and 8
    assert f"{tiny + full} tests collected" in done.stdout


def test_variants_of_no_selected_framework_are_a_usage_error():
    done = pytest_benches("--collect-only", "--frameworks=torch", "--variants=xla")
    assert done.returncode == 4
    assert "no case selected" in done.stderr and "torch: eager, compile" in done.stderr


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """One short run of both frameworks on the MLP, with no GPU visible."""
    results = tmp_path_factory.mktemp("results")
    done = pytest_benches(
        "--models=mlp",
        "--profile=smoke",
        "--batch-sizes=2",
        "--processes=2",
        f"--results-dir={results}",
    )
    return done, results


def test_smoke_run_passes_and_skips_cuda_with_a_reason(smoke_run):
    done, _ = smoke_run
    assert done.returncode == 0, done.stdout[-3000:]
    assert "4 passed, 8 skipped" in done.stdout
    assert "sees no CUDA device" in done.stdout and "sees no GPU" in done.stdout
    assert "fit runs at batch sizes >= 32" in done.stdout  # fit cases at batch 2
    assert "Keras vs PyTorch" in done.stdout
    assert "harness overhead per step" in done.stdout


def test_smoke_run_writes_one_valid_run_file(smoke_run):
    _, results = smoke_run
    (path,) = results.glob("history/*/*.json.xz")
    run = read_run(path)
    measured = {bench["param"] for bench in run["benchmarks"]}
    assert measured == {
        "mlp-keras-graph-cpu-infer-fp32-b2",
        "mlp-keras-graph-cpu-train-fp32-b2",
        "mlp-torch-eager-cpu-infer-fp32-b2",
        "mlp-torch-eager-cpu-train-fp32-b2",
    }
    skipped = {item["case"]: item for item in run["twinbench"]["unmeasured"]}
    assert len(skipped) == 4 and all(item["status"] == "skipped" for item in skipped.values())
    for bench in run["benchmarks"]:
        assert bench["extra_info"]["ran_on"] == "cpu"
        assert bench["extra_info"]["first_call_s"] > 0
        assert bench["extra_info"]["flops_per_step"] > 0  # counted on the PyTorch twin
        assert bench["extra_info"]["peak_flops"] > 0  # this framework's matmul peak
        processes = bench["extra_info"]["processes"]
        assert [len(p["samples"]) for p in processes] == [3, 3]  # 2 processes x 3 rounds
        assert bench["stats"]["data"] == processes[0]["samples"] + processes[1]["samples"]
    meta = run["twinbench"]
    assert meta["identity"]["threads"] == meta["settings"]["threads"]
    # The software stack a nightly's stack axis is told apart by, read from this install.
    assert meta["stack"]["torch_version"] and meta["stack"]["keras_version"]
    assert meta["stack"]["twinbench_version"] == meta["twinbench_version"]
    assert meta["settings"]["frameworks"]["torch"]["tf32_matmul"] is False
    assert meta["settings"]["frameworks"]["keras"]["tf32"] is False


def test_exported_run_file_is_readable_by_pytest_benchmark_compare(smoke_run, tmp_path):
    _, results = smoke_run
    (path,) = results.glob("history/*/*.json.xz")
    from twinbench.cli import main

    assert main(["export", str(path), "-o", str(tmp_path / "run.json")]) == 0
    done = subprocess.run(
        [sys.executable, "-m", "pytest_benchmark", "compare", str(tmp_path / "run.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (
        "mlp-keras-graph-cpu-infer-fp32-b2" in done.stdout
        and "mlp-torch-eager-cpu-infer-fp32-b2" in done.stdout
    )


def test_twinbench_show_reloads_the_run_file(smoke_run):
    _, results = smoke_run
    (path,) = results.glob("history/*/*.json.xz")
    from twinbench.cli import main

    assert main(["show", str(path)]) == 0
    broken = path.with_name("broken.json")
    data = read_json(path)
    data["twinbench"]["schema_version"] = 99
    broken.write_text(json.dumps(data))
    assert main(["show", str(broken)]) == 2


def test_require_gpu_turns_cuda_skips_into_failures(tmp_path):
    done = pytest_benches(
        "--models=mlp",
        "--frameworks=torch",
        "--devices=cuda",
        "--modes=infer",
        "--profile=smoke",
        "--require-gpu",
        f"--results-dir={tmp_path}",
    )
    assert done.returncode == 1
    assert "--require-gpu: PyTorch sees no CUDA device" in done.stdout


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


TORCH_ONLY = ("--models=mlp", "--frameworks=torch", "--devices=cpu", "--modes=infer")


def test_gate_life_cycle_with_empty_saved_and_broken_baselines(tmp_path):
    results = f"--results-dir={tmp_path}"
    # The life cycle of the baseline file, not the check beside its commit: `all`'s A/B may
    # read an unchanged case slower (its run-wide false-alarm rate is 5%), failing the run.
    common = (*TORCH_ONLY, "--profile=smoke", "--processes=2", results)
    common += ("--baseline-code-check=suspects",)

    empty = pytest_benches(*common)
    assert empty.returncode == 0, empty.stdout[-2000:]
    assert "no baseline for this machine" in empty.stdout
    assert pytest_benches(*common, "--strict-gate").returncode == 1  # no-baseline fails strictly

    saved = pytest_benches(*common, "--save-baseline")
    assert saved.returncode == 0 and "baseline saved (replace)" in saved.stdout
    (baseline,) = tmp_path.glob("baselines/*.json")
    assert len(read_run(baseline)["twinbench"]["pooled_runs"]) == 1
    assert pytest_benches(*common, "--save-baseline=extend").returncode == 0
    assert len(read_run(baseline)["twinbench"]["pooled_runs"]) == 2

    runs_before = set(tmp_path.glob("history/*/*.json.xz"))
    baseline_before = baseline.read_bytes()
    uncompared = pytest_benches(*common, "--no-compare")
    assert uncompared.returncode == 0, uncompared.stdout[-2000:]
    assert "Regression gate" not in uncompared.stdout
    (new_run,) = set(tmp_path.glob("history/*/*.json.xz")) - runs_before  # the run is still kept
    assert "comparison" not in read_run(new_run)["twinbench"]  # ... ungated
    assert baseline.read_bytes() == baseline_before

    baseline.write_text(baseline.read_text()[:200])  # truncated
    before = snapshot(tmp_path)
    broken = pytest_benches(*common)
    assert broken.returncode == 4  # stopped before measuring, as a usage error
    assert str(baseline) in broken.stdout and "not valid JSON" in broken.stdout
    assert snapshot(tmp_path) == before  # nothing under results/ changed


def test_a_perturbed_reference_output_is_reported_as_numerics_changed(tmp_path):
    numerics = tmp_path / "numerics"
    numerics.mkdir()
    reference = json.loads((ROOT / "fixtures" / "numerics" / "mlp.json").read_text())
    reference["outputs"]["torch"]["infer"][0][0] += 0.05
    (numerics / "mlp.json").write_text(json.dumps(reference))
    done = pytest_benches(
        *TORCH_ONLY, "--profile=smoke", f"--results-dir={tmp_path}", f"--numerics-dir={numerics}"
    )
    assert done.returncode == 1, done.stdout[-2000:]
    assert "NUMERICS-CHANGED mlp-torch-eager-cpu-infer-fp32-b1" in done.stdout
    (path,) = tmp_path.glob("history/*/*.json.xz")
    (verdict,) = read_run(path)["twinbench"]["comparison"]["verdicts"]
    assert verdict["verdict"] == "numerics-changed"


def test_fit_case_records_the_test_accuracy_of_the_timed_model(tmp_path):
    done = pytest_benches(
        "--models=mlp",
        "--frameworks=torch",
        "--devices=cpu",
        "--modes=fit",
        "--batch-sizes=64",
        "--processes=1",
        "--no-compare",
        f"--results-dir={tmp_path}",
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "1 passed" in done.stdout and "Fit: one step is one epoch" in done.stdout
    (path,) = tmp_path.glob("history/*/*.json.xz")
    (bench,) = read_run(path)["benchmarks"]
    fit, processes = bench["extra_info"]["fit"], bench["extra_info"]["processes"]
    assert fit["epochs"] == 1 + FIT_ROUNDS and fit["accuracy"] >= MIN_ACCURACY
    assert [(len(p["samples"]), p["loops"]) for p in processes] == [(FIT_ROUNDS, 1)]
    assert processes[0]["fit"]["accuracy"] == fit["accuracy"]
