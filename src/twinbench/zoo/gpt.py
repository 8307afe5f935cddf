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

The blocks are attention.py's, shared with transformer.py: four nn.Linear in PyTorch (nanoGPT
fuses q, k, v into one c_attn; kept apart here so each PyTorch tensor has exactly one Keras
variable), Keras' MultiHeadAttention with use_causal_mask=True, transferred through HeadSplit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twinbench.zoo.attention import Pair, block_pairs, keras_block, position_embedding
from twinbench.zoo.spec import ModelSpec, TorchBuilder, import_keras, import_keras_for

if TYPE_CHECKING:
    import keras


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


# The PyTorch twin lives in torch_twins/gpt.py: importing this module imports no torch.
TWIN = "twinbench.zoo.torch_twins.gpt:build_torch"


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
    keras = import_keras_for(dtype)
    c, layers = config, keras.layers

    tokens = keras.Input(shape=(c.seq_len,), dtype="int64", name="tokens")
    wte = layers.Embedding(c.vocab_size, c.d_model, name="wte", dtype=dtype)
    x = position_embedding()(name="wpe", dtype=dtype)(wte(tokens))
    for i in range(c.n_layers):
        x = keras_block(x, i, c, dtype, causal=True, gelu="tanh")  # GPT-2's tanh form
    x = layers.LayerNormalization(epsilon=c.ln_eps, name="ln_f", dtype=dtype)(x)
    logits = _tied_logits()(wte, name="logits", dtype=dtype)(x)
    return keras.Model(tokens, logits, name="gpt")


def weight_map(keras_model: keras.Model, config: GPTConfig = CONFIG) -> list[Pair]:
    """Every PyTorch tensor of the model with its Keras variable, explicitly."""
    get = keras_model.get_layer
    pairs: list[Pair] = [
        ("wte.weight", get("wte").embeddings, None),  # also the head (tied): one tensor
        ("wpe.weight", get("wpe").embeddings, None),
    ]
    for i in range(config.n_layers):
        pairs += block_pairs(keras_model, i, config.n_heads)
    return [*pairs, ("ln_f.weight", get("ln_f").gamma, None), ("ln_f.bias", get("ln_f").beta, None)]


def spec(config: GPTConfig, name: str = "gpt", proof_spec: ModelSpec | None = None) -> ModelSpec:
    """The ModelSpec of the gpt model at `config`."""
    return ModelSpec(
        name=name,
        input_shape=(config.seq_len,),
        num_classes=config.vocab_size,
        build_torch=TorchBuilder(TWIN, config=config),
        build_keras=functools.partial(build_keras, config=config),
        weight_map=functools.partial(weight_map, config=config),
        vocab_size=config.vocab_size,
        labels_per_example=config.seq_len,
        proof_spec=proof_spec,
    )


SPEC = spec(CONFIG)
# Proven at the tiny size: the same code, minutes faster on a CPU (ModelSpec.proof_spec).
FULL_SPEC = spec(FULL, proof_spec=SPEC)
