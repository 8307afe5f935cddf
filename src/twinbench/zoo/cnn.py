"""cnn: two conv-BatchNorm-ReLU-maxpool blocks, global average pool, dense head; 32x32x3 in.

PyTorch runs NCHW, Keras channels-last (NHWC). PyTorch module attributes and Keras layer names
are the same ("conv1", "bn1", ..., "head"), so a PyTorch tensor name such as "bn1.running_var"
says which Keras layer holds its counterpart.

Known, documented framework difference (not a bug): in training mode both frameworks normalise
with the *biased* batch variance, so outputs agree, but PyTorch folds the *unbiased* one
(times n/(n-1), n = batch*H*W) into running_var while Keras folds the biased one into
moving_variance. running_mean and moving_mean agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twinbench.zoo.conv import to_keras_layout
from twinbench.zoo.spec import ModelSpec, TorchBuilder, import_keras_for
from twinbench.zoo.transfer import (
    WeightPair,
    conv_bn_pairs,
    dense_pairs,
)

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class CNNConfig:
    """Sizes and BatchNorm settings of the cnn model."""

    image_size: int = 32  # square input images (CIFAR-10 sized)
    in_channels: int = 3  # RGB
    conv1_channels: int = 32  # output channels of the first 3x3 conv
    conv2_channels: int = 64  # output channels of the second 3x3 conv
    num_classes: int = 10  # logits out, no softmax: both losses take logits
    # PyTorch convention, running = (1 - m) * running + m * batch. Keras weights the *old*
    # value instead, so its BatchNormalization gets momentum 1 - m: torch 0.1 <-> keras 0.9.
    bn_momentum: float = 0.1
    bn_eps: float = 1e-5  # PyTorch's default, also given to Keras (whose default is 1e-3)


CONFIG = CNNConfig()


# The PyTorch twin lives in torch_twins/cnn.py: importing this module imports no torch.
build_torch = TorchBuilder("twinbench.zoo.torch_twins.cnn:build_torch")


def build_keras(dtype: str = "float32", config: CNNConfig = CONFIG) -> keras.Model:
    """Keras twin, channels-last, built on an Input so its weights exist before `transfer`."""
    keras = import_keras_for(dtype)
    c, layers = config, keras.layers
    size = c.image_size

    def block(n: int, channels: int) -> list[Any]:
        """conv3x3 (same, no bias) -> BatchNorm -> ReLU -> 2x2 max pool."""
        return [
            layers.Conv2D(
                channels, 3, padding="same", use_bias=False, name=f"conv{n}", dtype=dtype
            ),
            layers.BatchNormalization(
                momentum=1.0 - c.bn_momentum, epsilon=c.bn_eps, name=f"bn{n}", dtype=dtype
            ),
            layers.ReLU(name=f"relu{n}", dtype=dtype),
            layers.MaxPooling2D(2, name=f"pool{n}", dtype=dtype),
        ]

    return keras.Sequential(
        [
            keras.Input(shape=(size, size, c.in_channels), dtype=dtype),
            *block(1, c.conv1_channels),
            *block(2, c.conv2_channels),
            layers.GlobalAveragePooling2D(name="gap", dtype=dtype),
            layers.Dense(c.num_classes, name="head", dtype=dtype),
        ],
        name="cnn",
    )


def weight_map(keras_model: keras.Model) -> list[WeightPair]:
    """Every transferred PyTorch tensor of the model with its Keras variable, explicitly."""
    return [
        *conv_bn_pairs(keras_model, "conv1", "bn1"),
        *conv_bn_pairs(keras_model, "conv2", "bn2"),
        *dense_pairs(keras_model, "head"),
    ]


SPEC = ModelSpec(
    name="cnn",
    input_shape=(CONFIG.in_channels, CONFIG.image_size, CONFIG.image_size),
    num_classes=CONFIG.num_classes,
    build_torch=build_torch,
    build_keras=build_keras,
    weight_map=weight_map,
    to_keras_layout=to_keras_layout,
)
