"""resnet: a ResNet-18-style network for 32x32x3 images, sized for CPU benchmarking.

3x3 stem conv-BatchNorm-ReLU, four stages of two BasicBlocks (conv3x3-BN-ReLU-conv3x3-BN, plus
the shortcut, then ReLU), global average pool, dense head. Stages 2-4 halve the resolution with
a stride-2 first conv and a 1x1 stride-2 conv + BatchNorm projection on the shortcut.

PyTorch runs NCHW, Keras channels-last (NHWC). Keras layer names are the PyTorch module paths
("stem.conv", "stage2.0.shortcut.bn", "head"), so a PyTorch tensor name such as
"stage2.0.bn1.running_var" says which Keras layer holds its counterpart.

Padding trap: PyTorch's stride-2 3x3 conv with padding=1 pads one row/column on every side.
Keras' padding="same" with stride 2 on an even size pads max(k - s, 0) = 1 in total and puts it
at the bottom/right only, so the windows sit one pixel apart. The Keras twin therefore pads
explicitly, ZeroPadding2D(1) then padding="valid", which is what PyTorch does. For stride 1
"same" pads 1/1 like PyTorch, and the 1x1 projection pads nothing in either.

BatchNorm: momentum and epsilon matched as in cnn.py; the documented running_var difference
(PyTorch folds in the unbiased batch variance, Keras the biased one) applies to every BatchNorm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twinbench.zoo.conv import keras_conv_bn, to_keras_layout
from twinbench.zoo.spec import ModelSpec, TorchBuilder, import_keras_for
from twinbench.zoo.transfer import WeightPair, conv_bn_pairs, dense_pairs

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class ResNetConfig:
    """Sizes and BatchNorm settings of the resnet model."""

    image_size: int = 32  # square input images (CIFAR-10 sized)
    in_channels: int = 3  # RGB
    # Output channels of stages 1-4 (the stem has the first); ResNet-18 has 64/128/256/512.
    # Not narrower than 16: at 8/16/32/64 TensorFlow 2.21's CPU (oneDNN) training step crashed
    # the process (SIGSEGV/SIGABRT) at batch 1 and 3, in the backward pass of the 1x1 stride-2
    # projection conv with 8 input channels; 16 and more ran at every batch tried.
    widths: tuple[int, ...] = (16, 32, 64, 128)
    blocks_per_stage: int = 2  # BasicBlocks per stage, as in ResNet-18
    num_classes: int = 10  # logits out, no softmax: both losses take logits
    # PyTorch convention; Keras' BatchNormalization gets 1 - m (see cnn.py).
    bn_momentum: float = 0.1
    bn_eps: float = 1e-5  # PyTorch's default, also given to Keras (whose default is 1e-3)


CONFIG = ResNetConfig()


@dataclass(frozen=True)
class BlockPlan:
    """One BasicBlock: where it sits and what it does to the shape."""

    name: str  # module path in PyTorch and Keras layer-name prefix, e.g. "stage2.0"
    c_in: int  # input channels
    c_out: int  # output channels
    stride: int  # 2 halves the resolution (first block of stages 2-4), else 1

    @property
    def projects(self) -> bool:
        """Whether the shortcut needs a 1x1 conv + BatchNorm to match the main path's shape."""
        return self.stride != 1 or self.c_in != self.c_out


def block_plan(config: ResNetConfig = CONFIG) -> list[BlockPlan]:
    """Every BasicBlock in order; both twins are built from this one list."""
    plan, channels = [], config.widths[0]
    for s, width in enumerate(config.widths, start=1):
        for b in range(config.blocks_per_stage):
            stride = 2 if s > 1 and b == 0 else 1  # stage 1 keeps the stem's resolution
            plan.append(BlockPlan(f"stage{s}.{b}", channels, width, stride))
            channels = width
    return plan


def conv_bn_paths(config: ResNetConfig = CONFIG) -> list[str]:
    """Module path of every conv + BatchNorm pair ("stem", "stage2.0.shortcut", ...)."""
    paths = ["stem"]
    for block in block_plan(config):
        paths += [f"{block.name}.conv_bn1", f"{block.name}.conv_bn2"]
        if block.projects:
            paths.append(f"{block.name}.shortcut")
    return paths


# The PyTorch twin lives in torch_twins/resnet.py: importing this module imports no torch.
build_torch = TorchBuilder("twinbench.zoo.torch_twins.resnet:build_torch")


def build_keras(dtype: str = "float32", config: ResNetConfig = CONFIG) -> keras.Model:
    """Keras twin (functional, channels-last), built on an Input so weights exist for `transfer`."""
    keras = import_keras_for(dtype)
    c, layers = config, keras.layers

    def conv_bn(x: Any, path: str, channels: int, kernel: int, stride: int) -> Any:
        return keras_conv_bn(
            x, (f"{path}.conv", f"{path}.bn"), (channels, kernel, stride), c, dtype
        )

    def basic_block(x: Any, plan: BlockPlan) -> Any:
        """relu(conv_bn2(relu(conv_bn1(x))) + shortcut(x)), as BasicBlock.forward."""
        name, width, stride = plan.name, plan.c_out, plan.stride
        h = layers.ReLU(name=f"{name}.relu1", dtype=dtype)(
            conv_bn(x, f"{name}.conv_bn1", width, 3, stride)
        )
        h = conv_bn(h, f"{name}.conv_bn2", width, 3, 1)
        shortcut = conv_bn(x, f"{name}.shortcut", width, 1, stride) if plan.projects else x
        h = layers.Add(name=f"{name}.add", dtype=dtype)([h, shortcut])
        return layers.ReLU(name=f"{name}.relu2", dtype=dtype)(h)

    images = keras.Input(shape=(c.image_size, c.image_size, c.in_channels), dtype=dtype)
    x = layers.ReLU(name="stem.relu", dtype=dtype)(conv_bn(images, "stem", c.widths[0], 3, 1))
    for plan in block_plan(c):
        x = basic_block(x, plan)
    x = layers.GlobalAveragePooling2D(name="gap", dtype=dtype)(x)
    logits = layers.Dense(c.num_classes, name="head", dtype=dtype)(x)
    return keras.Model(images, logits, name="resnet")


def weight_map(keras_model: keras.Model, config: ResNetConfig = CONFIG) -> list[WeightPair]:
    """Every transferred PyTorch tensor of the model with its Keras variable, explicitly."""
    pairs: list[WeightPair] = []
    for path in conv_bn_paths(config):
        pairs += conv_bn_pairs(keras_model, f"{path}.conv", f"{path}.bn")
    return [*pairs, *dense_pairs(keras_model, "head")]


SPEC = ModelSpec(
    name="resnet",
    input_shape=(CONFIG.in_channels, CONFIG.image_size, CONFIG.image_size),
    num_classes=CONFIG.num_classes,
    build_torch=build_torch,
    build_keras=build_keras,
    weight_map=weight_map,
    to_keras_layout=to_keras_layout,
)
