"""The PyTorch side of zoo/conv.py: seeded construction with random BatchNorm statistics,
shared by the image models' twins (cnn, resnet, resnet50)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch
from torch import nn

Model = TypeVar("Model", bound=nn.Module)


def build_with_random_batchnorm(seed: int, make: Callable[[], Model]) -> Model:
    """float32 `make()` on the CPU whose weights and BatchNorm statistics depend only on `seed`."""
    # fork_rng: seeding must not move the caller's global RNG (devices=[]: CPU state only).
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = make()
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                randomise_batchnorm(module)
    return model.float()


def randomise_batchnorm(bn: nn.BatchNorm2d) -> None:
    """Seeded, distinct gamma/beta/mean/var: the 1/0/0/1 defaults would hide a swap."""
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.normal_(0.0, 0.2)
        bn.get_buffer("running_mean").normal_(0.0, 0.2)
        bn.get_buffer("running_var").uniform_(0.5, 1.5)  # a variance: positive
