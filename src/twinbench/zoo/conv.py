"""conv: the conv + BatchNorm pieces shared by the image models (cnn, resnet, resnet50).

BatchNorm settings follow PyTorch's convention on both sides: Keras' BatchNormalization gets
momentum 1 - m (it weights the old running value, PyTorch the new batch) and PyTorch's eps.
The PyTorch side (seeded BatchNorm statistics) is torch_twins/conv.py.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from twinbench.zoo.spec import import_keras


class BatchNormSettings(Protocol):
    """What the Keras BatchNorm needs of a model's config."""

    @property
    def bn_momentum(self) -> float: ...
    @property
    def bn_eps(self) -> float: ...


def keras_conv_bn(
    x: Any, names: tuple[str, str], conv: tuple[int, int, int], bn: BatchNormSettings, dtype: str
) -> Any:
    """Keras Conv2D (no bias) -> BatchNorm named `names`; `conv` is (channels, kernel, stride).

    Padded as PyTorch pads a conv with padding=kernel // 2: Keras' "same" with stride 2 would
    pad bottom/right only, so a strided conv wider than 1x1 pads explicitly (ZeroPadding2D)
    and convolves "valid"; stride 1 "same" pads as PyTorch does, and a 1x1 conv pads nothing.
    """
    layers = import_keras().layers
    (conv_name, bn_name), (channels, kernel, stride) = names, conv
    padding = "same"
    if stride > 1 and kernel > 1:
        x = layers.ZeroPadding2D(kernel // 2, name=f"{conv_name}.pad", dtype=dtype)(x)
        padding = "valid"
    x = layers.Conv2D(
        channels, kernel, stride, padding, use_bias=False, name=conv_name, dtype=dtype
    )(x)
    return layers.BatchNormalization(
        momentum=1.0 - bn.bn_momentum, epsilon=bn.bn_eps, name=bn_name, dtype=dtype
    )(x)


def to_keras_layout(x: np.ndarray) -> np.ndarray:
    """NCHW image batch -> NHWC."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))
