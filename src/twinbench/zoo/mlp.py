"""mlp: 784 -> 512 -> 512 -> 10 with ReLU, logits out; once per framework plus the transfer.

PyTorch module attributes and Keras layer names are the same ("fc1", "fc2", "head"), so a
PyTorch tensor name such as "fc1.weight" says which Keras layer holds its counterpart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from twinbench.zoo.spec import ModelSpec, import_keras
from twinbench.zoo.transfer import DENSE_KERNEL, WeightPair, load_weights, weights_as_torch

if TYPE_CHECKING:
    import keras

DTYPES: tuple[str, ...] = ("float32", "float64")


@dataclass(frozen=True)
class MLPConfig:
    """Sizes of the mlp model."""

    in_features: int = 784  # a flattened 28x28 grey image (MNIST-sized)
    hidden: int = 512  # width of both hidden layers
    num_classes: int = 10  # logits out, no softmax: both losses take logits


CONFIG = MLPConfig()


class MLP(nn.Module):
    """PyTorch twin: two ReLU hidden layers and a linear head."""

    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.fc1 = nn.Linear(config.in_features, config.hidden)
        self.fc2 = nn.Linear(config.hidden, config.hidden)
        self.head = nn.Linear(config.hidden, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, in_features) -> (batch, num_classes) logits."""
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.head(x)


def build_torch(seed: int, config: MLPConfig = CONFIG) -> MLP:
    """float32 module on the CPU whose weights depend only on `seed`."""
    # fork_rng: seeding must not move the caller's global RNG (devices=[]: CPU state only).
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MLP(config).float()


def build_keras(dtype: str = "float32", config: MLPConfig = CONFIG) -> keras.Model:
    """Keras twin, built on an Input so its weights exist before `transfer`."""
    keras = import_keras()
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    return keras.Sequential(
        [
            keras.Input(shape=(config.in_features,), dtype=dtype),
            keras.layers.Dense(config.hidden, activation="relu", name="fc1", dtype=dtype),
            keras.layers.Dense(config.hidden, activation="relu", name="fc2", dtype=dtype),
            keras.layers.Dense(config.num_classes, name="head", dtype=dtype),
        ],
        name="mlp",
    )


def weight_map(keras_model: keras.Model) -> list[WeightPair]:
    """Every PyTorch tensor of the model with its Keras variable, explicitly."""
    fc1, fc2, head = (keras_model.get_layer(name) for name in ("fc1", "fc2", "head"))
    return [
        ("fc1.weight", fc1.kernel, DENSE_KERNEL),
        ("fc1.bias", fc1.bias, None),
        ("fc2.weight", fc2.kernel, DENSE_KERNEL),
        ("fc2.bias", fc2.bias, None),
        ("head.weight", head.kernel, DENSE_KERNEL),
        ("head.bias", head.bias, None),
    ]


def transfer(torch_model: nn.Module, keras_model: keras.Model) -> None:
    """Make `keras_model` compute what `torch_model` computes (PyTorch is the source)."""
    load_weights(torch_model, keras_model, weight_map(keras_model))


def keras_weights_as_torch(keras_model: keras.Model) -> dict[str, np.ndarray]:
    """The Keras weights under PyTorch names and layouts: the inverse of `transfer`."""
    return weights_as_torch(weight_map(keras_model))


SPEC = ModelSpec(
    name="mlp",
    input_shape=(CONFIG.in_features,),
    num_classes=CONFIG.num_classes,
    build_torch=build_torch,
    build_keras=build_keras,
    transfer=transfer,
    weight_map=weight_map,
)
