"""Tonight's files of one benchmark job, laid out as on the results branch, for upload.

The job benchmarks with `--results-dir` inside a checkout of the `results` branch (the gate
needs the stored baselines), so that folder holds every past night too. Only what the
checkout does not track is tonight's: the new run files, and, on a night that saves one, the
changed baseline. Uploading just those keeps the artifact small and lets the issue name
tonight's cases only. On the first night there is no checkout: every file is new.

Usage: ``python -m twinbench.nightly.collect CHECKOUT RESULTS_DIR OUT [--baselines]``.
Standard library only.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from twinbench.nightly.git import git


def untracked_or_modified(checkout: Path, folder: Path) -> list[Path]:
    """Files below `folder` that the git checkout at `checkout` does not hold as committed."""
    if not folder.is_dir():
        return []
    everything = sorted(p for p in folder.rglob("*") if p.is_file())
    if not (checkout / ".git").exists():  # first night: the results branch did not exist
        return everything
    listed = git(checkout, "ls-files", "-z", "--others", "--modified", "--", str(folder.resolve()))
    return sorted({checkout / name for name in listed.split("\0") if name})


def collect(checkout: Path, results_dir: Path, out: Path, baselines: bool) -> list[Path]:
    """Copy tonight's run files (and baselines when asked) to `out`; the copies' paths."""
    checkout, results_dir = checkout.resolve(), results_dir.resolve()
    wanted = [results_dir / "history"] + ([results_dir / "baselines"] if baselines else [])
    copied = []
    for folder in wanted:
        for path in untracked_or_modified(checkout, folder):
            target = out / path.resolve().relative_to(checkout)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            copied.append(target)
    return copied


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m twinbench.nightly.collect", description=__doc__
    )
    parser.add_argument("checkout", type=Path, help="the checkout of the results branch")
    parser.add_argument("results_dir", type=Path, help="the --results-dir the benchmarks used")
    parser.add_argument("out", type=Path, help="the folder to upload")
    parser.add_argument("--baselines", action="store_true", help="also tonight's baselines")
    args = parser.parse_args(argv)
    copied = collect(args.checkout, args.results_dir, args.out, args.baselines)
    for path in copied:
        print(f"tonight: {path.relative_to(args.out)}")
    if not copied:
        print("no new run file: the benchmarks wrote none (see the benchmark step's log)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
