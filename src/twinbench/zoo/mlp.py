"""mlp: 784 -> 512 -> 512 -> 10 with ReLU, logits out; once per framework plus the transfer.

PyTorch module attributes and Keras layer names are the same ("fc1", "fc2", "head"), so a
PyTorch tensor name such as "fc1.weight" says which Keras layer holds its counterpart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from twinbench.zoo.spec import ModelSpec, import_keras_for
from twinbench.zoo.transfer import WeightPair, dense_pairs

if TYPE_CHECKING:
    import keras


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
    keras = import_keras_for(dtype)
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
    return [
        *dense_pairs(keras_model, "fc1"),
        *dense_pairs(keras_model, "fc2"),
        *dense_pairs(keras_model, "head"),
    ]


SPEC = ModelSpec(
    name="mlp",
    input_shape=(CONFIG.in_features,),
    num_classes=CONFIG.num_classes,
    build_torch=build_torch,
    build_keras=build_keras,
    weight_map=weight_map,
)
