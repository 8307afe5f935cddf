"""The code a run measured (its git commit), and an interpreter that runs that code again.

A stored baseline saw the machine in another stretch of time than this run, so a slow spell
now reads as a regression (docs/gate.md). Measuring the baseline's own code beside this
run's in one sitting, the way Chromium's Pinpoint confirms an alert, lets both live
through the same spells. For that a run records which code it measured, and this module
runs it again: the commit checked out in a temporary git worktree, started by this same
interpreter (the software stack must not have changed; the gate checks that).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from twinbench.measure.inject import SLOWDOWN_ENV


class CodeUnavailable(Exception):
    """The recorded code cannot be run again here; the message says why."""


def git(root: Path, *args: str) -> str | None:
    """`git -C root args...`'s output, stripped; None when git is missing or fails."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def code_record(root: Path) -> dict[str, Any] | None:
    """The commit checked out under `root`, whether a tracked file differs from it, and the
    slowdown injected for experiments (measure/inject.py); None outside a git repository.

    Untracked files do not count as changes: run files land under results/ in the tree.
    """
    commit = git(root, "rev-parse", "HEAD")
    changes = git(root, "status", "--porcelain", "--untracked-files=no")
    if commit is None or changes is None:
        return None
    return {
        "commit": commit,
        "dirty": bool(changes),
        "injected_slowdown": os.environ.get(SLOWDOWN_ENV) or None,
    }


@contextlib.contextmanager
def interpreter_of(
    code: Mapping[str, Any],
    root: Path,
    paths: Sequence[str] | None = None,
    cwd: Path | None = None,
    python: str = sys.executable,
) -> Iterator[str]:
    """An executable that runs `python` on the code `code` records, for as long as the block.

    `root`: the repository now (its top folder). The tree as it is when it holds that code,
    else a temporary worktree of the commit, removed afterwards. `paths`: import paths into
    the repository (default: this process's, and where twinbench itself lives), each mapped
    into the worktree and put first; `cwd` likewise (default: the current folder). The
    slowdown injected then is injected again, and none when there was none. Raises
    CodeUnavailable for a record with uncommitted changes or a commit `root` lacks.
    """
    if code.get("dirty") or not code.get("commit"):
        raise CodeUnavailable(
            "the baseline was measured with uncommitted changes, which cannot be checked out"
        )
    root = root.resolve()
    now = code_record(root)
    with tempfile.TemporaryDirectory(prefix="twinbench-code-") as folder:
        tree = root
        if now is None or now["commit"] != code["commit"] or now["dirty"]:
            tree = Path(folder) / "tree"
            added = git(root, "worktree", "add", "--detach", "--quiet", str(tree), code["commit"])
            if added is None:
                raise CodeUnavailable(f"commit {code['commit'][:12]} is not in {root}")
        try:
            mapped = [
                _inside(tree, root, Path(p)) for p in (_import_paths() if paths is None else paths)
            ]
            wrapper = Path(folder) / "python"
            wrapper.write_text(
                _wrapper_script(
                    python,
                    [str(p) for p in mapped if p is not None],
                    _inside(tree, root, cwd or Path.cwd()) or Path.cwd(),
                    code.get("injected_slowdown"),
                ),
                encoding="utf-8",
            )
            wrapper.chmod(0o755)
            if tree != root:
                _check_runs_from(tree, root, wrapper)
            yield str(wrapper)
        finally:
            if tree != root:
                git(root, "worktree", "remove", "--force", str(tree))


def _check_runs_from(tree: Path, root: Path, wrapper: Path) -> None:
    """Refuse when the repository holds twinbench's own source but the worktree's interpreter
    would import another copy (an installed, not editable, twinbench): the baseline's commit
    would then run this run's code, and every regression in it would read as the machine's."""
    if not git(root, "ls-files", "--", "*twinbench/__init__.py"):
        return  # twinbench is a dependency here: its version is in the stack, unchanged
    where = "import twinbench; print(twinbench.__file__)"
    done = subprocess.run([str(wrapper), "-c", where], capture_output=True, text=True, check=False)
    imported = Path(done.stdout.strip()).resolve() if done.returncode == 0 else None
    if imported is None or not imported.is_relative_to(tree.resolve()):
        raise CodeUnavailable(
            "this repository holds twinbench's source, but the baseline's commit would run "
            f"{imported or 'no twinbench'} (install twinbench editable: pip install -e .)"
        )


def _import_paths() -> list[str]:
    """This process's import paths, and the folder twinbench is imported from (an editable
    install can import it through a finder instead of a path)."""
    import twinbench

    return [str(Path(twinbench.__file__).resolve().parents[1]), *sys.path]


def _inside(tree: Path, root: Path, path: Path) -> Path | None:
    """`path` moved from `root` into `tree`; None when it lies outside the repository."""
    try:
        return tree / path.resolve().relative_to(root)
    except (ValueError, OSError):
        return None


def _wrapper_script(python: str, paths: list[str], cwd: Path, injected: str | None) -> str:
    """A POSIX shell script that starts `python` on the mapped code (the A/B command's way of
    naming another checkout: an interpreter that sets PYTHONPATH)."""
    injection = (
        f"export {SLOWDOWN_ENV}={shlex.quote(injected)}" if injected else f"unset {SLOWDOWN_ENV}"
    )
    search = ":".join(paths)
    return "\n".join(
        [
            "#!/bin/sh",
            f"cd {shlex.quote(str(cwd))} || exit 1",
            f'PYTHONPATH={shlex.quote(search)}"${{PYTHONPATH:+:$PYTHONPATH}}"',
            "export PYTHONPATH",
            injection,
            f'exec {shlex.quote(python)} "$@"',
            "",
        ]
    )
