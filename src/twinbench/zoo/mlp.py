"""mlp: 784 -> 512 -> 512 -> 10 with ReLU, logits out; once per framework plus the transfer.

PyTorch module attributes and Keras layer names are the same ("fc1", "fc2", "head"), so a
PyTorch tensor name such as "fc1.weight" says which Keras layer holds its counterpart.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # before the first `import keras`

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from twinbench.zoo.spec import ModelSpec, copy_tensor  # noqa: E402

DTYPES: tuple[str, ...] = ("float32", "float64")

# (PyTorch state_dict name, Keras variable, transpose?) for one tensor of the model.
WeightPair = tuple[str, keras.Variable, bool]


@dataclass(frozen=True)
class MLPConfig:
    """Sizes of the mlp model."""

    in_features: int = 784  # a flattened 28x28 grey image (MNIST-sized)
    hidden: int = 512  # width of both hidden layers
    num_classes: int = 10  # logits out, no softmax: both losses take logits


CONFIG = MLPConfig()


class MLP(nn.Module):
    """PyTorch twin: two ReLU hidden layers and a linear head."""

    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.fc1 = nn.Linear(config.in_features, config.hidden)
        self.fc2 = nn.Linear(config.hidden, config.hidden)
        self.head = nn.Linear(config.hidden, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, in_features) -> (batch, num_classes) logits."""
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.head(x)


def build_torch(seed: int, config: MLPConfig = CONFIG) -> MLP:
    """float32 module on the CPU whose weights depend only on `seed`."""
    # fork_rng: seeding must not move the caller's global RNG (devices=[]: CPU state only).
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MLP(config).float()


def build_keras(dtype: str = "float32", config: MLPConfig = CONFIG) -> keras.Model:
    """Keras twin, built on an Input so its weights exist before `transfer`."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    return keras.Sequential(
        [
            keras.Input(shape=(config.in_features,), dtype=dtype),
            keras.layers.Dense(config.hidden, activation="relu", name="fc1", dtype=dtype),
            keras.layers.Dense(config.hidden, activation="relu", name="fc2", dtype=dtype),
            keras.layers.Dense(config.num_classes, name="head", dtype=dtype),
        ],
        name="mlp",
    )


def weight_map(keras_model: keras.Model) -> list[WeightPair]:
    """Every PyTorch tensor of the model with its Keras variable, explicitly."""
    fc1, fc2, head = (keras_model.get_layer(name) for name in ("fc1", "fc2", "head"))
    # nn.Linear stores its weight as (out, in); keras.layers.Dense its kernel as (in, out).
    return [
        ("fc1.weight", fc1.kernel, True),
        ("fc1.bias", fc1.bias, False),
        ("fc2.weight", fc2.kernel, True),
        ("fc2.bias", fc2.bias, False),
        ("head.weight", head.kernel, True),
        ("head.bias", head.bias, False),
    ]


def load_weights(
    torch_model: nn.Module, keras_model: keras.Model, pairs: list[WeightPair]
) -> None:
    """Copy each pair's PyTorch tensor into its Keras variable, after checking full coverage."""
    state = torch_model.state_dict()
    _check_coverage(state.keys(), keras_model, pairs)
    with torch.no_grad():
        for name, variable, transpose in pairs:
            value = state[name].cpu().numpy()
            copy_tensor(variable, value.T if transpose else value, name)


def transfer(torch_model: nn.Module, keras_model: keras.Model) -> None:
    """Make `keras_model` compute what `torch_model` computes (PyTorch is the source)."""
    load_weights(torch_model, keras_model, weight_map(keras_model))


def keras_weights_as_torch(keras_model: keras.Model) -> dict[str, np.ndarray]:
    """The Keras weights under PyTorch names and layouts: the inverse of `transfer`."""
    return {
        name: np.asarray(variable).T if transpose else np.asarray(variable)
        for name, variable, transpose in weight_map(keras_model)
    }


def to_keras_layout(x: np.ndarray) -> np.ndarray:
    """Flat inputs have the same layout in both frameworks."""
    return x


def _check_coverage(
    torch_names: Iterable[str], keras_model: keras.Model, pairs: list[WeightPair]) -> None:
    """Raise unless every PyTorch tensor and every Keras weight is in `pairs` exactly once."""
    sources = Counter(name for name, _, _ in pairs)
    targets = Counter(variable.path for _, variable, _ in pairs)
    problems = {
        "PyTorch tensors not transferred": sorted(set(torch_names) - set(sources)),
        "unknown PyTorch tensors": sorted(set(sources) - set(torch_names)),
        "PyTorch tensors used twice": sorted(n for n, count in sources.items() if count > 1),
        "Keras weights not assigned": sorted({w.path for w in keras_model.weights} - set(targets)),
        "Keras weights assigned twice": sorted(p for p, count in targets.items() if count > 1),
    }
    found = {what: names for what, names in problems.items() if names}
    if found:
        raise ValueError(f"incomplete weight map for {keras_model.name}: {found}")


SPEC = ModelSpec(
    name="mlp",
    input_shape=(CONFIG.in_features,),
    num_classes=CONFIG.num_classes,
    build_torch=build_torch,
    build_keras=build_keras,
    transfer=transfer,
    to_keras_layout=to_keras_layout,
)
