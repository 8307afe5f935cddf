"""gpt: a GPT-2-shaped causal language model, once per framework (nanoGPT's model.py shape).

int64 token ids (batch, seq_len) -> token + learned position embedding -> n_layers pre-norm
blocks, each x + attn(ln1(x)) with a causal mask, then x + proj(gelu(fc(ln2(x)))) -> ln_f ->
logits through the token embedding itself (tied, as GPT-2: the head has no weights of its own).
GELU is GPT-2's tanh approximation on both sides; LayerNorm eps 1e-5; no dropout.

Every position predicts a token, so the logits are (batch * seq_len, vocab_size) on both sides
and the labels one per position (ModelSpec.labels_per_example = seq_len): the runners' loss,
cross-entropy over rows of logits, is then the language model's loss. Labels are synthetic
(random tokens), as every zoo model's are: the arithmetic, not the task, is benchmarked.

Sizes: `tiny` (CONFIG) is 2 blocks 64 wide over 32 tokens, `full` (FULL) GPT-2 small: 12
layers, width 768, 12 heads, 1024 positions, vocabulary 50257, 124.4 M parameters (tied;
163 M if the head had its own). The parity proof and the unit tests run the tiny size: the same
code at a reduced depth and width.

Attention is transformer.py's: four nn.Linear in PyTorch (nanoGPT fuses q, k, v into one
c_attn; kept apart here so each PyTorch tensor has exactly one Keras variable), Keras'
MultiHeadAttention with use_causal_mask=True, transferred through transformer.HeadSplit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.nn import functional as F

from twinbench.zoo.spec import ModelSpec, import_keras
from twinbench.zoo.transfer import DENSE_KERNEL
from twinbench.zoo.transformer import HeadSplit, Pair, _position_embedding

if TYPE_CHECKING:
    import keras

DTYPES: tuple[str, ...] = ("float32", "float64")


@dataclass(frozen=True)
class GPTConfig:
    """Sizes of the gpt model; the defaults are the tiny size."""

    vocab_size: int = 1000  # token ids are drawn from range(vocab_size); also the logits' width
    seq_len: int = 32  # tokens per example, also the number of learned positions
    d_model: int = 64  # width of the residual stream and of both embeddings
    n_heads: int = 4  # attention heads, each d_model // n_heads wide
    n_layers: int = 2  # transformer blocks
    ln_eps: float = 1e-5  # PyTorch's default, also given to Keras (whose default is 1e-3)

    @property
    def d_ff(self) -> int:
        """Hidden width of each block's MLP: four times the width, as in GPT-2."""
        return 4 * self.d_model


CONFIG = GPTConfig()
# GPT-2 small (124 M): the size of real work for GPU runners.
FULL = GPTConfig(vocab_size=50257, seq_len=1024, d_model=768, n_heads=12, n_layers=12)


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position t sees positions <= t only."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_heads, d = config.n_heads, config.d_model
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
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    """Pre-norm block: x + attn(ln1(x)), then x + proj(gelu_tanh(fc(ln2(x))))."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(config.d_model, eps=config.ln_eps)
        self.attn = CausalSelfAttention(config)
        self.ln2 = nn.LayerNorm(config.d_model, eps=config.ln_eps)
        self.fc = nn.Linear(config.d_model, config.d_ff)
        self.proj = nn.Linear(config.d_ff, config.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    """PyTorch twin: (batch, seq_len) token ids -> (batch * seq_len, vocab_size) logits."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.wte = nn.Embedding(config.vocab_size, config.d_model)
        self.wpe = nn.Embedding(config.seq_len, config.d_model)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model, eps=config.ln_eps)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(idx.shape[1], device=idx.device)
        x = self.wte(idx) + self.wpe(positions)
        for block in self.blocks:
            x = block(x)
        logits = F.linear(self.ln_f(x), self.wte.weight)  # tied head: the token embedding
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


@functools.cache
def _tied_logits() -> Any:
    """Keras layer: logits through the token embedding's matrix, rows = batch * positions."""
    keras = import_keras()
    layer: Any = keras.layers.Layer

    class TiedLogits(layer):
        def __init__(self, embedding: Any, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.embedding = embedding  # tracked once: Keras lists each layer's weights once

        def call(self, x: Any) -> Any:
            table = keras.ops.cast(self.embedding.embeddings, x.dtype)  # bf16 under mixed
            logits = keras.ops.matmul(x, keras.ops.transpose(table))
            return keras.ops.reshape(logits, (-1, table.shape[0]))

    return TiedLogits


def build_keras(dtype: str = "float32", config: GPTConfig = CONFIG) -> keras.Model:
    """Keras twin (functional), built on an int64 Input so its weights exist before `transfer`."""
    keras = import_keras()
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    c, layers = config, keras.layers
    gelu = functools.partial(keras.activations.gelu, approximate=True)  # GPT-2's tanh form

    def norm(name: str) -> Any:
        return layers.LayerNormalization(epsilon=c.ln_eps, name=name, dtype=dtype)

    tokens = keras.Input(shape=(c.seq_len,), dtype="int64", name="tokens")
    wte = layers.Embedding(c.vocab_size, c.d_model, name="wte", dtype=dtype)
    x = _position_embedding()(name="wpe", dtype=dtype)(wte(tokens))
    for i in range(c.n_layers):
        h = norm(f"block{i}_ln1")(x)
        attn = layers.MultiHeadAttention(
            c.n_heads, c.d_model // c.n_heads, name=f"block{i}_attn", dtype=dtype
        )
        x = layers.Add(name=f"block{i}_add1", dtype=dtype)([x, attn(h, h, use_causal_mask=True)])
        h = norm(f"block{i}_ln2")(x)
        h = layers.Dense(c.d_ff, activation=gelu, name=f"block{i}_fc", dtype=dtype)(h)
        h = layers.Dense(c.d_model, name=f"block{i}_proj", dtype=dtype)(h)
        x = layers.Add(name=f"block{i}_add2", dtype=dtype)([x, h])
    logits = _tied_logits()(wte, name="logits", dtype=dtype)(norm("ln_f")(x))
    return keras.Model(tokens, logits, name="gpt")


def weight_map(keras_model: keras.Model, config: GPTConfig = CONFIG) -> list[Pair]:
    """Every PyTorch tensor of the model with its Keras variable, explicitly."""
    get, heads = keras_model.get_layer, config.n_heads
    qkv_kernel = HeadSplit(DENSE_KERNEL, axis=1, heads=heads)  # (out, in) -> (in, heads, hd)
    qkv_bias = HeadSplit(None, axis=0, heads=heads)  # (out,) -> (heads, hd)
    out_kernel = HeadSplit(DENSE_KERNEL, axis=0, heads=heads)  # (out, in) -> (heads, hd, out)
    pairs: list[Pair] = [
        ("wte.weight", get("wte").embeddings, None),  # also the head (tied): one tensor
        ("wpe.weight", get("wpe").embeddings, None),
    ]
    for i in range(config.n_layers):
        t, k, attn = f"blocks.{i}", f"block{i}", get(f"block{i}_attn")
        pairs += [
            (f"{t}.ln1.weight", get(f"{k}_ln1").gamma, None),
            (f"{t}.ln1.bias", get(f"{k}_ln1").beta, None),
            (f"{t}.attn.query.weight", attn.query_dense.kernel, qkv_kernel),
            (f"{t}.attn.query.bias", attn.query_dense.bias, qkv_bias),
            (f"{t}.attn.key.weight", attn.key_dense.kernel, qkv_kernel),
            (f"{t}.attn.key.bias", attn.key_dense.bias, qkv_bias),
            (f"{t}.attn.value.weight", attn.value_dense.kernel, qkv_kernel),
            (f"{t}.attn.value.bias", attn.value_dense.bias, qkv_bias),
            (f"{t}.attn.out.weight", attn.output_dense.kernel, out_kernel),
            (f"{t}.attn.out.bias", attn.output_dense.bias, None),
            (f"{t}.ln2.weight", get(f"{k}_ln2").gamma, None),
            (f"{t}.ln2.bias", get(f"{k}_ln2").beta, None),
            (f"{t}.fc.weight", get(f"{k}_fc").kernel, DENSE_KERNEL),
            (f"{t}.fc.bias", get(f"{k}_fc").bias, None),
            (f"{t}.proj.weight", get(f"{k}_proj").kernel, DENSE_KERNEL),
            (f"{t}.proj.bias", get(f"{k}_proj").bias, None),
        ]
    return [*pairs, ("ln_f.weight", get("ln_f").gamma, None), ("ln_f.bias", get("ln_f").beta, None)]


def spec(config: GPTConfig, name: str = "gpt", proof_spec: ModelSpec | None = None) -> ModelSpec:
    """The ModelSpec of the gpt model at `config`."""
    return ModelSpec(
        name=name,
        input_shape=(config.seq_len,),
        num_classes=config.vocab_size,
        build_torch=functools.partial(build_torch, config=config),
        build_keras=functools.partial(build_keras, config=config),
        weight_map=functools.partial(weight_map, config=config),
        vocab_size=config.vocab_size,
        labels_per_example=config.seq_len,
        proof_spec=proof_spec,
    )


SPEC = spec(CONFIG)
# Proven at the tiny size: the same code, minutes faster on a CPU (ModelSpec.proof_spec).
FULL_SPEC = spec(FULL, proof_spec=SPEC)
