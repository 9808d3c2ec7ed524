"""Tests of labelloop.data.demo: the bundled digits."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from labelloop.data.arrays import load_images
from labelloop.data.demo import DIGITS_CLASSES, digits_arrays, write_digits
from labelloop.data.images import scan_folder

N_DIGITS = 1797


def _written(dest: Path) -> list[Path]:
    return sorted(dest.glob("*/*.png"), key=lambda path: path.name)


def test_digits_arrays_shapes_and_values() -> None:
    X, y = digits_arrays()

    assert X.shape == (N_DIGITS, 1, 8, 8)
    assert X.dtype == np.float32
    assert y.shape == (N_DIGITS,)
    assert y.dtype == np.int64
    bunch = load_digits()
    np.testing.assert_allclose(X[:, 0], bunch.images / 16, atol=1e-7)
    np.testing.assert_array_equal(y, bunch.target)
    assert X.min() == 0.0
    assert X.max() == 1.0
    assert tuple(str(digit) for digit in range(10)) == DIGITS_CLASSES


def test_write_digits_round_trips(tmp_path: Path) -> None:
    dest = tmp_path / "digits"
    X, y = digits_arrays()

    assert write_digits(dest) == dest

    paths = _written(dest)
    assert [path.name for path in paths] == [f"digit_{i:04d}.png" for i in range(N_DIGITS)]
    assert [path.parent.name for path in paths] == [DIGITS_CLASSES[label] for label in y]
    with Image.open(paths[0]) as image:
        assert (image.mode, image.size, image.format) == ("L", (8, 8), "PNG")
    np.testing.assert_allclose(load_images(paths), X, atol=1 / 255)
    # round(v / 16 * 255) for v = 8 is 127.5, rounded half to even.
    with Image.open(paths[0]) as image:
        assert set(np.unique(np.asarray(image))) <= {round(v / 16 * 255) for v in range(17)}


def test_write_digits_is_idempotent_and_repairs(tmp_path: Path) -> None:
    dest = write_digits(tmp_path)
    before = {path: path.read_bytes() for path in _written(dest)}
    damaged = next(iter(before))
    damaged.write_bytes(b"oops")
    untouched = list(before)[1]
    mtime = untouched.stat().st_mtime_ns

    write_digits(dest)

    after = {path: path.read_bytes() for path in _written(dest)}
    assert after == before
    assert untouched.stat().st_mtime_ns == mtime
    assert sorted(path.name for path in dest.iterdir()) == list(DIGITS_CLASSES)


def test_written_digits_are_all_distinct(tmp_path: Path) -> None:
    write_digits(tmp_path)

    scan = scan_folder(tmp_path)

    hashes = {hashlib.sha256(path.read_bytes()).hexdigest() for path in _written(tmp_path)}
    assert len(hashes) == N_DIGITS
    assert scan.summary() == {"unique": N_DIGITS, "duplicate": 0, "rejected": 0}


def test_write_digits_upscales_with_nearest_neighbour(tmp_path: Path) -> None:
    X, _ = digits_arrays()

    write_digits(tmp_path, upscale=3)

    with Image.open(tmp_path / "0" / "digit_0000.png") as image:
        pixels = np.asarray(image)
    assert pixels.shape == (24, 24)
    expected = np.rint(X[0, 0].astype(np.float64) * 255).astype(np.uint8)
    np.testing.assert_array_equal(pixels[::3, ::3], expected)
    np.testing.assert_array_equal(pixels[2::3, 2::3], expected)


@pytest.mark.parametrize("upscale", [0, -1, 2.0, True])
def test_write_digits_refuses_bad_upscale(tmp_path: Path, upscale: object) -> None:
    with pytest.raises(ValueError, match="upscale"):
        write_digits(tmp_path, upscale=upscale)  # type: ignore[arg-type]
    assert not any(tmp_path.iterdir())
