"""The PyTorch twin's weights and FLOPs for a process that must not import torch.

A Keras worker on TensorFlow or JAX needs two things only the PyTorch twin has: its weights
(the source of every transfer) and the FLOPs of a step (counted by torch's FlopCounterMode).
Importing torch for them would load torch's CUDA libraries into the TensorFlow/JAX process on a
GPU runner (issue #13 item 9). So a short-lived child process that imports torch and nothing of
Keras, ``python -m twinbench.runners.twin_export MODEL SIZE MODE BATCH SEED FOLDER``, builds
the twin on the CPU with no GPU visible and writes both to a cache folder:

  FOLDER/<model>.<size>-seed<seed>.npz            the state_dict in NumPy (TorchWeights)
  FOLDER/<model>.<size>-<mode>-b<batch>.flops.json {"flops": int | null}

The worker pool hands every worker one folder for its lifetime (TWIN_CACHE_ENV), so each
(model, size, seed) is exported once per session; a worker started without one uses its own
temporary folder. A process that has torch already (a PyTorch worker, Keras on torch, pytest)
builds in process instead: there is nothing left to keep out.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np

from twinbench.core.cases import Case
from twinbench.zoo.spec import ModelSpec
from twinbench.zoo.transfer import TorchWeights, numpy_state

# The cache folder a worker pool gives its workers; unset: a temporary folder per process.
TWIN_CACHE_ENV = "TWINBENCH_TWIN_CACHE"
# Building GPT-2 small's twin and writing its 500 MB of weights takes seconds; a hung child
# (a user's builder waiting on something) must still end the case with a reason.
EXPORT_TIMEOUT_S = 900
_own_folder: list[Path] = []


def twin_weights(spec: ModelSpec, case: Case, seed: int) -> TorchWeights:
    """The state_dict of `spec`'s PyTorch twin at `seed`, in NumPy, without importing torch
    into a process that has not imported it yet (`case` names the model for the child)."""
    if "torch" in sys.modules:
        return numpy_state(spec.build_torch(seed))
    path = weights_path(cache_folder(), case.model, case.size, seed)
    if not path.exists():
        _export(TwinStep(case.model, case.size, case.mode, case.batch), seed)
    with np.load(path) as archive:
        return {name: archive[name] for name in archive.files}


def step_flops(spec: ModelSpec, case: Case) -> int | None:
    """FLOPs of one step of `case` counted on the PyTorch twin; None if the counter failed
    (its traceback is on stderr). Counted in a torch-only child unless torch is imported."""
    if "torch" in sys.modules:
        from twinbench.measure.flops import count_step_flops

        return count_step_flops(spec, case.mode, case.batch)
    step = TwinStep(case.model, case.size, case.mode, case.batch)
    path = flops_path(cache_folder(), step)
    if not path.exists():
        _export(step, seed=0)  # FLOPs do not depend on the weights' seed
    flops: int | None = json.loads(path.read_text(encoding="utf-8"))["flops"]
    return flops


class TwinStep(NamedTuple):
    """What the child needs to know of a case: the model, its size, and the step it counts."""

    model: str
    size: str
    mode: str
    batch: int


def weights_path(folder: Path, model: str, size: str, seed: int) -> Path:
    return folder / f"{model}.{size}-seed{seed}.npz"


def flops_path(folder: Path, step: TwinStep) -> Path:
    return folder / f"{step.model}.{step.size}-{step.mode}-b{step.batch}.flops.json"


def cache_folder() -> Path:
    """The pool's folder (TWIN_CACHE_ENV), else this process' own, removed when it exits."""
    given = os.environ.get(TWIN_CACHE_ENV)
    if given:
        return Path(given)
    if not _own_folder:
        _own_folder.append(Path(tempfile.mkdtemp(prefix="twinbench-twins-")))
        atexit.register(shutil.rmtree, _own_folder[0], ignore_errors=True)
    return _own_folder[0]


def _export(step: TwinStep, seed: int) -> None:
    """Run the torch-only child for `step` at `seed`; raise with its stderr if it fails."""
    arguments = [*map(str, step), str(seed), str(cache_folder())]
    done = subprocess.run(
        [sys.executable, "-m", "twinbench.runners.twin_export", *arguments],
        capture_output=True,
        text=True,
        timeout=EXPORT_TIMEOUT_S,
        # No GPU visible: the child builds on the CPU and never initialises CUDA.
        env=os.environ | {"CUDA_VISIBLE_DEVICES": ""},
    )
    sys.stderr.write(done.stderr)  # the counter's traceback, if any, for the worker's log
    if done.returncode != 0:
        raise RuntimeError(
            f"exporting the PyTorch twin of {step.model} (size {step.size}, seed {seed}) in a "
            f"torch-only process failed with code {done.returncode}: {done.stderr[-1500:]} -- "
            f"run `python -m twinbench.runners.twin_export {' '.join(arguments)}` to see it all"
        )


def export(step: TwinStep, seed: int, folder: Path) -> None:
    """In the torch-only child: write what is missing of the twin's weights and the FLOPs."""
    from twinbench.measure.flops import count_step_flops
    from twinbench.zoo import load_spec

    spec = load_spec(step.model, step.size)
    weights = weights_path(folder, step.model, step.size, seed)
    if not weights.exists():
        state: dict[str, Any] = dict(numpy_state(spec.build_torch(seed)))
        _write_atomically(weights, lambda handle: np.savez(handle, **state))
    flops_file = flops_path(folder, step)
    if not flops_file.exists():
        try:
            flops: int | None = count_step_flops(spec, step.mode, step.batch)
        except Exception:  # a counter gap must not cost the case: None, reason on stderr
            traceback.print_exc()
            flops = None
        text = json.dumps({"flops": flops}).encode()
        _write_atomically(flops_file, lambda handle: handle.write(text))


def _write_atomically(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write through a private temporary name, then rename: a worker reading the cache while
    another exports the same twin sees the whole file or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    with partial.open("wb") as handle:
        write(handle)
    os.replace(partial, path)


USAGE = (
    "usage: python -m twinbench.runners.twin_export MODEL SIZE MODE BATCH SEED FOLDER "
    "(e.g. mlp tiny infer 2 0 /tmp/twins): writes the PyTorch twin's weights and the step's "
    "FLOPs to FOLDER"
)


def main(argv: list[str] | None = None) -> None:
    """Child entry point: MODEL SIZE MODE BATCH SEED FOLDER."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 6 or not args[3].isdigit() or not args[4].isdigit():
        sys.exit(USAGE)
    model, size, mode, batch, seed, folder = args
    export(TwinStep(model, size, mode, int(batch)), int(seed), Path(folder))


if __name__ == "__main__":
    main()
