"""Framework runners. Each is imported only when one of its cases runs (TF/torch are heavy)."""

from __future__ import annotations

import importlib

from twinbench.runners.base import Runner

_RUNNERS = {
    "keras": ("twinbench.runners.keras_tf", "KerasRunner"),
    "torch": ("twinbench.runners.torch_eager", "TorchRunner"),
}


def load_runner(framework: str) -> Runner:
    """A fresh runner for `framework` ("keras" or "torch")."""
    module_name, class_name = _RUNNERS[framework]
    runner: Runner = getattr(importlib.import_module(module_name), class_name)()
    return runner
