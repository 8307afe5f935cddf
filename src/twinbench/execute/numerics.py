"""Reference outputs: a faster model that computes something else is not progress.

For every model, fixed weights (seed 0) and a fixed batch give reference numbers per framework
and mode, stored as small JSON files under ``fixtures/numerics/<model>.json``: the logits of
one inference step, and the loss of the first training step. Each benchmark case recomputes
its own with the very step it times and reports how far it moved. Refreshing the files is an
explicit option (``--refresh-numerics``), like the performance baseline.

The references are the float32 outputs of each framework's default variant; the other
variants (xla, compile) must reproduce them within the same float32 tolerance, and bf16
mixed precision within a looser one (`TOLERANCES`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twinbench.core.jsonfile import RunFileError, write_json_atomic

FORMAT_VERSION = 1
REFERENCE_BATCH, REFERENCE_SEED = 4, 0
# float32 outputs may move by reordered sums (another BLAS, another device); beyond this they
# compute something else: |current - reference| <= ATOL + RTOL * |reference|, elementwise.
RTOL, ATOL = 1e-3, 1e-4
# Per precision: (rtol, atol). bfloat16 keeps 8 significant bits (relative step 2**-8 = 0.4%);
# the bf16 bound leaves a margin over what bf16 moved the outputs (docs/measurements.md) and
# still catches a model that computes something else (a wrong weight moves logits by tenths).
TOLERANCES: dict[str, tuple[float, float]] = {"fp32": (RTOL, ATOL), "bf16": (5e-2, 1e-2)}


@dataclass(frozen=True)
class NumericsCheck:
    """How one case's reference output compares with the stored one."""

    # "same", "changed" or "no-reference".
    status: str
    # Largest |current - reference| / (atol + rtol * |reference|); > 1 means changed.
    worst: float | None
    # Largest relative error max|current - reference| / max|reference|.
    max_relative_error: float | None
    output: list[Any]


def reference_path(numerics_dir: Path, model: str) -> Path:
    """Where a model's reference outputs live."""
    return numerics_dir / f"{model}.json"


def load_references(path: Path) -> dict[str, Any] | None:
    """A model's reference file, None if absent; a broken file is an error naming it."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise RunFileError(path, f"unreadable reference outputs: {error}") from error
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        raise RunFileError(path, "not a version-1 reference file", "format_version")
    return data


def check_output(
    output: np.ndarray, reference: Any | None, precision: str = "fp32"
) -> NumericsCheck:
    """Compare one output with its stored reference (None: there is none) at the tolerance
    of `precision`."""
    rtol, atol = TOLERANCES[precision]
    current = np.asarray(output, dtype=np.float64)
    listed = current.tolist()
    if reference is None:
        return NumericsCheck("no-reference", None, None, listed)
    expected = np.asarray(reference, dtype=np.float64)
    if expected.shape != current.shape:
        return NumericsCheck("changed", float("inf"), float("inf"), listed)
    error = np.abs(current - expected)
    worst = float(np.max(error / (atol + rtol * np.abs(expected)), initial=0.0))
    scale = float(np.max(np.abs(expected), initial=0.0)) or 1.0
    relative = float(np.max(error, initial=0.0)) / scale
    return NumericsCheck("changed" if worst > 1 else "same", worst, relative, listed)


def stored_output(references: dict[str, Any] | None, framework: str, mode: str) -> Any | None:
    """The stored output of one framework and mode, if any."""
    if references is None:
        return None
    return references.get("outputs", {}).get(framework, {}).get(mode)


def refresh_references(
    numerics_dir: Path, model: str, outputs: dict[tuple[str, str], list[Any]], versions: dict
) -> Path:
    """Store new reference outputs for the (framework, mode) pairs given; keep the others."""
    path = reference_path(numerics_dir, model)
    data = load_references(path) or {
        "format_version": FORMAT_VERSION,
        "model": model,
        "batch": REFERENCE_BATCH,
        "seed": REFERENCE_SEED,
        "outputs": {},
    }
    for (framework, mode), output in outputs.items():
        data["outputs"].setdefault(framework, {})[mode] = output
    data["versions"] = versions
    return write_json_atomic(path, data)
