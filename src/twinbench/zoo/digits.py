"""The fit mode's data: scikit-learn's bundled digits, mapped onto a zoo model's input.

1797 grey 8x8 images ship inside scikit-learn (no download); both frameworks get the same
arrays, standardised once here. Runners read it; no TensorFlow or PyTorch here.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Seeded random split of the 1797 digits: 360 test examples (20%), 1437 to train on.
DIGITS_SIZE, TEST_SIZE = 1797, 360
TRAIN_SIZE = DIGITS_SIZE - TEST_SIZE


@dataclass(frozen=True)
class Digits:
    """The digits split, in PyTorch's layout for one model's input, float32 and int64."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits(input_shape: tuple[int, ...], seed: int) -> Digits:
    """Digits mapped onto `input_shape`, split by `seed`, standardised by training statistics."""
    images, labels = read_bundled_digits()
    x = to_model_input(images / 16.0, input_shape)  # pixel values 0..16 -> [0, 1]
    order = np.random.default_rng(seed).permutation(len(labels))
    test, train = order[:TEST_SIZE], order[TEST_SIZE:]
    # One mean and scale for all pixels (padding included), from the training split only.
    mean, std = float(x[train].mean()), float(x[train].std())
    x = ((x - mean) / std).astype(np.float32)
    return Digits(x_train=x[train], y_train=labels[train], x_test=x[test], y_test=labels[test])


def read_bundled_digits() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 8, 8) float32 images and int64 labels, read from scikit-learn's own data file.

    The file `sklearn.datasets.load_digits` reads, found without importing scikit-learn: the
    import takes seconds and loads a second OpenMP runtime, SciPy and its BLAS into the worker
    that goes on to time the other cases. tests/test_fit.py checks it against load_digits.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the fit mode needs scikit-learn (its digits dataset) installed")
    path = Path(spec.submodule_search_locations[0], "datasets", "data", "digits.csv.gz")
    with gzip.open(path, "rt", encoding="ascii") as rows:
        table = np.loadtxt(rows, delimiter=",", dtype=np.float32)  # 64 pixels, then the label
    if table.shape != (DIGITS_SIZE, 65):
        raise RuntimeError(f"{path}: expected {DIGITS_SIZE} rows of 65 values, got {table.shape}")
    return table[:, :64].reshape(-1, 8, 8), table[:, 64].astype(np.int64)


def to_model_input(images: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """(n, 8, 8) images -> (n, *input_shape), each image zero-padded around its centre.

    Flat features take a square image, flattened (784 = 28 x 28); (C, H, W) takes the image in
    every channel (the cnn: 3 x 32 x 32).
    """
    if len(input_shape) == 1:
        side = math.isqrt(input_shape[0])
        if side * side != input_shape[0]:
            raise ValueError(f"{input_shape[0]} features are not a square image")
        return _pad(images, side, side).reshape(len(images), -1)
    if len(input_shape) == 3:
        channels, height, width = input_shape
        return np.repeat(_pad(images, height, width)[:, None], channels, axis=1)
    raise ValueError(f"no digit layout for input shape {input_shape}")


def _pad(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """Zero-pad (n, h, w) images to (n, height, width), the image centred."""
    _, h, w = images.shape
    if h > height or w > width:
        raise ValueError(f"a {h}x{w} image does not fit {height}x{width}")
    top, left = (height - h) // 2, (width - w) // 2
    return np.pad(images, ((0, 0), (top, height - h - top), (left, width - w - left)))


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Share of examples whose largest logit is the label."""
    return float(np.mean(np.argmax(logits, axis=1) == labels))
