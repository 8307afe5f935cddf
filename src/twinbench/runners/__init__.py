"""Framework runners. Each is imported only when one of its cases runs (TF/torch are heavy)."""

from __future__ import annotations

import importlib
import os

from twinbench.core.cases import keras_backend
from twinbench.runners.base import Runner

_RUNNERS = {
    "keras": ("twinbench.runners.keras_tf", "KerasRunner"),
    "torch": ("twinbench.runners.pytorch", "TorchRunner"),
}


# Keras on another backend than TensorFlow (keras_jax, keras_torch), one backend per process.
_KERAS_PORTABLE = ("twinbench.runners.keras_portable", "KerasPortableRunner")


def load_runner(framework: str) -> Runner:
    """A fresh runner for `framework` (see core.cases.ALL_FRAMEWORKS).

    Keras reads its backend from KERAS_BACKEND once, at import: the case's framework sets it
    here, in a worker process that serves this framework only.
    """
    backend = keras_backend(framework)
    if backend is not None:
        os.environ["KERAS_BACKEND"] = backend
    module_name, class_name = _RUNNERS.get(framework, _KERAS_PORTABLE)
    runner: Runner = getattr(importlib.import_module(module_name), class_name)()
    return runner
