"""Describe a Python environment from outside, and say whether two can be compared (A/B).

The A/B command measures the same cases in worker processes of two interpreters (two venvs
with different framework versions, or two checkouts of the model code). Each is asked, in a
subprocess of its own, which versions it holds; the answer is recorded in the run file, and a
pair is refused when the comparison would be meaningless: twinbench missing on a side, a
different run-file format (its workers would answer in another language), or a framework of
the selection missing on a side.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from typing import Any

# Distributions each framework's workers import (Keras runs on TensorFlow by default).
FRAMEWORK_PACKAGES = {"torch": ("torch",), "keras": ("keras", "tensorflow")}
VERSIONED = ("numpy", "torch", "tensorflow", "keras")

# Run inside the other interpreter: standard library and twinbench's lightest modules only.
_DESCRIBE = f"""
import importlib.metadata as metadata, json, sys
info = {{"python": sys.version.split()[0], "executable": sys.executable}}
for name in {VERSIONED!r}:
    try:
        info[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        info[name] = None
try:
    import twinbench
    from twinbench.results.storage import SCHEMA_VERSION
    info.update(twinbench=twinbench.__version__, schema_version=SCHEMA_VERSION,
                twinbench_path=twinbench.__file__)
except Exception as error:
    info["twinbench_error"] = f"{{type(error).__name__}}: {{error}}"
print(json.dumps(info))
"""


class EnvironmentProblem(RuntimeError):
    """An interpreter that cannot be started or does not answer."""


def describe_environment(python: str, timeout_s: float = 120.0) -> dict[str, Any]:
    """Versions of Python, twinbench, its run-file format and the frameworks in `python`."""
    try:
        done = subprocess.run(
            [python, "-c", _DESCRIBE], capture_output=True, text=True, timeout=timeout_s
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EnvironmentProblem(f"cannot run {python}: {error}") from error
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise EnvironmentProblem(f"{python} failed to describe itself: {tail[0]}")
    described: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return described


def incomparable(a: dict[str, Any], b: dict[str, Any], frameworks: Iterable[str]) -> list[str]:
    """Why environments `a` and `b` cannot be compared on `frameworks`; [] when they can."""
    reasons = []
    for side, info in (("A", a), ("B", b)):
        if "twinbench_error" in info:
            reasons.append(
                f"{side} ({info['executable']}) cannot import twinbench: {info['twinbench_error']}"
            )
        for framework in frameworks:
            missing = [name for name in FRAMEWORK_PACKAGES[framework] if not info.get(name)]
            if missing:
                reasons.append(
                    f"{side} ({info['executable']}) lacks {', '.join(missing)}, "
                    f"needed for {framework} cases"
                )
    if not reasons and a.get("schema_version") != b.get("schema_version"):
        reasons.append(
            f"A writes run-file format {a.get('schema_version')} (twinbench {a.get('twinbench')}),"
            f" B format {b.get('schema_version')} (twinbench {b.get('twinbench')})"
        )
    return reasons


def version_changes(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """What differs between the two environments' versions: name -> (A, B)."""
    names = ("python", "twinbench", *VERSIONED)
    return {name: (a.get(name), b.get(name)) for name in names if a.get(name) != b.get(name)}
