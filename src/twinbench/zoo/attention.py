"""attention: the pre-norm transformer block of gpt.py and transformer.py, once per framework.

A block is x + attn(ln1(x)), then x + proj(gelu(fc(ln2(x)))) (nanoGPT's Block); the two models
differ only in the causal mask and the GELU form, which are arguments here. PyTorch's
`blocks.{i}.<part>` is Keras layer `block{i}_<part>`.

PyTorch's attention is four nn.Linear (query, key, value, out); Keras' MultiHeadAttention keeps
the heads on an axis of their own: query/key/value kernel (d_model, heads, head_dim) and bias
(heads, head_dim), output kernel (heads, head_dim, d_model). Those need a reshape besides the
transpose, which transfer.py's `Layout` (an axis permutation) cannot say: hence `HeadSplit`.

The PyTorch blocks (SelfAttention, Block, TokenBlocks) are in torch_twins/attention.py.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from twinbench.zoo.spec import import_keras
from twinbench.zoo.transfer import DENSE_KERNEL, Layout


class Sizes(Protocol):
    """What the blocks and their trunk need of a model's config (GPTConfig, TransformerConfig)."""

    @property
    def vocab_size(self) -> int: ...
    @property
    def seq_len(self) -> int: ...
    @property
    def n_layers(self) -> int: ...

    @property
    def d_model(self) -> int: ...
    @property
    def n_heads(self) -> int: ...
    @property
    def d_ff(self) -> int: ...
    @property
    def ln_eps(self) -> float: ...


def keras_block(x: Any, i: int, config: Sizes, dtype: str, causal: bool, gelu: str) -> Any:
    """Block `i` in Keras, layer by layer as Block.forward; `gelu` as Block's."""
    keras, c = import_keras(), config
    layers = keras.layers
    activation = functools.partial(keras.activations.gelu, approximate=gelu == "tanh")

    def norm(name: str) -> Any:
        return layers.LayerNormalization(epsilon=c.ln_eps, name=name, dtype=dtype)

    h = norm(f"block{i}_ln1")(x)
    attn = layers.MultiHeadAttention(
        c.n_heads, c.d_model // c.n_heads, name=f"block{i}_attn", dtype=dtype
    )
    x = layers.Add(name=f"block{i}_add1", dtype=dtype)([x, attn(h, h, use_causal_mask=causal)])
    h = norm(f"block{i}_ln2")(x)
    h = layers.Dense(c.d_ff, activation=activation, name=f"block{i}_fc", dtype=dtype)(h)
    h = layers.Dense(c.d_model, name=f"block{i}_proj", dtype=dtype)(h)
    return layers.Add(name=f"block{i}_add2", dtype=dtype)([x, h])


@functools.cache
def position_embedding() -> Any:
    """Keras layer adding a learned (seq_len, d_model) table: PyTorch's wpe(arange(seq_len))."""
    layer: Any = import_keras().layers.Layer

    class PositionEmbedding(layer):
        def build(self, input_shape: tuple[int, ...]) -> None:
            self.embeddings = self.add_weight(shape=input_shape[1:], name="embeddings")

        def call(self, x: Any) -> Any:
            return x + self.embeddings

    return PositionEmbedding


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


def block_pairs(keras_model: Any, i: int, heads: int) -> list[Pair]:
    """Every PyTorch tensor of block `i` with its Keras variable, explicitly."""
    get, t, k = keras_model.get_layer, f"blocks.{i}", f"block{i}"
    attn = get(f"{k}_attn")
    qkv_kernel = HeadSplit(DENSE_KERNEL, axis=1, heads=heads)  # (out, in) -> (in, heads, hd)
    qkv_bias = HeadSplit(None, axis=0, heads=heads)  # (out,) -> (heads, hd)
    out_kernel = HeadSplit(DENSE_KERNEL, axis=0, heads=heads)  # (out, in) -> (heads, hd, out)
    return [
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
