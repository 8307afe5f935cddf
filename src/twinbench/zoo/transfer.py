"""Weight transfer PyTorch -> Keras, shared by every zoo model (nanoGPT `from_pretrained` style).

A model module lists its pairs explicitly (PyTorch tensor name, Keras variable, layout); this
module copies them and refuses a map that forgets or repeats a tensor on either side.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

# Axis permutation PyTorch layout -> Keras layout; None keeps the tensor as it is.
Layout = tuple[int, ...] | None
DENSE_KERNEL: Layout = (1, 0)  # nn.Linear (out, in) -> keras.layers.Dense (in, out)
CONV_KERNEL: Layout = (2, 3, 1, 0)  # nn.Conv2d (out, in, kh, kw) -> Conv2D (kh, kw, in, out)


class Reshaping(Protocol):
    """A layout a permutation cannot say, such as attention.HeadSplit: it converts itself."""

    def to_keras(self, value: np.ndarray) -> np.ndarray: ...
    def to_torch(self, value: np.ndarray) -> np.ndarray: ...


# The PyTorch twin's state_dict in NumPy: what a transfer copies from.
TorchWeights = Mapping[str, np.ndarray]

# (PyTorch state_dict name, Keras variable, layout) for one tensor.
WeightPair = tuple[str, Any, Layout | Reshaping]

# PyTorch buffers with no Keras counterpart. BatchNorm's num_batches_tracked only matters
# when momentum is None (cumulative average); with a fixed momentum it never touches numbers.
NO_KERAS_COUNTERPART: tuple[str, ...] = ("num_batches_tracked",)


def copy_tensor(target: Any, value: np.ndarray, what: str) -> None:
    """Assign `value` to a Keras variable after checking the shape, naming the tensor on error."""
    expected = tuple(target.shape)
    if expected != value.shape:
        raise ValueError(f"{what}: Keras expects shape {expected}, got {value.shape}")
    target.assign(value.astype(target.dtype))


def numpy_state(weights: Any) -> Mapping[str, np.ndarray]:
    """The PyTorch twin's tensors as NumPy arrays by state_dict name.

    `weights` is either that mapping already (a Keras worker gets it from a torch-only child
    process, runners/twin_export.py) or a PyTorch module (the parity proof and the tests, which
    import both frameworks); a module is read without this module importing torch.
    """
    if hasattr(weights, "state_dict"):
        return {n: t.detach().cpu().numpy() for n, t in weights.state_dict().items()}
    return weights


def load_weights(weights: Any, keras_model: Any, pairs: Sequence[WeightPair]) -> None:
    """Copy each pair's PyTorch tensor into its Keras variable, after checking full coverage.

    `weights`: TorchWeights, or the PyTorch module itself (see `numpy_state`).
    """
    state = numpy_state(weights)
    check_coverage(state.keys(), keras_model, pairs)
    for name, variable, layout in pairs:
        copy_tensor(variable, to_keras(np.asarray(state[name]), layout), name)


def to_keras(value: np.ndarray, layout: Any) -> np.ndarray:
    """A PyTorch tensor in Keras' layout: a Layout permutation, or a Reshaping's `to_keras`."""
    if hasattr(layout, "to_keras"):
        return np.asarray(layout.to_keras(value))
    return value if layout is None else value.transpose(layout)


def to_torch(value: np.ndarray, layout: Any) -> np.ndarray:
    """The inverse of `to_keras`."""
    if hasattr(layout, "to_torch"):
        return np.asarray(layout.to_torch(value))
    return value if layout is None else value.transpose(np.argsort(layout))


def weights_as_torch(pairs: Sequence[WeightPair]) -> dict[str, np.ndarray]:
    """Keras weights under PyTorch names and layouts: the inverse of `load_weights`."""
    return {name: to_torch(np.asarray(variable), layout) for name, variable, layout in pairs}


def check_coverage(
    torch_names: Iterable[str], keras_model: Any, pairs: Sequence[WeightPair]
) -> None:
    """Raise unless every PyTorch tensor and every Keras weight is used exactly once."""
    wanted = {n for n in torch_names if not n.endswith(NO_KERAS_COUNTERPART)}
    sources = Counter(name for name, _, _ in pairs)
    targets = Counter(variable.path for _, variable, _ in pairs)
    problems = {
        "PyTorch tensors not transferred": sorted(wanted - set(sources)),
        "unknown PyTorch tensors": sorted(set(sources) - wanted),
        "PyTorch tensors used twice": sorted(n for n, count in sources.items() if count > 1),
        "Keras weights not assigned": sorted({w.path for w in keras_model.weights} - set(targets)),
        "Keras weights assigned twice": sorted(p for p, count in targets.items() if count > 1),
    }
    found = {what: names for what, names in problems.items() if names}
    if found:
        raise ValueError(f"incomplete weight map for {keras_model.name}: {found}")


def dense_pairs(keras_model: Any, name: str) -> list[WeightPair]:
    """nn.Linear `name` -> the Dense layer of the same name: kernel transposed, bias as is."""
    dense = keras_model.get_layer(name)
    return [(f"{name}.weight", dense.kernel, DENSE_KERNEL), (f"{name}.bias", dense.bias, None)]


def conv_bn_pairs(keras_model: Any, conv_name: str, bn_name: str) -> list[WeightPair]:
    """nn.Conv2d `conv_name` (no bias) and nn.BatchNorm2d `bn_name` -> the Keras layers of the
    same names: the kernel to Keras' layout, gamma/beta/statistics as they are."""
    conv, bn = keras_model.get_layer(conv_name), keras_model.get_layer(bn_name)
    return [
        (f"{conv_name}.weight", conv.kernel, CONV_KERNEL),
        (f"{bn_name}.weight", bn.gamma, None),
        (f"{bn_name}.bias", bn.beta, None),
        (f"{bn_name}.running_mean", bn.moving_mean, None),
        (f"{bn_name}.running_var", bn.moving_variance, None),
    ]
