"""Tiny synthetic images for the synthesis tests, built in code so every value is known."""

import numpy as np
import pytest
from numpy.typing import NDArray


def ramp_image(channels: int = 1, height: int = 8, width: int = 8) -> NDArray[np.float32]:
    """``(channels, height, width)`` with values spread over [0.1, 0.6], no two pixels equal."""
    count = channels * height * width
    values = 0.1 + 0.5 * np.arange(count, dtype=np.float64) / (count - 1)
    order = np.random.default_rng(42).permutation(count)
    return values[order].reshape(channels, height, width).astype(np.float32)


def quadrant_image(height: int = 8, width: int = 8) -> NDArray[np.float32]:
    """``(1, height, width)``: the top-left quadrant 1, the rest 0."""
    image = np.zeros((1, height, width), dtype=np.float32)
    image[:, : height // 2, : width // 2] = 1.0
    return image


@pytest.fixture
def ramp() -> NDArray[np.float32]:
    """One 1x8x8 image of distinct mid-range values (no pixel saturates under mild changes)."""
    return ramp_image()


@pytest.fixture
def batch() -> NDArray[np.float32]:
    """``(6, 1, 8, 8)`` random images in [0, 1]."""
    return np.random.default_rng(0).random((6, 1, 8, 8)).astype(np.float32)
