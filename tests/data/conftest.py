"""Fixtures for labelloop.data tests: tiny images written with Pillow into tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import pytest
from PIL import Image


class ImageWriter(Protocol):
    """Writes a small random image under tmp_path and returns its path."""

    def __call__(
        self,
        relpath: str,
        *,
        width: int = 4,
        height: int = 3,
        mode: str = "L",
        fmt: str = "PNG",
        seed: int = 0,
    ) -> Path: ...


def random_image(width: int, height: int, mode: str, seed: int) -> Image.Image:
    """A reproducible random image; different seeds give different pixels."""
    bands = len(Image.new(mode, (1, 1)).getbands())
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(height, width, bands), dtype=np.uint8)
    return Image.fromarray(pixels[..., 0] if bands == 1 else pixels).convert(mode)


@pytest.fixture
def write_image(tmp_path: Path) -> ImageWriter:
    """An :class:`ImageWriter` rooted at tmp_path."""

    def write(
        relpath: str,
        *,
        width: int = 4,
        height: int = 3,
        mode: str = "L",
        fmt: str = "PNG",
        seed: int = 0,
    ) -> Path:
        path = tmp_path / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        random_image(width, height, mode, seed).save(path, format=fmt)
        return path

    return write
