"""The PyTorch twin of zoo/lstm.py: embedding, one batch-first LSTM layer, a head on the last
step; bias_hh_l0 frozen (zoo/lstm.py says why)."""

from __future__ import annotations

import torch
from torch import nn

from twinbench.zoo.lstm import CONFIG, LSTMConfig


class LSTMClassifier(nn.Module):
    """PyTorch twin: embedding, one batch-first LSTM layer, linear head on the last step."""

    def __init__(self, config: LSTMConfig) -> None:
        super().__init__()
        self.embedding = nn.Embedding(config.vocab_size, config.embed_dim)
        self.lstm = nn.LSTM(config.embed_dim, config.hidden, batch_first=True)
        # Frozen: Keras has one bias where PyTorch has two, trained with the same gradient, so
        # training both would move their sum at twice Keras' rate (module docstring).
        self.lstm.bias_hh_l0.requires_grad_(False)
        self.head = nn.Linear(config.hidden, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, seq_len) int64 token ids -> (batch, num_classes) logits."""
        outputs, _ = self.lstm(self.embedding(x))  # (batch, seq_len, hidden)
        return self.head(outputs[:, -1])  # the last time step, like Keras' return_sequences=False


def build_torch(seed: int, config: LSTMConfig = CONFIG) -> LSTMClassifier:
    """float32 module on the CPU whose weights depend only on `seed`."""
    # fork_rng: seeding must not move the caller's global RNG (devices=[]: CPU state only).
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LSTMClassifier(config).float()
