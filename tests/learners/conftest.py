"""Shared fixtures: scikit-learn's 8x8 digits as labelloop images, and tiny random sets."""

from dataclasses import dataclass

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.datasets import load_digits


@dataclass(frozen=True)
class Digits:
    """Digits split into a labeled part and a held-out part.

    Attributes:
        X_train: Images, shape ``(500, 1, 8, 8)``, ``float32`` in ``[0, 1]``.
        y_train: Labels, shape ``(500,)``.
        X_test: Images, shape ``(1297, 1, 8, 8)``.
        y_test: Labels, shape ``(1297,)``.
    """

    X_train: NDArray[np.float32]
    y_train: NDArray[np.int64]
    X_test: NDArray[np.float32]
    y_test: NDArray[np.int64]


@pytest.fixture(scope="session")
def digits() -> Digits:
    """The 1797 digits, shuffled with a fixed seed and split 500 / 1297."""
    data = load_digits()
    X = (data.images / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:500], order[500:]
    return Digits(X[train], y[train], X[test], y[test])


def random_images(n: int, shape: tuple[int, int, int], seed: int = 0) -> NDArray[np.float32]:
    """Uniform noise images in ``[0, 1]``, shape ``(n, *shape)``."""
    return np.random.default_rng(seed).random((n, *shape), dtype=np.float32)
