"""The model zoo: each model once per framework, with its weight transfer.

`zoo/<model>.py` holds a model's config, Keras twin, weight map and ModelSpec and imports no
torch; its PyTorch twin is in `zoo/torch_twins/<model>.py`, imported on the first
`build_torch` call (spec.TorchBuilder), so a Keras worker never loads torch.

Names are listed here so options can be validated without importing TensorFlow or PyTorch;
a model's module is imported only when one of its cases runs. Users' own twins (registered in
their conftest.py, see `twinbench.zoo.user`) are looked up here too, so every caller has one
way to find a model.
"""

from __future__ import annotations

import importlib

from twinbench.core.cases import TINY
from twinbench.zoo.spec import ModelSpec

# (model, size) -> (zoo module, the ModelSpec attribute in it).
_SPECS: dict[tuple[str, str], tuple[str, str]] = {
    ("mlp", "tiny"): ("mlp", "SPEC"),
    ("cnn", "tiny"): ("cnn", "SPEC"),
    ("lstm", "tiny"): ("lstm", "SPEC"),
    ("transformer", "tiny"): ("transformer", "SPEC"),
    ("resnet", "tiny"): ("resnet", "SPEC"),
    ("resnet", "full"): ("resnet50", "SPEC"),  # ResNet-50 at 224x224, torchvision's layout
    ("gpt", "tiny"): ("gpt", "SPEC"),
    ("gpt", "full"): ("gpt", "FULL_SPEC"),  # GPT-2 small's shape: 12 layers, width 768
}
MODEL_NAMES: tuple[str, ...] = tuple(dict.fromkeys(model for model, _ in _SPECS))
# The sizes of each built-in model that has more than tiny.
MODEL_SIZES: dict[str, tuple[str, ...]] = {
    model: tuple(size for m, size in _SPECS if m == model)
    for model in MODEL_NAMES
    if (model, TINY) in _SPECS and len([m for m, _ in _SPECS if m == model]) > 1
}

# Tokens each example of a language model predicts, for throughput in tokens per second
# (tests/test_sizes.py checks them against the configurations); by sized model id.
TOKENS_PER_EXAMPLE: dict[str, int] = {"gpt": 32, "gpt.full": 1024}


def load_spec(name: str, size: str = TINY) -> ModelSpec:
    """The ModelSpec of model `name` at `size` (imports its frameworks)."""
    from twinbench.zoo import user

    if name not in MODEL_NAMES and name in user.registered():
        if size != TINY:
            raise KeyError(f"model {name!r} is a user twin: it has the size tiny only")
        return user.load_user_spec(name)
    if (name, size) not in _SPECS:
        valid = ", ".join((*MODEL_NAMES, *user.registered()))
        raise KeyError(f"unknown model {name!r} at size {size!r}; models: {valid}")
    module_name, attribute = _SPECS[(name, size)]
    spec: ModelSpec = getattr(importlib.import_module(f"twinbench.zoo.{module_name}"), attribute)
    return spec
