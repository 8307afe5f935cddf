"""Add the night's artifacts to the `results` branch and push, retrying when another run wins.

Works in a separate worktree of the repository (it shares the checkout's credentials) and
builds each commit with plumbing on the branch's current tip, or as the branch's first,
parentless commit when it does not exist yet (the first night). A push that loses a race is
not rebased: the branch is fetched again and tonight's files are laid on its new tip, so two
runs can never conflict. Run files are added, never rewritten, so merging the same night again
changes nothing; a runner's baseline replaces the branch's (see `baselines`).

Usage: ``python -m twinbench.nightly.publish REPO ARTIFACTS --message MSG``.
Standard library only.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

from twinbench.nightly.baselines import join_baseline_files
from twinbench.nightly.git import GitError, git, succeeds

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
AUTHOR = {
    "GIT_AUTHOR_NAME": "twinbench nightly",
    "GIT_AUTHOR_EMAIL": "twinbench-nightly@users.noreply.github.com",
}


class PublishError(RuntimeError):
    """The branch could not be updated after every attempt."""


def artifact_files(artifacts: Path) -> dict[Path, list[Path]]:
    """Each branch path the artifacts hold, with its copies (one per artifact that has it).

    download-artifact puts each artifact in its own folder, whose tree mirrors the branch.
    """
    copies: dict[Path, list[Path]] = defaultdict(list)
    for artifact in sorted(p for p in artifacts.iterdir() if p.is_dir()):
        for path in sorted(p for p in artifact.rglob("*") if p.is_file()):
            copies[path.relative_to(artifact)].append(path)
    return dict(copies)


def lay_out(copies: dict[Path, list[Path]], work: Path) -> list[str]:
    """Put tonight's files in the worktree; notes on files kept as the branch had them."""
    notes = []
    for relative, sources in sorted(copies.items()):
        target = work / relative
        if "baselines" in relative.parts:
            join_baseline_files(sources, target)
            continue
        if target.exists():  # a run file already merged: this night is being merged again
            if not filecmp.cmp(sources[0], target, shallow=False):
                notes.append(f"kept the branch's {relative}: a file of that name differs")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(sources[0], target)
    return notes


def remote_tip(work: Path, remote: str, branch: str) -> str | None:
    """The branch's commit on the remote, None when the branch does not exist there."""
    line = git(work, "ls-remote", "--heads", remote, f"refs/heads/{branch}")
    return line.split()[0] if line else None


def reset_to(work: Path, remote: str, branch: str) -> str | None:
    """Make the worktree the remote branch's tree (empty when it is absent); its tip."""
    tip = remote_tip(work, remote, branch)
    if tip is None:
        git(work, "read-tree", "--empty")
    else:
        git(work, "fetch", "--quiet", remote, f"refs/heads/{branch}")
        git(work, "checkout", "--quiet", "--force", "--detach", tip)
    git(work, "clean", "-ffdxq")
    return tip


def commit_tree(work: Path, tip: str | None, message: str) -> str | None:
    """Commit the worktree on `tip`; None when it holds nothing new."""
    git(work, "add", "--all", ".")
    tree = git(work, "write-tree")
    if tree == (git(work, "rev-parse", f"{tip}^{{tree}}") if tip else EMPTY_TREE):
        return None
    env = {**os.environ, **AUTHOR}
    env |= {"GIT_COMMITTER_NAME": AUTHOR["GIT_AUTHOR_NAME"]}
    env |= {"GIT_COMMITTER_EMAIL": AUTHOR["GIT_AUTHOR_EMAIL"]}
    parents = ["-p", tip] if tip else []
    return git(work, "commit-tree", tree, *parents, "-m", message, env=env)


def push(work: Path, remote: str, branch: str, commit: str) -> bool:
    """Fast-forward the remote branch to `commit`; False when the remote moved meanwhile."""
    return succeeds(work, "push", "--quiet", remote, f"{commit}:refs/heads/{branch}")


def worktree(repo: Path) -> Path:
    """A detached worktree of `repo` for the results branch (created on first use)."""
    work = repo / ".git" / "twinbench-results"
    if not work.exists():
        git(repo, "worktree", "add", "--quiet", "--detach", str(work))
    return work


def publish(
    repo: Path,
    artifacts: Path,
    message: str,
    remote: str = "origin",
    branch: str = "results",
    attempts: int = 5,
    wait_s: float = 10.0,
) -> str:
    """Commit the artifacts on the branch and push; what happened, in one line."""
    copies = artifact_files(artifacts)
    if not copies:
        return "no artifact holds a file: nothing to merge"
    work = worktree(repo)
    for attempt in range(1, attempts + 1):
        tip = reset_to(work, remote, branch)
        notes = lay_out(copies, work)
        commit = commit_tree(work, tip, message)
        if commit is None:
            return "; ".join(["the branch already holds every file: nothing to merge", *notes])
        if push(work, remote, branch, commit):
            first = "" if tip else f" (created the {branch} branch)"
            return "; ".join([f"pushed {len(copies)} file(s) as {commit[:12]}{first}", *notes])
        time.sleep(wait_s * attempt)  # another run pushed first: lay tonight's files on its tip
    raise PublishError(
        f"could not push to {remote}/{branch} after {attempts} attempts; the artifacts are "
        "kept with the workflow run: re-run this job to merge them"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m twinbench.nightly.publish", description=__doc__
    )
    parser.add_argument("repo", type=Path, help="a clone whose remote holds the results branch")
    parser.add_argument("artifacts", type=Path, help="the folder download-artifact filled")
    parser.add_argument("--message", required=True, help="the commit message")
    parser.add_argument("--remote", default="origin")
    parser.add_argument("--branch", default="results")
    args = parser.parse_args(argv)
    try:
        print(publish(args.repo, args.artifacts, args.message, args.remote, args.branch))
    except (PublishError, GitError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
