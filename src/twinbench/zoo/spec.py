"""What a zoo model must provide so both frameworks run the *same* network."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # heavy imports stay out of module load time
    import keras
    import torch


@dataclass(frozen=True)
class ModelSpec:
    """One model, defined once per framework, plus the weight transfer between them."""

    name: str
    # Shape of one example in PyTorch's layout, e.g. (784,) or (3, 32, 32).
    input_shape: tuple[int, ...]
    # Number of output classes (logits); labels are drawn from range(num_classes).
    num_classes: int
    # seed -> float32 PyTorch module on the CPU. Every parameter *and buffer* (BatchNorm
    # statistics included) is seeded and non-trivial, so a wrongly mapped tensor is visible.
    # The zoo gives a TorchBuilder, so that loading this spec never imports torch.
    build_torch: Callable[[int], torch.nn.Module]
    # dtype ("float32" | "float64") -> built Keras model; weights are overwritten by transfer.
    build_keras: Callable[[str], keras.Model]
    # Copies every PyTorch tensor into the Keras model (explicit transposes, shape assert per
    # tensor). The PyTorch model is the source of truth; it arrives as its state dict in NumPy
    # (transfer.TorchWeights: a Keras worker gets it from a torch-only child process and never
    # imports torch), or as the module itself in the parity proof: read it through
    # transfer.numpy_state, which takes both. None: `weight_map` through transfer.load_weights.
    transfer: Callable[[Any, keras.Model], None] = None  # type: ignore[assignment]
    # PyTorch-layout input batch -> the same batch in Keras' layout (NCHW -> NHWC for images);
    # flat features and token ids have the same layout in both.
    to_keras_layout: Callable[[np.ndarray], np.ndarray] = lambda x: x
    # Token models: inputs are int64 ids in range(vocab_size) of shape (batch, *input_shape);
    # None: inputs are standard-normal floats.
    vocab_size: int | None = None
    # Built Keras model -> [(PyTorch state_dict name, Keras variable, layout)], one pair per
    # tensor (transfer.py's WeightPair); the parity proof checks that it covers every tensor
    # of both models once. Optional when `transfer` is given.
    weight_map: Callable[[keras.Model], Sequence[tuple[str, Any, Any]]] | None = None
    # Labels per example: 1 for a classifier; a language model predicts every position, so
    # its logits are (batch * seq_len, num_classes) and it has seq_len labels per example.
    labels_per_example: int = 1
    # The same code at a reduced depth/width, proven identical in place of this one when
    # proving it at full size would take minutes on a CPU (None: prove this spec itself).
    proof_spec: ModelSpec | None = None

    def __post_init__(self) -> None:
        for builder in ("build_torch", "build_keras"):
            if not callable(getattr(self, builder)):
                raise ValueError(
                    f"model {self.name!r}: {builder} is missing (got {getattr(self, builder)!r}); "
                    "give ModelSpec a function that builds the model (docs/adding-a-model.md)"
                )
        if self.transfer is None and self.weight_map is None:
            raise ValueError(
                f"model {self.name!r}: give ModelSpec a weight_map or a transfer function "
                "(docs/adding-a-model.md shows both)"
            )
        if self.transfer is None:
            object.__setattr__(self, "transfer", self._transfer_by_map)

    def _transfer_by_map(self, weights: Any, keras_model: keras.Model) -> None:
        """The default transfer: every pair of `weight_map`, checked and copied."""
        from twinbench.zoo.transfer import load_weights

        assert self.weight_map is not None
        load_weights(weights, keras_model, self.weight_map(keras_model))


class TorchBuilder:
    """A `build_torch` named as "module:function" and imported on its first call.

    A zoo model keeps its PyTorch twin in `twinbench.zoo.torch_twins`, so the model's own
    module (config, Keras twin, weight map, ModelSpec) imports no torch: a Keras worker loads
    the spec without loading torch's (CUDA) libraries into its framework's process.
    `kwargs` are passed on after the seed (a config, say).
    """

    def __init__(self, target: str, **kwargs: Any) -> None:
        self.target, self.kwargs = target, kwargs

    def __call__(self, seed: int) -> torch.nn.Module:
        module, function = self.target.split(":")
        build: Callable[..., torch.nn.Module] = getattr(importlib.import_module(module), function)
        return build(seed, **self.kwargs)

    def __repr__(self) -> str:
        return f"TorchBuilder({self.target!r}, **{self.kwargs!r})"


# Precisions the zoo builds its Keras twins in (mixed bfloat16 is a policy applied after).
DTYPES: tuple[str, ...] = ("float32", "float64")


def import_keras_for(dtype: str) -> Any:
    """`import_keras`, after refusing a dtype the zoo does not build its models in."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    return import_keras()


def import_keras() -> Any:
    """Keras with the TensorFlow backend unless the user chose another, imported on demand.

    Zoo modules call this inside their Keras builders so a PyTorch worker never imports
    Keras, and with it TensorFlow (seconds of start-up per worker process).
    """
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    return keras


def make_batch(
    spec: ModelSpec, batch: int, seed: int, dtype: str = "float32"
) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic synthetic inputs (PyTorch layout) and integer labels for `spec`.

    Float inputs take `dtype`; token ids stay int64 whatever the model's dtype.
    """
    rng = np.random.default_rng(seed)
    if spec.vocab_size is not None:
        x = rng.integers(0, spec.vocab_size, size=(batch, *spec.input_shape)).astype(np.int64)
    else:
        x = rng.standard_normal((batch, *spec.input_shape)).astype(dtype)
    y = rng.integers(0, spec.num_classes, size=batch * spec.labels_per_example).astype(np.int64)
    return x, y


def use_mixed_bfloat16(model: keras.Model) -> None:
    """Switch every layer (nested ones included) to the "mixed_bfloat16" policy after build.

    The zoo builds float32 layers (explicit dtypes win over a global policy), and the weights
    are transferred in float32; with this policy the variables stay float32 and each layer
    computes in bfloat16, as if it had been built under the policy (Keras mixed precision
    guide). `_flatten_layers` is Keras' own walk over sub-layers (attention projections).
    """
    for layer in model._flatten_layers(include_self=True, recursive=True):
        layer.dtype_policy = import_keras().DTypePolicy("mixed_bfloat16")
