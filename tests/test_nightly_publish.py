"""The merge job against a local bare repository standing in for GitHub (#13 items 2 and 4).

First night (no `results` branch), two runs racing for the branch, the same night merged
again, and a baseline saved by a sharded night, each through `twinbench.nightly.publish`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from twinbench.nightly import publish as publishing
from twinbench.nightly.git import git


def run_git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A bare repository with a `main` branch and no `results` branch."""
    bare = tmp_path / "remote.git"
    run_git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    seed = tmp_path / "seed"
    run_git("clone", "--quiet", str(bare), str(seed))
    (seed / "README.md").write_text("project\n")
    run_git("add", "README.md", cwd=seed)
    run_git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "main", cwd=seed)
    run_git("push", "--quiet", "origin", "HEAD:main", cwd=seed)
    return bare


def clone(remote: Path, path: Path) -> Path:
    run_git("clone", "--quiet", str(remote), str(path))
    return path


def artifact(root: Path, name: str, files: dict[str, object]) -> Path:
    """One downloaded artifact: files laid out as on the results branch."""
    for relative, content in files.items():
        path = root / name / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))
    return root


def branch_files(remote: Path) -> list[str]:
    return git(remote, "ls-tree", "-r", "--name-only", "results").splitlines()


def commits(remote: Path) -> int:
    return int(git(remote, "rev-list", "--count", "results"))


RUN_A = "results/history/a100-host/20261201T021700Z-aaaa.json"
RUN_B = "results/history/h100-host/20261201T021700Z-bbbb.json"


def test_the_first_night_creates_the_results_branch(remote, tmp_path):
    downloaded = artifact(tmp_path / "dl", "run-a100", {RUN_A: {"run": "a"}})
    said = publishing.publish(clone(remote, tmp_path / "c"), downloaded, "night 1", wait_s=0)
    assert "created the results branch" in said
    assert branch_files(remote) == [RUN_A]
    assert git(remote, "rev-list", "--max-parents=0", "results") == git(
        remote, "rev-parse", "results"
    )
    assert git(remote, "log", "-1", "--format=%an", "results") == "twinbench nightly"
    assert branch_files(remote) != git(remote, "ls-tree", "-r", "--name-only", "main").splitlines()


def test_a_run_that_loses_the_race_lays_its_files_on_the_winners_tip(remote, tmp_path, monkeypatch):
    """Both runs start before the branch exists; the second push is refused, then retried."""
    mine = artifact(tmp_path / "mine", "run-h100", {RUN_B: {"run": "b"}})
    theirs = artifact(tmp_path / "theirs", "run-a100", {RUN_A: {"run": "a"}})
    real_push = publishing.push
    pushes: list[bool] = []

    def push_after_the_other_run(work, remote_name, branch, commit):
        if not pushes:  # the other runner pushes between our commit and our push
            monkeypatch.setattr(publishing, "push", real_push)
            publishing.publish(clone(remote, tmp_path / "other"), theirs, "other", wait_s=0)
            monkeypatch.setattr(publishing, "push", push_after_the_other_run)
        pushes.append(real_push(work, remote_name, branch, commit))
        return pushes[-1]

    monkeypatch.setattr(publishing, "push", push_after_the_other_run)
    said = publishing.publish(clone(remote, tmp_path / "c"), mine, "night 1", wait_s=0)
    assert pushes == [False, True], said
    assert sorted(branch_files(remote)) == sorted([RUN_A, RUN_B])
    assert commits(remote) == 2


def test_merging_the_same_night_again_changes_nothing(remote, tmp_path):
    downloaded = artifact(tmp_path / "dl", "run-a100", {RUN_A: {"run": "a"}})
    repo = clone(remote, tmp_path / "c")
    publishing.publish(repo, downloaded, "night 1", wait_s=0)
    again = publishing.publish(clone(remote, tmp_path / "rerun"), downloaded, "rerun", wait_s=0)
    assert "nothing to merge" in again
    assert commits(remote) == 1


def test_a_run_file_already_on_the_branch_is_never_rewritten(remote, tmp_path):
    repo = clone(remote, tmp_path / "c")
    publishing.publish(repo, artifact(tmp_path / "one", "run-a", {RUN_A: {"v": 1}}), "1", wait_s=0)
    said = publishing.publish(
        repo, artifact(tmp_path / "two", "run-a", {RUN_A: {"v": 2}}), "2", wait_s=0
    )
    assert "kept the branch's" in said
    assert json.loads(git(remote, "show", f"results:{RUN_A}")) == {"v": 1}


def baseline(cases: dict[str, int], runs: list[str]) -> dict:
    """A baseline file: `cases` maps a case id to its number of processes."""
    return {
        "benchmarks": [
            {"param": case, "extra_info": {"processes": [{"samples": [1.0]}] * count}}
            for case, count in cases.items()
        ],
        "twinbench": {"fingerprint_id": "fp", "pooled_runs": runs},
    }


BASELINE = "results/baselines/fp.json"


def test_a_sharded_baseline_night_replaces_the_branchs_baseline_with_all_shards(remote, tmp_path):
    repo = clone(remote, tmp_path / "c")
    old = artifact(tmp_path / "old", "run-a", {BASELINE: baseline({"x": 5, "y": 5}, ["old"])})
    publishing.publish(repo, old, "earlier baseline", wait_s=0)
    tonight = artifact(tmp_path / "dl", "run-a-1", {BASELINE: baseline({"x": 10}, ["r1"])})
    artifact(tmp_path / "dl", "run-a-2", {BASELINE: baseline({"z": 10}, ["r2"])})
    said = publishing.publish(repo, tonight, "baseline night", wait_s=0)
    assert "pushed" in said
    saved = json.loads(git(remote, "show", f"results:{BASELINE}"))
    assert [bench["param"] for bench in saved["benchmarks"]] == ["x", "z"]
    assert saved["twinbench"]["pooled_runs"] == ["r1", "r2"]


def test_an_extended_baseline_keeps_each_cases_pooled_entry():
    from twinbench.nightly.baselines import join_baselines

    shard_1 = baseline({"x": 10, "y": 5}, ["old", "r1"])  # pooled x, the branch's y
    shard_2 = baseline({"x": 5, "y": 10}, ["old", "r2"])  # the branch's x, pooled y
    joined = join_baselines([shard_1, shard_2])
    counts = {b["param"]: len(b["extra_info"]["processes"]) for b in joined["benchmarks"]}
    assert counts == {"x": 10, "y": 10}
    assert joined["twinbench"]["pooled_runs"] == ["old", "r1", "r2"]


def test_nothing_downloaded_merges_nothing(remote, tmp_path):
    (tmp_path / "empty").mkdir()
    said = publishing.publish(clone(remote, tmp_path / "c"), tmp_path / "empty", "m", wait_s=0)
    assert "nothing to merge" in said
    assert git(remote, "ls-remote", "--heads", str(remote), "results") == ""


def test_a_push_that_keeps_failing_ends_with_the_next_step(remote, tmp_path, monkeypatch):
    monkeypatch.setattr(publishing, "push", lambda *args: False)
    downloaded = artifact(tmp_path / "dl", "run-a100", {RUN_A: {"run": "a"}})
    with pytest.raises(publishing.PublishError, match="re-run this job"):
        publishing.publish(clone(remote, tmp_path / "c"), downloaded, "m", attempts=2, wait_s=0)
