"""Framework runners. Each is imported only when one of its cases runs (TF/torch are heavy)."""

from __future__ import annotations

import importlib
import os

from twinbench.runners.base import Runner

_RUNNERS = {
    "keras": ("twinbench.runners.keras_tf", "KerasRunner"),
    "torch": ("twinbench.runners.pytorch", "TorchRunner"),
}


# Keras on another backend than TensorFlow (chosen by KERAS_BACKEND, one per process).
_KERAS_PORTABLE = ("twinbench.runners.keras_portable", "KerasPortableRunner")


def load_runner(framework: str) -> Runner:
    """A fresh runner for `framework` ("keras" or "torch")."""
    module_name, class_name = _RUNNERS[framework]
    if framework == "keras" and os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        module_name, class_name = _KERAS_PORTABLE
    runner: Runner = getattr(importlib.import_module(module_name), class_name)()
    return runner
