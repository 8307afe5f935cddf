"""The model zoo: each model once per framework, side by side, with its weight transfer.

Names are listed here so options can be validated without importing TensorFlow or PyTorch;
a model's module is imported only when one of its cases runs.
"""

from __future__ import annotations

import importlib

from twinbench.zoo.spec import ModelSpec

MODEL_NAMES: tuple[str, ...] = ("mlp", "cnn", "lstm", "transformer", "resnet")


def load_spec(name: str) -> ModelSpec:
    """The ModelSpec of zoo model `name` (imports its frameworks)."""
    if name not in MODEL_NAMES:
        raise KeyError(f"unknown model {name!r}; valid: {', '.join(MODEL_NAMES)}")
    module = importlib.import_module(f"twinbench.zoo.{name}")
    spec: ModelSpec = module.SPEC
    return spec
