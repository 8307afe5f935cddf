"""The PyTorch twin of zoo/resnet50.py: torchvision's resnet50 layout, NCHW, from
resnet50.block_plan."""

from __future__ import annotations

import torch
from torch import nn

from twinbench.zoo.resnet50 import CONFIG, BlockPlan, ResNet50Config, block_plan
from twinbench.zoo.torch_twins.conv import build_with_random_batchnorm


class Bottleneck(nn.Module):
    """relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x))))))) + shortcut(x)), torchvision's."""

    def __init__(self, plan: BlockPlan, config: ResNet50Config) -> None:
        super().__init__()
        c, w = config, plan.width
        self.conv1 = nn.Conv2d(plan.c_in, w, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w, eps=c.bn_eps, momentum=c.bn_momentum)
        self.conv2 = nn.Conv2d(w, w, 3, plan.stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(w, eps=c.bn_eps, momentum=c.bn_momentum)
        self.conv3 = nn.Conv2d(w, plan.c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(plan.c_out, eps=c.bn_eps, momentum=c.bn_momentum)
        self.downsample = (
            nn.Sequential(
                nn.Conv2d(plan.c_in, plan.c_out, 1, plan.stride, bias=False),
                nn.BatchNorm2d(plan.c_out, eps=c.bn_eps, momentum=c.bn_momentum),
            )
            if plan.projects
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return torch.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet50(nn.Module):
    """PyTorch twin, NCHW; attributes and state_dict names as torchvision's resnet50."""

    def __init__(self, config: ResNet50Config) -> None:
        super().__init__()
        c = config
        self.conv1 = nn.Conv2d(c.in_channels, c.widths[0], 7, 2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(c.widths[0], eps=c.bn_eps, momentum=c.bn_momentum)
        self.maxpool = nn.MaxPool2d(3, 2, padding=1)
        self.stages = [f"layer{s}" for s in range(1, len(c.widths) + 1)]
        for stage in self.stages:
            self.add_module(stage, nn.Sequential())
        for plan in block_plan(c):
            stage, index = plan.name.split(".")
            getattr(self, stage).add_module(index, Bottleneck(plan, c))
        self.fc = nn.Linear(c.widths[-1] * c.expansion, c.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, 3, size, size) -> (batch, num_classes) logits."""
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        for stage in self.stages:
            x = getattr(self, stage)(x)
        return self.fc(x.mean(dim=(2, 3)))  # global average pool


def build_torch(seed: int, config: ResNet50Config = CONFIG) -> ResNet50:
    """float32 module on the CPU whose weights and BatchNorm statistics depend only on `seed`."""
    return build_with_random_batchnorm(seed, lambda: ResNet50(config))
