"""The PyTorch twin of zoo/gpt.py: a GPT-2-shaped causal language model with a tied head."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from twinbench.zoo.gpt import CONFIG, GPTConfig
from twinbench.zoo.torch_twins.attention import TokenBlocks


class GPT(TokenBlocks):
    """PyTorch twin: (batch, seq_len) token ids -> (batch * seq_len, vocab_size) logits."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__(config, causal=True, gelu="tanh")

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        logits = F.linear(self.features(idx), self.wte.weight)  # tied head: the token embedding
        return logits.reshape(-1, logits.shape[-1])


def build_torch(seed: int, config: GPTConfig = CONFIG) -> GPT:
    """float32 module on the CPU whose weights depend only on `seed`.

    GPT-2's initialisation (normal, std 0.02; positions 0.01), so the tied logits stay a few
    units wide instead of saturating the softmax; biases and LayerNorm parameters are random
    too, where the defaults (0, 1) would hide a swapped tensor.
    """
    # fork_rng: seeding must not move the caller's global RNG (devices=[]: CPU state only).
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        model = GPT(config)
        for module in model.modules():
            if isinstance(module, nn.Linear):
                module.weight.normal_(0.0, 0.02)
                module.bias.normal_(0.0, 0.02)
            elif isinstance(module, nn.LayerNorm):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0.0, 0.2)
        model.wte.weight.normal_(0.0, 0.02)
        model.wpe.weight.normal_(0.0, 0.01)
    return model.float()
