"""The PyTorch twin of zoo/mlp.py: two ReLU hidden layers and a linear head."""

from __future__ import annotations

import torch
from torch import nn

from twinbench.zoo.mlp import CONFIG, MLPConfig


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
