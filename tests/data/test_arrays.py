"""Tests of labelloop.data.arrays.load_images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labelloop.data.arrays import ImageSizeMismatchError, fit_to, load_images
from labelloop.data.images import CorruptImageError, UnsupportedImageFormatError, inspect_image

from .conftest import ImageWriter


def _save(path: Path, pixels: np.ndarray, mode: str | None = None) -> Path:
    image = Image.fromarray(pixels)
    (image if mode is None else image.convert(mode)).save(path)
    return path


def test_grayscale_values_are_scaled_to_unit_range(tmp_path: Path) -> None:
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4) * 23
    first = _save(tmp_path / "a.png", pixels)
    second = _save(tmp_path / "b.png", 255 - pixels)

    X = load_images([first, second])

    assert X.dtype == np.float32
    assert X.shape == (2, 1, 3, 4)
    np.testing.assert_allclose(X[0, 0], pixels / 255, atol=1e-7)
    np.testing.assert_allclose(X[1, 0], (255 - pixels) / 255, atol=1e-7)


def test_rgb_keeps_channel_order(tmp_path: Path) -> None:
    pixels = np.zeros((2, 3, 3), dtype=np.uint8)
    pixels[..., 0], pixels[..., 1], pixels[..., 2] = 255, 128, 0
    path = _save(tmp_path / "a.png", pixels)

    X = load_images([path], channels=3)

    assert X.shape == (1, 3, 2, 3)
    np.testing.assert_allclose(X[0, :, 0, 0], [1.0, 128 / 255, 0.0], atol=1e-7)


def test_rgb_to_grayscale_uses_luma(tmp_path: Path) -> None:
    pixels = np.zeros((2, 2, 3), dtype=np.uint8)
    pixels[..., 0] = 255
    path = _save(tmp_path / "red.png", pixels)

    X = load_images([path], channels=1)

    # ITU-R 601-2 luma: 299/1000 of red.
    np.testing.assert_allclose(X, np.full((1, 1, 2, 2), 76 / 255), atol=1e-7)


def test_grayscale_to_rgb_repeats_the_plane(write_image: ImageWriter) -> None:
    path = write_image("a.png", mode="L", seed=4)

    gray = load_images([path], channels=1)
    rgb = load_images([path], channels=3)

    assert rgb.shape == (1, 3, 3, 4)
    for channel in range(3):
        np.testing.assert_array_equal(rgb[0, channel], gray[0, 0])


def test_alpha_is_dropped(tmp_path: Path) -> None:
    pixels = np.zeros((2, 2, 4), dtype=np.uint8)
    pixels[..., :3] = 200
    path = _save(tmp_path / "clear.png", pixels)

    X = load_images([path], channels=3)

    np.testing.assert_allclose(X, np.full((1, 3, 2, 2), 200 / 255), atol=1e-7)


def test_palette_with_transparency_loads_without_warning(tmp_path: Path) -> None:
    image = Image.new("P", (2, 2), 1)
    image.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    path = tmp_path / "palette.png"
    image.save(path, transparency=bytes([0, 128]))

    X = load_images([path], channels=3)  # a warning would fail: pytest treats it as an error

    np.testing.assert_allclose(X, np.ones((1, 3, 2, 2)), atol=1e-7)


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path: Path) -> None:
    pixels = np.array([[0, 1000, 32768, 65535]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(pixels).save(path)

    X = load_images([path])

    np.testing.assert_allclose(X[0, 0], pixels / 65535, atol=1e-6)


def test_jpeg_loads_close_to_its_pixels(tmp_path: Path) -> None:
    path = tmp_path / "flat.jpg"
    Image.new("L", (8, 8), 100).save(path, quality=95)

    X = load_images([path])

    np.testing.assert_allclose(X, np.full((1, 1, 8, 8), 100 / 255), atol=2 / 255)


def test_resize_gives_requested_height_and_width(write_image: ImageWriter, tmp_path: Path) -> None:
    small = write_image("small.png", width=4, height=3, seed=1)
    flat = tmp_path / "flat.png"
    Image.new("L", (10, 6), 51).save(flat)

    X = load_images([small, flat], size=(2, 5))

    assert X.shape == (2, 1, 2, 5)
    np.testing.assert_allclose(X[1], np.full((1, 2, 5), 0.2), atol=1e-6)


def test_resize_is_bilinear(tmp_path: Path) -> None:
    path = _save(tmp_path / "ramp.png", np.array([[0, 255]], dtype=np.uint8))

    X = load_images([path], size=(1, 4), policy="stretch")

    expected = np.asarray(
        Image.fromarray(np.array([[0, 255]], dtype=np.uint8)).resize(
            (4, 1), Image.Resampling.BILINEAR
        ),
        dtype=np.float32,
    )
    np.testing.assert_allclose(X[0, 0], expected / 255, atol=1e-7)
    assert 0 < X[0, 0, 0, 1] < X[0, 0, 0, 2] < 1


def test_size_mismatch_names_the_first_mismatching_file(write_image: ImageWriter) -> None:
    first = write_image("a.png", width=4, height=3)
    second = write_image("b.png", width=4, height=3, seed=1)
    odd = write_image("c.png", width=5, height=3)
    other_odd = write_image("d.png", width=6, height=3)

    with pytest.raises(ImageSizeMismatchError) as exc_info:
        load_images([first, second, odd, other_odd])

    message = str(exc_info.value)
    assert str(odd) in message
    assert str(other_odd) not in message
    assert "3x5" in message
    assert "size=(height, width)" in message
    assert isinstance(exc_info.value, ValueError)


def test_empty_paths_need_a_size() -> None:
    assert load_images([], size=(4, 5), channels=3).shape == (0, 3, 4, 5)
    with pytest.raises(ValueError, match="size="):
        load_images([])


@pytest.mark.parametrize(
    "kwargs",
    [{"channels": 2}, {"size": (0, 4)}, {"size": (4,)}, {"size": (4.0, 4)}],
)
def test_invalid_arguments_are_refused(write_image: ImageWriter, kwargs: dict[str, object]) -> None:
    path = write_image("a.png")

    with pytest.raises(ValueError, match="must be"):
        load_images([path], **kwargs)  # type: ignore[arg-type]


def test_bad_files_raise_image_errors(write_image: ImageWriter, tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n")
    gif = write_image("a.gif", fmt="GIF", mode="P")

    with pytest.raises(CorruptImageError, match=r"broken\.png"):
        load_images([broken])
    with pytest.raises(UnsupportedImageFormatError, match="GIF"):
        load_images([gif])
    with pytest.raises(FileNotFoundError):
        load_images([tmp_path / "missing.png"])


def _bars(width: int, height: int) -> Image.Image:
    """White with a black left third: where the dark part lands tells what a resize did."""
    pixels = np.full((height, width), 255, dtype=np.uint8)
    pixels[:, : width // 3] = 0
    return Image.fromarray(pixels)


def test_center_crop_keeps_the_aspect_and_cuts_the_overhang() -> None:
    out = np.asarray(fit_to(_bars(300, 100), (50, 50), "center_crop"))
    assert out.shape == (50, 50)
    # Scaled to 150x50, then 50 px cut from each side: the dark third (0-50) is gone.
    assert out[:, 5:].min() > 200
    tall = np.asarray(fit_to(Image.new("L", (100, 300), 9), (50, 50), "center_crop"))
    assert tall.shape == (50, 50) and (tall == 9).all()


def test_letterbox_fits_the_whole_image_and_pads_with_black() -> None:
    out = np.asarray(fit_to(Image.new("L", (300, 100), 200), (60, 60), "letterbox"))
    assert out.shape == (60, 60)
    assert (out[:20] == 0).all() and (out[40:] == 0).all()  # 20 px bars above and below
    assert (out[21:39] == 200).all()


def test_stretch_changes_the_aspect() -> None:
    out = np.asarray(fit_to(_bars(300, 100), (50, 50), "stretch"))
    assert out.shape == (50, 50)
    assert out[:, :15].max() < 60 and out[:, 20:].min() > 200  # the dark third kept, squeezed


def test_mixed_sizes_load_by_the_policy_without_error(tmp_path: Path) -> None:
    paths = []
    for i, (w, h) in enumerate([(300, 200), (180, 360), (64, 64)]):
        paths.append(tmp_path / f"{i}.jpg")
        Image.new("RGB", (w, h), (200, 30, 30)).save(paths[-1])
    for policy in ("center_crop", "letterbox", "stretch"):
        X = load_images(paths, size=(32, 48), channels=3, policy=policy)
        assert X.shape == (3, 3, 32, 48)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    upright = _bars(60, 30)  # wide, dark on the left
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: a viewer rotates it 90 degrees clockwise
    upright.transpose(Image.Transpose.ROTATE_90).save(path, exif=exif, quality=95)
    X = load_images([path])
    assert X.shape == (1, 1, 30, 60)  # upright again: wide
    assert X[0, 0, :, :15].mean() < 0.1 and X[0, 0, :, 25:].mean() > 0.9
    # Its recorded size is the upright one too: boxes drawn on it are in those pixels.
    info = inspect_image(path)
    assert (info.width, info.height) == (60, 30)


def test_cmyk_jpeg_loads_as_rgb(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("RGB", (20, 10), (255, 0, 0)).convert("CMYK").save(path, quality=95)
    X = load_images([path], channels=3)
    assert X.shape == (1, 3, 10, 20)
    red, green, blue = X[0].mean(axis=(1, 2))
    assert red > 0.8 and green < 0.2 and blue < 0.2


@pytest.mark.parametrize("policy", ["letterbox", "center_crop", "stretch"])
@pytest.mark.parametrize("shape", [(90, 160), (160, 90), (40, 40)])
def test_placement_says_where_fit_to_puts_each_pixel(policy: str, shape: tuple[int, int]) -> None:
    """A white rectangle drawn on the image lands where placement maps its corners."""
    from PIL import Image, ImageDraw

    from labelloop.data.arrays import fit_to, placement

    height, width = shape
    image = Image.new("L", (width, height))
    box = (width * 0.3, height * 0.35, width * 0.6, height * 0.7)  # x0, y0, x1, y1
    ImageDraw.Draw(image).rectangle(box, fill=255)
    fitted = np.asarray(fit_to(image, (64, 48), policy)) > 127  # type: ignore[arg-type]
    rows, cols = np.nonzero(fitted)
    where = placement(shape, (64, 48), policy)  # type: ignore[arg-type]
    x0, y0 = where.to_model(box[0], box[1])
    x1, y1 = where.to_model(box[2], box[3])
    assert abs(cols.min() - x0) <= 1.5 and abs(cols.max() - x1) <= 1.5
    assert abs(rows.min() - y0) <= 1.5 and abs(rows.max() - y1) <= 1.5
    assert where.to_original(*where.to_model(7.0, 9.0)) == pytest.approx((7.0, 9.0))
