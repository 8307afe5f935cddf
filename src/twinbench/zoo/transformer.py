"""transformer: a small pre-norm encoder classifying token sequences; once per framework.

int64 token ids (batch, 32) -> token + learned position embedding (64 wide) -> 2 blocks, each
x + attn(ln1(x)), then x + proj(gelu(fc(ln2(x)))) (nanoGPT's Block without the causal mask)
-> ln_f -> mean over the sequence -> head: 10 logits. Exact (erf) GELU and LayerNorm eps 1e-5 on
both sides; no dropout, no attention mask. PyTorch's `blocks.{i}.<part>` is Keras layer
`block{i}_<part>`; every other name is the same on both sides.

The block, its attention and the HeadSplit transfer of the attention weights live in
attention.py, shared with gpt.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from twinbench.zoo.attention import Pair, block_pairs, keras_block, position_embedding
from twinbench.zoo.spec import ModelSpec, TorchBuilder, import_keras_for
from twinbench.zoo.transfer import DENSE_KERNEL

if TYPE_CHECKING:
    import keras


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


# The PyTorch twin lives in torch_twins/transformer.py: importing this module imports no torch.
build_torch = TorchBuilder("twinbench.zoo.torch_twins.transformer:build_torch")


def build_keras(dtype: str = "float32", config: TransformerConfig = CONFIG) -> keras.Model:
    """Keras twin (functional), built on an int64 Input so its weights exist before `transfer`."""
    keras = import_keras_for(dtype)
    c, layers = config, keras.layers

    tokens = keras.Input(shape=(c.seq_len,), dtype="int64", name="tokens")
    x = layers.Embedding(c.vocab_size, c.d_model, name="wte", dtype=dtype)(tokens)
    x = position_embedding()(name="wpe", dtype=dtype)(x)
    for i in range(c.n_layers):
        x = keras_block(x, i, c, dtype, causal=False, gelu="none")  # exact, as PyTorch's
    x = layers.LayerNormalization(epsilon=c.ln_eps, name="ln_f", dtype=dtype)(x)
    x = layers.GlobalAveragePooling1D(name="mean", dtype=dtype)(x)
    logits = layers.Dense(c.num_classes, name="head", dtype=dtype)(x)
    return keras.Model(tokens, logits, name="transformer")


def weight_map(keras_model: keras.Model, config: TransformerConfig = CONFIG) -> list[Pair]:
    """Every PyTorch tensor of the model with its Keras variable, explicitly."""
    get = keras_model.get_layer
    pairs: list[Pair] = [
        ("wte.weight", get("wte").embeddings, None),
        ("wpe.weight", get("wpe").embeddings, None),
    ]
    for i in range(config.n_layers):
        pairs += block_pairs(keras_model, i, config.n_heads)
    return [
        *pairs,
        ("ln_f.weight", get("ln_f").gamma, None),
        ("ln_f.bias", get("ln_f").beta, None),
        ("head.weight", get("head").kernel, DENSE_KERNEL),
        ("head.bias", get("head").bias, None),
    ]


SPEC = ModelSpec(
    name="transformer",
    input_shape=(CONFIG.seq_len,),
    num_classes=CONFIG.num_classes,
    build_torch=build_torch,
    build_keras=build_keras,
    weight_map=weight_map,
    vocab_size=CONFIG.vocab_size,
)
