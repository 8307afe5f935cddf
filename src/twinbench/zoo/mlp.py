"""mlp: 784 -> 512 -> 512 -> 10 with ReLU, logits out; the Keras twin and the transfer here,
the PyTorch twin in torch_twins/mlp.py.

PyTorch module attributes and Keras layer names are the same ("fc1", "fc2", "head"), so a
PyTorch tensor name such as "fc1.weight" says which Keras layer holds its counterpart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from twinbench.zoo.spec import ModelSpec, TorchBuilder, import_keras_for
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


# The PyTorch twin lives in torch_twins/mlp.py: importing this module imports no torch.
build_torch = TorchBuilder("twinbench.zoo.torch_twins.mlp:build_torch")


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
