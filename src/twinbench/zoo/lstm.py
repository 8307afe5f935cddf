"""lstm: token ids -> embedding -> one LSTM layer (last hidden state) -> dense head.

PyTorch module attributes and Keras layer names are the same ("embedding", "lstm", "head"), so
a PyTorch tensor name such as "lstm.weight_ih_l0" says which Keras layer holds its counterpart.

The transfer traps, checked against the installed sources (PyTorch's nn.LSTM docs, Keras'
keras/src/layers/rnn/lstm.py; versions in docs/measurements.md):
- Gate order: PyTorch stacks its gates (i, f, g, o) along dim 0 of weight_ih_l0 (4H, in),
  weight_hh_l0 (4H, H) and both biases; Keras' LSTMCell splits kernel (in, 4H),
  recurrent_kernel (H, 4H) and bias (4H,) along the last axis as (i, f, c, o): the same order
  (Keras' c is PyTorch's g, the tanh candidate). A plain transpose therefore suffices, no
  reordering of the blocks.
- Biases: PyTorch adds two (bias_ih_l0 + bias_hh_l0), Keras one, so Keras gets their sum. The
  sum cannot be split back, so `keras_weights_as_torch` returns it under the key SUMMED_BIAS.
- Training: the two PyTorch biases receive the same gradient, so with both trainable their sum
  would move twice as far per SGD step as Keras' single bias and the twins' losses would part
  from the second step on. PyTorch's bias_hh_l0 is therefore frozen (seeded, not trained): the
  trained sum bias_ih_l0 + bias_hh_l0 then follows Keras' bias step for step.
- Activations: Keras' defaults, tanh and a true sigmoid for the gates (not hard_sigmoid), as
  in PyTorch. unit_forget_bias only shapes Keras' initial bias, which `transfer` overwrites.
- cuDNN: Keras' LSTM takes its cuDNN kernel only when TensorFlow sees a GPU; on the CPU it runs
  the generic LSTMCell loop above. On a GPU both frameworks use cuDNN's LSTM.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from twinbench.zoo.spec import ModelSpec, TorchBuilder, import_keras_for
from twinbench.zoo.transfer import (
    DENSE_KERNEL,
    WeightPair,
    check_coverage,
    copy_tensor,
    numpy_state,
    to_keras,
    weights_as_torch,
)

if TYPE_CHECKING:
    import keras

# The two PyTorch biases whose sum is Keras' one LSTM bias.
BIAS_SOURCES: tuple[str, ...] = ("lstm.bias_ih_l0", "lstm.bias_hh_l0")
# `keras_weights_as_torch`'s key for Keras' bias: the sum of BIAS_SOURCES, not a state_dict key.
SUMMED_BIAS = "+".join(BIAS_SOURCES)

# (PyTorch state_dict names, Keras variable): the variable receives the sum of the tensors.
SummedPair = tuple[tuple[str, ...], Any]


@dataclass(frozen=True)
class LSTMConfig:
    """Sizes of the lstm model."""

    seq_len: int = 32  # tokens per example
    vocab_size: int = 1000  # token ids are drawn from range(vocab_size)
    embed_dim: int = 64  # width of the embedding, the LSTM's input size
    hidden: int = 128  # LSTM units; only the last time step's hidden state goes on
    num_classes: int = 10  # logits out, no softmax: both losses take logits


CONFIG = LSTMConfig()


# The PyTorch twin lives in torch_twins/lstm.py: importing this module imports no torch.
build_torch = TorchBuilder("twinbench.zoo.torch_twins.lstm:build_torch")


def build_keras(dtype: str = "float32", config: LSTMConfig = CONFIG) -> keras.Model:
    """Keras twin, built on an Input so its weights exist before `transfer`."""
    keras = import_keras_for(dtype)
    c, layers = config, keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=(c.seq_len,), dtype="int64"),  # token ids, whatever `dtype`
            layers.Embedding(c.vocab_size, c.embed_dim, name="embedding", dtype=dtype),
            # Defaults spelled out: they are what makes the cell PyTorch's (module docstring).
            layers.LSTM(
                c.hidden,
                activation="tanh",
                recurrent_activation="sigmoid",
                return_sequences=False,
                name="lstm",
                dtype=dtype,
            ),
            layers.Dense(c.num_classes, name="head", dtype=dtype),
        ],
        name="lstm",
    )


def weight_map(keras_model: keras.Model) -> list[WeightPair]:
    """Every PyTorch tensor copied one to one with its Keras variable, explicitly.

    The two LSTM biases are not here: Keras gets their sum (`summed_bias`).
    """
    embedding, lstm, head = (keras_model.get_layer(n) for n in ("embedding", "lstm", "head"))
    cell = lstm.cell
    return [
        ("embedding.weight", embedding.embeddings, None),  # (vocab, embed) in both
        # (4H, in) -> (in, 4H): the gate blocks (i, f, g|c, o) keep their order (module docstring).
        ("lstm.weight_ih_l0", cell.kernel, DENSE_KERNEL),
        ("lstm.weight_hh_l0", cell.recurrent_kernel, DENSE_KERNEL),  # (4H, H) -> (H, 4H)
        ("head.weight", head.kernel, DENSE_KERNEL),
        ("head.bias", head.bias, None),
    ]


def summed_bias(keras_model: keras.Model) -> SummedPair:
    """Keras' one LSTM bias: z = x W + h U + b with b = bias_ih_l0 + bias_hh_l0."""
    return BIAS_SOURCES, keras_model.get_layer("lstm").cell.bias


def check_full_coverage(
    torch_names: Iterable[str],
    keras_model: keras.Model,
    pairs: list[WeightPair],
    summed: SummedPair,
) -> None:
    """transfer.check_coverage over the pairs plus the summed bias: each tensor used once.

    check_coverage takes one PyTorch tensor per Keras variable, so the summed bias enters it as
    its first source; the other sources leave the PyTorch names after being checked here. One
    of them used again elsewhere then shows up as an unknown tensor, the first as used twice.
    """
    sources, variable = summed
    names = set(torch_names)
    missing = sorted(set(sources) - names)
    if missing or len(set(sources)) != len(sources):
        raise ValueError(f"bad summed sources {sources} for {keras_model.name}: {missing=}")
    check_coverage(names - set(sources[1:]), keras_model, [*pairs, (sources[0], variable, None)])


def load_lstm_weights(
    weights: Any, keras_model: keras.Model, pairs: list[WeightPair], summed: SummedPair
) -> None:
    """transfer.load_weights plus the summed bias, after checking full coverage.

    `weights`: TorchWeights, or the PyTorch module itself (transfer.numpy_state).
    """
    state = numpy_state(weights)
    check_full_coverage(state.keys(), keras_model, pairs, summed)
    for name, variable, layout in pairs:
        copy_tensor(variable, to_keras(np.asarray(state[name]), layout), name)
    sources, variable = summed
    total = sum(np.asarray(state[name]) for name in sources)
    copy_tensor(variable, np.asarray(total), " + ".join(sources))


def transfer(weights: Any, keras_model: keras.Model) -> None:
    """Make `keras_model` compute what the PyTorch twin computes, from its `weights`
    (TorchWeights, or the module itself); PyTorch is the source."""
    load_lstm_weights(weights, keras_model, weight_map(keras_model), summed_bias(keras_model))


def keras_weights_as_torch(keras_model: keras.Model) -> dict[str, np.ndarray]:
    """The Keras weights under PyTorch names and layouts: the inverse of `transfer`.

    Keras' bias is returned whole under SUMMED_BIAS: no split of it into PyTorch's two biases
    is the right one, so compare it with their sum.
    """
    weights = weights_as_torch(weight_map(keras_model))
    weights[SUMMED_BIAS] = np.asarray(summed_bias(keras_model)[1])
    return weights


SPEC = ModelSpec(
    name="lstm",
    input_shape=(CONFIG.seq_len,),
    num_classes=CONFIG.num_classes,
    build_torch=build_torch,
    build_keras=build_keras,
    # No weight_map: Keras' one bias is the sum of two PyTorch tensors, which a one-to-one map
    # cannot say; `transfer` checks the coverage itself (check_full_coverage).
    transfer=transfer,
    vocab_size=CONFIG.vocab_size,
)
