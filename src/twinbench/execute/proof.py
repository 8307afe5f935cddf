"""The parity proof's verdicts, and running it in a process of its own before any timing.

Every model pair, built-in or a user's, is proven identical before it is timed (DESIGN
decisions 1 and 12): `twinbench.execute.parity` runs the checks in a child process, because it
needs PyTorch and TensorFlow side by side, which the pytest process never imports and the
per-framework workers must not share. One child proves every model of a session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass

# A pair passed every check; failed one (not-identical); or the proof could not run (error:
# an import failure, a builder that raises).
IDENTICAL, NOT_IDENTICAL, ERROR = "identical", "not-identical", "error"


@dataclass(frozen=True)
class Proof:
    """The outcome of proving one model at one size."""

    model: str
    size: str
    status: str
    # Which check decided: "weight map", "inference float32", "three SGD steps float64", ...
    check: str = ""
    # What differs: a tensor name, or an output with the index of its largest difference.
    where: str = ""
    largest_difference: float | None = None
    reason: str = ""

    @property
    def summary(self) -> str:
        """One line for the test report and the run file."""
        if self.status == IDENTICAL:
            return f"{self.model} ({self.size}) proven identical"
        detail = (
            f"largest difference {self.largest_difference:.3g} " if self.largest_difference else ""
        )
        where = f"at {self.where} " if self.where else ""
        return f"{self.check}: {detail}{where}- {self.reason}".strip(" -")

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def prove_in_child(
    models: list[tuple[str, str]], timeout_s: float = 1800
) -> dict[tuple[str, str], Proof]:
    """Prove each (model, size) in one child process; a crashed child is an error for all."""
    command = [sys.executable, "-m", "twinbench.execute.parity", json.dumps(models)]
    # On the CPU: parity is a property of the code, and a GPU would prove less (TensorFlow
    # turns TF32 on by default there) while the child took GPU memory from the workers.
    env = {
        **os.environ,
        "KERAS_BACKEND": "tensorflow",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "CUDA_VISIBLE_DEVICES": "",
    }
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return _all(models, f"the parity proof ran past {timeout_s:.0f} s")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-5:]
        return _all(
            models, f"the parity proof process failed (exit {done.returncode}): {' | '.join(tail)}"
        )
    proofs = [Proof(**json.loads(line)) for line in lines]
    return {(p.model, p.size): p for p in proofs}


def _all(models: list[tuple[str, str]], reason: str) -> dict[tuple[str, str], Proof]:
    return {(m, s): Proof(m, s, ERROR, check="proof", reason=reason) for m, s in models}
