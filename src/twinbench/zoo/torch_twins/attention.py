"""The PyTorch side of zoo/attention.py: the pre-norm block, its attention and the token trunk
that torch_twins/gpt.py and torch_twins/transformer.py extend."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from twinbench.zoo.attention import Sizes


class SelfAttention(nn.Module):
    """Multi-head self-attention, softmax(q k^T / sqrt(head_dim)) v; `causal`: position t sees
    positions <= t only."""

    def __init__(self, config: Sizes, causal: bool) -> None:
        super().__init__()
        self.n_heads, self.causal, d = config.n_heads, causal, config.d_model
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.out = nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, seq, d_model) -> (batch, seq, d_model)."""
        b, t, d = x.shape
        # Feature h * head_dim + j of a projection is element j of head h (Keras: [..., h, j]).
        q, k, v = (
            p(x).view(b, t, self.n_heads, -1).transpose(1, 2)
            for p in (self.query, self.key, self.value)
        )
        y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)  # no dropout
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    """Pre-norm block: x + attn(ln1(x)), then x + proj(gelu(fc(ln2(x)))).

    `gelu` is F.gelu's `approximate`: "tanh" (GPT-2) or "none" (exact, erf).
    """

    def __init__(self, config: Sizes, causal: bool, gelu: str) -> None:
        super().__init__()
        self.gelu = gelu
        self.ln1 = nn.LayerNorm(config.d_model, eps=config.ln_eps)
        self.attn = SelfAttention(config, causal)
        self.ln2 = nn.LayerNorm(config.d_model, eps=config.ln_eps)
        self.fc = nn.Linear(config.d_model, config.d_ff)
        self.proj = nn.Linear(config.d_ff, config.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.proj(F.gelu(self.fc(self.ln2(x)), approximate=self.gelu))


class TokenBlocks(nn.Module):
    """Token + learned position embedding, `n_layers` blocks, ln_f: the trunk that gpt.GPT and
    transformer.Transformer extend with their heads (parameters wte, wpe, blocks.*, ln_f)."""

    def __init__(self, config: Sizes, causal: bool, gelu: str) -> None:
        super().__init__()
        self.wte = nn.Embedding(config.vocab_size, config.d_model)
        self.wpe = nn.Embedding(config.seq_len, config.d_model)
        self.blocks = nn.ModuleList(Block(config, causal, gelu) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model, eps=config.ln_eps)

    def features(self, idx: torch.Tensor) -> torch.Tensor:
        """(batch, seq_len) int64 token ids -> (batch, seq_len, d_model), after ln_f."""
        positions = torch.arange(idx.shape[1], device=idx.device)
        x = self.wte(idx) + self.wpe(positions)
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)
