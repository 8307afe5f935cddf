"""Two nights end to end through the command lines nightly.yml runs, on a local bare remote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def sh(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True, check=False)


def nightly(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return sh(sys.executable, "-m", f"twinbench.nightly.{module}", *args, cwd=cwd)


def write_run(results: Path, name: str, case: str, verdict: str) -> None:
    verdicts = [{"case_id": case, "verdict": verdict, "ratio": 1.4}]
    path = results / "history" / "h100" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"twinbench": {"comparison": {"verdicts": verdicts}}}))


def night(workspace: Path, run_name: str, case: str) -> subprocess.CompletedProcess[str]:
    """One bench job (as far as files go), then the merge and issue jobs; the issue's output."""
    folder = nightly("stackdir", "results-branch", "pinned", cwd=workspace)
    assert folder.returncode == 0, folder.stderr
    write_run(workspace / "results-branch" / "results", run_name, case, "regression")
    collected = nightly(
        "collect", "results-branch", "results-branch/results", "tonight", cwd=workspace
    )
    assert collected.returncode == 0, collected.stderr
    (workspace / "downloaded").mkdir()
    (workspace / "tonight").rename(workspace / "downloaded" / "run-h100-pinned-1")
    merged = nightly("publish", ".", "downloaded", "--message", run_name, cwd=workspace)
    assert merged.returncode == 0, merged.stderr
    return nightly("issue", "downloaded", cwd=workspace)


def test_two_nights_through_the_workflows_commands(tmp_path):
    remote = tmp_path / "remote.git"
    sh("git", "init", "-q", "--bare", "--initial-branch=main", str(remote), cwd=tmp_path)
    seed = tmp_path / "seed"
    sh("git", "clone", "-q", str(remote), str(seed), cwd=tmp_path)
    (seed / "README.md").write_text("x\n")
    sh("git", "add", ".", cwd=seed)
    sh("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x", cwd=seed)
    sh("git", "push", "-q", "origin", "HEAD:main", cwd=seed)

    first = tmp_path / "night1"
    sh("git", "clone", "-q", str(remote), str(first), cwd=tmp_path)
    issue = night(first, "20261201T021700Z-a.json", "mlp-torch-eager-cuda-infer-fp32-b1")
    assert issue.returncode == 1 and "mlp-torch-eager-cuda-infer-fp32-b1" in issue.stdout

    second = tmp_path / "night2"
    sh("git", "clone", "-q", str(remote), str(second), cwd=tmp_path)
    branch = sh("git", "clone", "-q", "-b", "results", str(remote), "results-branch", cwd=second)
    assert branch.returncode == 0, branch.stderr
    issue = night(second, "20261202T021700Z-b.json", "cnn-keras-graph-cuda-infer-fp32-b1")
    assert issue.returncode == 1 and "cnn-keras-graph-cuda-infer-fp32-b1" in issue.stdout
    assert "mlp-torch" not in issue.stdout  # last night's regression is not repeated
    files = sh("git", "ls-tree", "-r", "--name-only", "results", cwd=remote).stdout.split()
    assert files == [
        "results/history/h100/20261201T021700Z-a.json",
        "results/history/h100/20261202T021700Z-b.json",
    ]
