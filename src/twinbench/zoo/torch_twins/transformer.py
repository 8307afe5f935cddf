"""The PyTorch twin of zoo/transformer.py: attention blocks over token ids, mean over the
sequence, a dense head."""

from __future__ import annotations

import torch
from torch import nn

from twinbench.zoo.torch_twins.attention import TokenBlocks
from twinbench.zoo.transformer import CONFIG, TransformerConfig


class Transformer(TokenBlocks):
    """PyTorch twin: int64 token ids (batch, seq_len) -> (batch, num_classes) logits."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__(config, causal=False, gelu="none")
        self.head = nn.Linear(config.d_model, config.num_classes)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(idx).mean(dim=1))


def build_torch(seed: int, config: TransformerConfig = CONFIG) -> Transformer:
    """float32 module on the CPU whose weights depend only on `seed`."""
    # fork_rng: seeding must not move the caller's global RNG (devices=[]: CPU state only).
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        model = Transformer(config)
        for ln in (m for m in model.modules() if isinstance(m, nn.LayerNorm)):
            ln.weight.uniform_(0.5, 1.5)  # the 1/0 defaults would hide a swapped LayerNorm
            ln.bias.normal_(0.0, 0.2)
    return model.float()
