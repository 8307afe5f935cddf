"""The results folder of a stack in the checkout of the `results` branch.

The pinned stack keeps the branch's `results/` (its history is what users compare with). A
pre-release stack gets `stacks/NAME/`, so its nights never mix into the pinned series, and a
copy of the runner baselines, so it is gated against the same runner's baseline as the pinned
stack (the copies are never uploaded: `collect` takes baselines only on a baseline night,
which runs the pinned stack alone). Usage:
``python -m twinbench.nightly.stackdir CHECKOUT STACK [--github-output FILE]``.
Standard library only.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

PINNED = "pinned"


def stack_results(checkout: Path, stack: str) -> Path:
    """Where `stack` reads baselines and writes run files; created, baselines copied in."""
    pinned = checkout / "results"
    if stack == PINNED:
        pinned.mkdir(parents=True, exist_ok=True)
        return pinned
    if not stack.replace("-", "").isalnum():
        raise ValueError(f"stack name {stack!r}: use letters, digits and '-' (e.g. prerelease)")
    folder = checkout / "stacks" / stack
    folder.mkdir(parents=True, exist_ok=True)
    if (pinned / "baselines").is_dir():
        shutil.copytree(pinned / "baselines", folder / "baselines", dirs_exist_ok=True)
    return folder


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m twinbench.nightly.stackdir", description=__doc__
    )
    parser.add_argument("checkout", type=Path, help="the checkout of the results branch")
    parser.add_argument("stack", help=f"{PINNED} or a pre-release stack's name")
    parser.add_argument("--github-output", type=Path, help="append results=PATH to this file")
    args = parser.parse_args(argv)
    try:
        folder = stack_results(args.checkout, args.stack)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"results folder of the {args.stack} stack: {folder}")
    if args.github_output:
        with args.github_output.open("a", encoding="utf-8") as output:
            output.write(f"results={folder}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
