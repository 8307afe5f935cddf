"""The PyTorch twin of zoo/cnn.py, NCHW: two conv-BatchNorm-ReLU-maxpool blocks, a dense head."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from twinbench.zoo.cnn import CONFIG, CNNConfig
from twinbench.zoo.torch_twins.conv import build_with_random_batchnorm


class CNN(nn.Module):
    """PyTorch twin, NCHW."""

    def __init__(self, config: CNNConfig) -> None:
        super().__init__()
        c = config
        # No conv bias: the BatchNorm that follows subtracts the mean and adds its own beta.
        self.conv1 = nn.Conv2d(c.in_channels, c.conv1_channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c.conv1_channels, eps=c.bn_eps, momentum=c.bn_momentum)
        self.conv2 = nn.Conv2d(c.conv1_channels, c.conv2_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c.conv2_channels, eps=c.bn_eps, momentum=c.bn_momentum)
        self.head = nn.Linear(c.conv2_channels, c.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, 3, 32, 32) -> (batch, num_classes) logits."""
        x = F.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)
        return self.head(x.mean(dim=(2, 3)))  # global average pool


def build_torch(seed: int, config: CNNConfig = CONFIG) -> CNN:
    """float32 module on the CPU whose weights and BatchNorm statistics depend only on `seed`."""
    return build_with_random_batchnorm(seed, lambda: CNN(config))
