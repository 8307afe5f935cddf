"""The PyTorch twin of zoo/resnet.py, NCHW: BasicBlocks built from resnet.block_plan."""

from __future__ import annotations

import torch
from torch import nn

from twinbench.zoo.resnet import CONFIG, BlockPlan, ResNetConfig, block_plan
from twinbench.zoo.torch_twins.conv import build_with_random_batchnorm


class ConvBN(nn.Module):
    """conv (no bias: the BatchNorm adds its own beta) then BatchNorm; no activation."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, config: ResNetConfig
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=config.bn_eps, momentum=config.bn_momentum)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class BasicBlock(nn.Module):
    """relu(conv_bn2(relu(conv_bn1(x))) + shortcut(x)), shortcut the identity or a projection."""

    def __init__(self, plan: BlockPlan, config: ResNetConfig) -> None:
        super().__init__()
        self.conv_bn1 = ConvBN(plan.c_in, plan.c_out, 3, plan.stride, config)
        self.conv_bn2 = ConvBN(plan.c_out, plan.c_out, 3, 1, config)
        self.shortcut = (
            ConvBN(plan.c_in, plan.c_out, 1, plan.stride, config) if plan.projects else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_bn2(torch.relu(self.conv_bn1(x)))
        return torch.relu(out + (x if self.shortcut is None else self.shortcut(x)))


class ResNet(nn.Module):
    """PyTorch twin, NCHW; stage attributes stage1..stage4 hold their blocks as "0", "1"."""

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__()
        c = config
        self.stem = ConvBN(c.in_channels, c.widths[0], 3, 1, c)
        self.stages = [f"stage{s}" for s in range(1, len(c.widths) + 1)]
        for stage in self.stages:
            self.add_module(stage, nn.Sequential())
        for plan in block_plan(c):
            stage, index = plan.name.split(".")
            getattr(self, stage).add_module(index, BasicBlock(plan, c))
        self.head = nn.Linear(c.widths[-1], c.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, 3, 32, 32) -> (batch, num_classes) logits."""
        x = torch.relu(self.stem(x))
        for stage in self.stages:
            x = getattr(self, stage)(x)
        return self.head(x.mean(dim=(2, 3)))  # global average pool


def build_torch(seed: int, config: ResNetConfig = CONFIG) -> ResNet:
    """float32 module on the CPU whose weights and BatchNorm statistics depend only on `seed`."""
    return build_with_random_batchnorm(seed, lambda: ResNet(config))
