"""A Case is one cell of the benchmark matrix; the matrix is built from the user's selection."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

FRAMEWORKS: tuple[str, ...] = ("keras", "torch")
DEVICES: tuple[str, ...] = ("cpu", "cuda")
MODES: tuple[str, ...] = ("infer", "train", "fit")


@dataclass(frozen=True, order=True)
class Case:
    """model x framework x device x mode x batch size."""

    model: str
    framework: str
    device: str
    mode: str
    batch: int

    @property
    def id(self) -> str:
        """Readable pytest id, e.g. ``mlp-keras-cpu-infer-b64``."""
        return f"{self.model}-{self.framework}-{self.device}-{self.mode}-b{self.batch}"

    @property
    def group(self) -> str:
        """The same case without the framework: the pair compared Keras against PyTorch."""
        return f"{self.model}-{self.device}-{self.mode}-b{self.batch}"

    @classmethod
    def from_id(cls, case_id: str) -> Case:
        """Inverse of `id`; raises ValueError on a malformed id."""
        parts = case_id.split("-")
        if len(parts) != 5 or not parts[4].startswith("b") or not parts[4][1:].isdigit():
            raise ValueError(f"not a case id: {case_id!r} (expected model-fw-device-mode-bN)")
        model, framework, device, mode, batch = parts
        return cls(model, framework, device, mode, int(batch[1:]))


@dataclass(frozen=True)
class Selection:
    """What the user asked to run; every field is a non-empty tuple of valid values."""

    models: tuple[str, ...]
    frameworks: tuple[str, ...]
    devices: tuple[str, ...]
    modes: tuple[str, ...]
    batch_sizes: tuple[int, ...]


def build_matrix(selection: Selection) -> list[Case]:
    """All selected cases, grouped by framework then device.

    Frameworks are never interleaved: measured on a 2-core machine, alternating Keras and
    PyTorch calls made their thread pools fight and doubled both times (DESIGN decision 4).
    """
    product = itertools.product(
        selection.frameworks,
        selection.devices,
        selection.models,
        selection.modes,
        selection.batch_sizes,
    )
    return [
        Case(model=m, framework=f, device=d, mode=mode, batch=b) for f, d, m, mode, b in product
    ]


def execution_order(case: Case) -> tuple[str, str]:
    """Sort key that keeps each framework's (and device's) cases in one stretch."""
    return (case.framework, case.device)
