"""transformer: a small pre-norm encoder classifying token sequences; once per framework.

int64 token ids (batch, 32) -> token + learned position embedding (64 wide) -> 2 blocks, each
x + attn(ln1(x)), then x + proj(gelu(fc(ln2(x)))) (nanoGPT's Block without the causal mask)
-> ln_f -> mean over the sequence -> head: 10 logits. Exact (erf) GELU and LayerNorm eps 1e-5 on
both sides; no dropout, no attention mask. PyTorch's `blocks.{i}.<part>` is Keras layer
`block{i}_<part>`; every other name is the same on both sides.

PyTorch's attention is four nn.Linear (query, key, value, out); Keras' MultiHeadAttention keeps
the heads on an axis of their own: query/key/value kernel (d_model, heads, head_dim) and bias
(heads, head_dim), output kernel (heads, head_dim, d_model). Those need a reshape besides the
transpose, which transfer.py's `Layout` (an axis permutation) cannot say: hence `HeadSplit` and
this module's `load_weights`, which keep transfer.py's coverage check and shape assert.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from twinbench.zoo.spec import ModelSpec, import_keras
from twinbench.zoo.transfer import DENSE_KERNEL, Layout, check_coverage, copy_tensor

if TYPE_CHECKING:
    import keras

DTYPES: tuple[str, ...] = ("float32", "float64")


@dataclass(frozen=True)
class TransformerConfig:
    """Sizes of the transformer model."""

    vocab_size: int = 1000  # token ids are drawn from range(vocab_size)
    seq_len: int = 32  # tokens per example, also the number of learned positions
    d_model: int = 64  # width of the residual stream and of both embeddings
    n_heads: int = 4  # attention heads, each d_model // n_heads = 16 wide
    n_layers: int = 2  # encoder blocks
    d_ff: int = 256  # hidden width of each block's feed-forward network
    num_classes: int = 10  # logits out, no softmax: both losses take logits
    ln_eps: float = 1e-5  # PyTorch's default, also given to Keras (whose default is 1e-3)


CONFIG = TransformerConfig()


class SelfAttention(nn.Module):
    """Multi-head self-attention over the whole sequence, softmax(q k^T / sqrt(head_dim)) v."""

    def __init__(self, config: TransformerConfig) -> None:
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
        y = F.scaled_dot_product_attention(q, k, v)  # no mask, no dropout
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    """Pre-norm encoder block: x + attn(ln1(x)), then x + proj(gelu(fc(ln2(x))))."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(config.d_model, eps=config.ln_eps)
        self.attn = SelfAttention(config)
        self.ln2 = nn.LayerNorm(config.d_model, eps=config.ln_eps)
        self.fc = nn.Linear(config.d_model, config.d_ff)
        self.proj = nn.Linear(config.d_ff, config.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.proj(F.gelu(self.fc(self.ln2(x)), approximate="none"))


class Transformer(nn.Module):
    """PyTorch twin: int64 token ids (batch, seq_len) -> (batch, num_classes) logits."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.wte = nn.Embedding(config.vocab_size, config.d_model)
        self.wpe = nn.Embedding(config.seq_len, config.d_model)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model, eps=config.ln_eps)
        self.head = nn.Linear(config.d_model, config.num_classes)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(idx.shape[1], device=idx.device)
        x = self.wte(idx) + self.wpe(positions)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x).mean(dim=1))


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


@functools.cache
def _position_embedding() -> Any:
    """Keras layer adding a learned (seq_len, d_model) table: PyTorch's wpe(arange(seq_len))."""
    layer: Any = import_keras().layers.Layer

    class PositionEmbedding(layer):
        def build(self, input_shape: tuple[int, ...]) -> None:
            self.embeddings = self.add_weight(shape=input_shape[1:], name="embeddings")

        def call(self, x: Any) -> Any:
            return x + self.embeddings

    return PositionEmbedding


def build_keras(dtype: str = "float32", config: TransformerConfig = CONFIG) -> keras.Model:
    """Keras twin (functional), built on an int64 Input so its weights exist before `transfer`."""
    keras = import_keras()
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    c, layers = config, keras.layers
    gelu = functools.partial(keras.activations.gelu, approximate=False)  # exact, as PyTorch's

    def norm(name: str) -> Any:
        return layers.LayerNormalization(epsilon=c.ln_eps, name=name, dtype=dtype)

    tokens = keras.Input(shape=(c.seq_len,), dtype="int64", name="tokens")
    x = layers.Embedding(c.vocab_size, c.d_model, name="wte", dtype=dtype)(tokens)
    x = _position_embedding()(name="wpe", dtype=dtype)(x)
    for i in range(c.n_layers):
        h = norm(f"block{i}_ln1")(x)
        attn = layers.MultiHeadAttention(
            c.n_heads, c.d_model // c.n_heads, name=f"block{i}_attn", dtype=dtype
        )
        x = layers.Add(name=f"block{i}_add1", dtype=dtype)([x, attn(h, h)])  # self-attention
        h = norm(f"block{i}_ln2")(x)
        h = layers.Dense(c.d_ff, activation=gelu, name=f"block{i}_fc", dtype=dtype)(h)
        h = layers.Dense(c.d_model, name=f"block{i}_proj", dtype=dtype)(h)
        x = layers.Add(name=f"block{i}_add2", dtype=dtype)([x, h])
    x = layers.GlobalAveragePooling1D(name="mean", dtype=dtype)(norm("ln_f")(x))
    logits = layers.Dense(c.num_classes, name="head", dtype=dtype)(x)
    return keras.Model(tokens, logits, name="transformer")


@dataclass(frozen=True)
class HeadSplit:
    """Layout of a MultiHeadAttention variable: permute as `Layout` says, then split axis
    `axis` into (heads, head_dim) in C order, so feature h * head_dim + j becomes [h, j]."""

    permutation: Layout
    axis: int
    heads: int

    def to_keras(self, value: np.ndarray) -> np.ndarray:
        value = value if self.permutation is None else value.transpose(self.permutation)
        a = self.axis
        return value.reshape(*value.shape[:a], self.heads, -1, *value.shape[a + 1 :])

    def to_torch(self, value: np.ndarray) -> np.ndarray:
        a = self.axis
        merged = value.reshape(*value.shape[:a], -1, *value.shape[a + 2 :])
        perm = self.permutation
        return merged if perm is None else merged.transpose(np.argsort(perm))


# (PyTorch state_dict name, Keras variable, layout): transfer.WeightPair plus HeadSplit.
Pair = tuple[str, Any, Layout | HeadSplit]


def weight_map(keras_model: keras.Model, config: TransformerConfig = CONFIG) -> list[Pair]:
    """Every PyTorch tensor of the model with its Keras variable, explicitly."""
    get, heads = keras_model.get_layer, config.n_heads
    qkv_kernel = HeadSplit(DENSE_KERNEL, axis=1, heads=heads)  # (out, in) -> (in, heads, hd)
    qkv_bias = HeadSplit(None, axis=0, heads=heads)  # (out,) -> (heads, hd)
    out_kernel = HeadSplit(DENSE_KERNEL, axis=0, heads=heads)  # (out, in) -> (heads, hd, out)
    pairs: list[Pair] = [
        ("wte.weight", get("wte").embeddings, None),
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
    return [
        *pairs,
        ("ln_f.weight", get("ln_f").gamma, None),
        ("ln_f.bias", get("ln_f").beta, None),
        ("head.weight", get("head").kernel, DENSE_KERNEL),
        ("head.bias", get("head").bias, None),
    ]


def load_weights(torch_model: nn.Module, keras_model: keras.Model, pairs: Sequence[Pair]) -> None:
    """transfer.load_weights that also takes HeadSplit layouts; same checks."""
    state = torch_model.state_dict()
    # Coverage looks at names and variables only, so the layouts can be left out.
    check_coverage(state.keys(), keras_model, [(n, v, None) for n, v, _ in pairs])
    for name, variable, layout in pairs:
        value = state[name].detach().cpu().numpy()
        if isinstance(layout, HeadSplit):
            value = layout.to_keras(value)
        elif layout is not None:
            value = value.transpose(layout)
        copy_tensor(variable, value, name)


def transfer(torch_model: nn.Module, keras_model: keras.Model) -> None:
    """Make `keras_model` compute what `torch_model` computes (PyTorch is the source)."""
    load_weights(torch_model, keras_model, weight_map(keras_model))


def keras_weights_as_torch(keras_model: keras.Model) -> dict[str, np.ndarray]:
    """The Keras weights under PyTorch names and layouts: the inverse of `transfer`."""
    return {
        name: _as_torch(np.asarray(var), layout) for name, var, layout in weight_map(keras_model)
    }


def _as_torch(value: np.ndarray, layout: Layout | HeadSplit) -> np.ndarray:
    if isinstance(layout, HeadSplit):
        return layout.to_torch(value)
    return value if layout is None else value.transpose(np.argsort(layout))


SPEC = ModelSpec(
    name="transformer",
    input_shape=(CONFIG.seq_len,),
    num_classes=CONFIG.num_classes,
    build_torch=build_torch,
    build_keras=build_keras,
    transfer=transfer,
    weight_map=weight_map,
    vocab_size=CONFIG.vocab_size,
)
