"""resnet (full size): ResNet-50 at 224x224 in torchvision's layout, once per framework.

torchvision's resnet50 (v1.5): 7x7 stride-2 stem conv-BatchNorm-ReLU, 3x3 stride-2 max pool,
four stages of 3, 4, 6 and 3 Bottleneck blocks (1x1 reduce, 3x3 with the stage's stride, 1x1
expand to 4x the width; each conv followed by BatchNorm, ReLU after the sum with the shortcut),
a 1x1 conv + BatchNorm projection shortcut where the shape changes, global average pool, and a
dense head to 1000 classes. PyTorch tensor names are torchvision's ("layer2.0.downsample.1.
running_var", "fc.weight"), 25,557,032 parameters; Keras layer names are the same module paths.

Padding as in resnet.py: PyTorch pads kernel // 2 on every side; Keras' "same" with stride 2
pads bottom/right only, so the Keras twin pads explicitly (ZeroPadding2D) and convolves
"valid". The max pool pads with -inf in PyTorch and with zeros here: its inputs come out of a
ReLU, so they are >= 0 and a zero never wins over a real value: the same maximum.

The parity proof and the unit tests run REDUCED: this code at 64x64 with narrow stages and one
or two blocks each (identity and projection shortcuts, stride-1 and stride-2 blocks alike).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twinbench.zoo.conv import keras_conv_bn, to_keras_layout
from twinbench.zoo.spec import ModelSpec, TorchBuilder, import_keras_for
from twinbench.zoo.transfer import WeightPair, conv_bn_pairs, dense_pairs

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class ResNet50Config:
    """Sizes and BatchNorm settings; the defaults are torchvision's resnet50."""

    image_size: int = 224  # square input images (ImageNet sized)
    in_channels: int = 3  # RGB
    widths: tuple[int, ...] = (64, 128, 256, 512)  # bottleneck width per stage; stem: the first
    blocks: tuple[int, ...] = (3, 4, 6, 3)  # Bottleneck blocks per stage
    expansion: int = 4  # a block's output is expansion x its width
    num_classes: int = 1000  # logits out, no softmax: both losses take logits
    # PyTorch convention; Keras' BatchNormalization gets 1 - m (see cnn.py).
    bn_momentum: float = 0.1
    bn_eps: float = 1e-5  # PyTorch's default, also given to Keras (whose default is 1e-3)


CONFIG = ResNet50Config()
# Narrow stages, not below 16 (resnet.py: TF's oneDNN crashed on 8-channel stride-2 1x1 convs).
REDUCED = ResNet50Config(
    image_size=64, widths=(16, 32, 64, 128), blocks=(2, 1, 1, 1), num_classes=10
)


@dataclass(frozen=True)
class BlockPlan:
    """One Bottleneck block: where it sits and what it does to the shape."""

    name: str  # module path in PyTorch and Keras layer-name prefix, e.g. "layer2.0"
    c_in: int  # input channels
    width: int  # channels of the 1x1 reduce and the 3x3 conv
    c_out: int  # output channels (expansion x width)
    stride: int  # 2 halves the resolution (first block of stages 2-4), else 1

    @property
    def projects(self) -> bool:
        """Whether the shortcut needs a 1x1 conv + BatchNorm (torchvision's `downsample`)."""
        return self.stride != 1 or self.c_in != self.c_out


def block_plan(config: ResNet50Config = CONFIG) -> list[BlockPlan]:
    """Every Bottleneck block in order; both twins are built from this one list."""
    plan, channels = [], config.widths[0]
    for s, (width, count) in enumerate(zip(config.widths, config.blocks, strict=True), start=1):
        for b in range(count):
            stride = 2 if s > 1 and b == 0 else 1  # the stem and max pool already reduced 4x
            plan.append(
                BlockPlan(f"layer{s}.{b}", channels, width, width * config.expansion, stride)
            )
            channels = width * config.expansion
    return plan


def conv_bn_names(config: ResNet50Config = CONFIG) -> list[tuple[str, str]]:
    """(conv, BatchNorm) module paths of every conv, in torchvision's names."""
    names = [("conv1", "bn1")]
    for block in block_plan(config):
        names += [(f"{block.name}.conv{i}", f"{block.name}.bn{i}") for i in (1, 2, 3)]
        if block.projects:
            names.append((f"{block.name}.downsample.0", f"{block.name}.downsample.1"))
    return names


# The PyTorch twin lives in torch_twins/resnet50.py: importing this module imports no torch.
TWIN = "twinbench.zoo.torch_twins.resnet50:build_torch"


def build_keras(dtype: str = "float32", config: ResNet50Config = CONFIG) -> keras.Model:
    """Keras twin (functional, channels-last), built on an Input so weights exist for `transfer`."""
    keras = import_keras_for(dtype)
    c, layers = config, keras.layers

    def conv_bn(x: Any, conv: str, bn: str, channels: int, kernel: int, stride: int) -> Any:
        return keras_conv_bn(x, (conv, bn), (channels, kernel, stride), c, dtype)

    def relu(x: Any, name: str) -> Any:
        return layers.ReLU(name=name, dtype=dtype)(x)

    def bottleneck(x: Any, p: BlockPlan) -> Any:
        """Bottleneck.forward, layer by layer."""
        n = p.name
        h = relu(conv_bn(x, f"{n}.conv1", f"{n}.bn1", p.width, 1, 1), f"{n}.relu1")
        h = relu(conv_bn(h, f"{n}.conv2", f"{n}.bn2", p.width, 3, p.stride), f"{n}.relu2")
        h = conv_bn(h, f"{n}.conv3", f"{n}.bn3", p.c_out, 1, 1)
        if p.projects:
            x = conv_bn(x, f"{n}.downsample.0", f"{n}.downsample.1", p.c_out, 1, p.stride)
        return relu(layers.Add(name=f"{n}.add", dtype=dtype)([h, x]), f"{n}.relu3")

    images = keras.Input(shape=(c.image_size, c.image_size, c.in_channels), dtype=dtype)
    x = relu(conv_bn(images, "conv1", "bn1", c.widths[0], 7, 2), "relu")
    x = layers.ZeroPadding2D(1, name="maxpool.pad", dtype=dtype)(x)  # zeros: inputs are >= 0
    x = layers.MaxPooling2D(3, 2, name="maxpool", dtype=dtype)(x)
    for plan in block_plan(c):
        x = bottleneck(x, plan)
    x = layers.GlobalAveragePooling2D(name="avgpool", dtype=dtype)(x)
    logits = layers.Dense(c.num_classes, name="fc", dtype=dtype)(x)
    return keras.Model(images, logits, name="resnet50")


def weight_map(keras_model: keras.Model, config: ResNet50Config = CONFIG) -> list[WeightPair]:
    """Every PyTorch tensor of the model with its Keras variable, explicitly."""
    pairs: list[WeightPair] = []
    for conv_name, bn_name in conv_bn_names(config):
        pairs += conv_bn_pairs(keras_model, conv_name, bn_name)
    return [*pairs, *dense_pairs(keras_model, "fc")]


def spec(config: ResNet50Config, proof_spec: ModelSpec | None = None) -> ModelSpec:
    """The ModelSpec of ResNet-50's code at `config`."""
    return ModelSpec(
        name="resnet",
        input_shape=(config.in_channels, config.image_size, config.image_size),
        num_classes=config.num_classes,
        build_torch=TorchBuilder(TWIN, config=config),
        build_keras=functools.partial(build_keras, config=config),
        weight_map=functools.partial(weight_map, config=config),
        to_keras_layout=to_keras_layout,
        proof_spec=proof_spec,
    )


REDUCED_SPEC = spec(REDUCED)
# Proven at REDUCED: the same code; proving 25.6 M parameters in float64 on a CPU takes minutes.
SPEC = spec(CONFIG, proof_spec=REDUCED_SPEC)
