"""Each transform changes an image the way its name says, from recorded parameters."""

from typing import get_args

import numpy as np
import pytest
from numpy.typing import NDArray
from pydantic import ValidationError
from scipy.ndimage import correlate1d

from labelloop.synthesis import (
    TRANSFORM_NAMES,
    InvalidParamsError,
    SynthesisInputError,
    TransformName,
    TransformRanges,
    UnknownTransformError,
    apply_transform,
    apply_transform_batch,
    sample_params,
)
from tests.synthesis.conftest import quadrant_image, ramp_image


def test_names_are_sorted_and_match_the_literal() -> None:
    assert tuple(sorted(TRANSFORM_NAMES)) == TRANSFORM_NAMES
    assert get_args(TransformName) == TRANSFORM_NAMES
    assert set(TRANSFORM_NAMES) == {
        "blur",
        "brightness",
        "contrast",
        "crop_zoom",
        "haze",
        "noise",
        "rotation",
    }


def test_brightness_above_one_raises_the_mean_below_one_lowers_it(
    ramp: NDArray[np.float32],
) -> None:
    sunny = apply_transform(ramp, "brightness", {"factor": 1.5})
    dim = apply_transform(ramp, "brightness", {"factor": 0.5})
    assert sunny.mean() > ramp.mean() + 0.1
    assert dim.mean() < ramp.mean() - 0.1
    np.testing.assert_allclose(sunny, ramp * 1.5, rtol=1e-6)


def test_brightness_saturates_at_one(ramp: NDArray[np.float32]) -> None:
    out = apply_transform(ramp, "brightness", {"factor": 5.0})
    assert out.max() == 1.0
    assert out.min() >= 0.5


def test_contrast_scales_the_spread_around_the_mean(ramp: NDArray[np.float32]) -> None:
    low = apply_transform(ramp, "contrast", {"factor": 0.5})
    high = apply_transform(ramp, "contrast", {"factor": 1.5})
    assert low.std() == pytest.approx(0.5 * ramp.std(), rel=1e-4)
    # The darkest pixels clip at 0 under 1.5x, so the spread grows a little less.
    assert 1.4 * ramp.std() < high.std() <= 1.5 * ramp.std()
    assert low.mean() == pytest.approx(ramp.mean(), abs=1e-5)


def test_haze_lowers_contrast_and_fades_toward_the_veil(ramp: NDArray[np.float32]) -> None:
    out = apply_transform(ramp, "haze", {"density": 0.4, "veil": 0.9})
    assert out.std() == pytest.approx(0.6 * ramp.std(), rel=1e-4)
    assert out.mean() == pytest.approx(0.6 * ramp.mean() + 0.4 * 0.9, rel=1e-5)
    assert out.min() > ramp.min()


def test_crop_zoom_keeps_the_shape_and_zooms_into_the_box() -> None:
    image = quadrant_image()
    corner = apply_transform(image, "crop_zoom", {"top": 0, "left": 0, "height": 4, "width": 4})
    assert corner.shape == image.shape
    np.testing.assert_allclose(corner, 1.0, atol=1e-6)
    opposite = apply_transform(image, "crop_zoom", {"top": 4, "left": 4, "height": 4, "width": 4})
    np.testing.assert_allclose(opposite, 0.0, atol=1e-6)


def test_crop_zoom_changes_content_and_the_full_box_is_the_identity(
    ramp: NDArray[np.float32],
) -> None:
    zoomed = apply_transform(ramp, "crop_zoom", {"top": 1, "left": 2, "height": 5, "width": 6})
    assert zoomed.shape == ramp.shape
    assert np.abs(zoomed - ramp).max() > 0.05
    whole = apply_transform(ramp, "crop_zoom", {"top": 0, "left": 0, "height": 8, "width": 8})
    np.testing.assert_allclose(whole, ramp, atol=1e-6)


def test_crop_box_outside_the_image_is_rejected(ramp: NDArray[np.float32]) -> None:
    with pytest.raises(InvalidParamsError, match="leaves the 8x8 image"):
        apply_transform(ramp, "crop_zoom", {"top": 4, "left": 0, "height": 6, "width": 4})


def test_rotation_by_180_twice_is_the_identity_and_once_flips_both_axes(
    ramp: NDArray[np.float32],
) -> None:
    once = apply_transform(ramp, "rotation", {"angle": 180.0})
    twice = apply_transform(once, "rotation", {"angle": 180.0})
    np.testing.assert_allclose(once, ramp[:, ::-1, ::-1], atol=1e-6)
    np.testing.assert_allclose(twice, ramp, atol=1e-6)


def test_rotation_turns_counter_clockwise(ramp: NDArray[np.float32]) -> None:
    out = apply_transform(ramp, "rotation", {"angle": 90.0})
    np.testing.assert_allclose(out, np.rot90(ramp, k=1, axes=(1, 2)), atol=1e-5)


def test_rotation_fills_uncovered_corners_with_the_border_mean() -> None:
    image = np.full((1, 8, 8), 0.3, dtype=np.float32)
    image[:, 3:5, 3:5] = 0.9
    out = apply_transform(image, "rotation", {"angle": 45.0})
    np.testing.assert_allclose(out[:, 0, 0], 0.3, atol=1e-6)


def test_blur_matches_a_reference_gaussian_filter(ramp: NDArray[np.float32]) -> None:
    sigma, size = 0.8, 5
    offsets = np.arange(size) - size // 2
    taps = np.exp(-0.5 * (offsets / sigma) ** 2)
    taps /= taps.sum()
    expected = correlate1d(ramp.astype(np.float64), taps, axis=2, mode="mirror")
    expected = correlate1d(expected, taps, axis=1, mode="mirror")
    out = apply_transform(ramp, "blur", {"sigma": sigma, "kernel_size": size})
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert out.std() < 0.8 * ramp.std()


def test_blur_rejects_an_even_or_too_large_kernel(ramp: NDArray[np.float32]) -> None:
    with pytest.raises(InvalidParamsError, match="odd kernel_size"):
        apply_transform(ramp, "blur", {"sigma": 1.0, "kernel_size": 4})
    with pytest.raises(InvalidParamsError, match="odd kernel_size"):
        apply_transform(ramp, "blur", {"sigma": 1.0, "kernel_size": 17})


def test_noise_is_seeded_and_has_the_recorded_spread() -> None:
    grey = np.full((1, 64, 64), 0.5, dtype=np.float32)
    first = apply_transform(grey, "noise", {"sigma": 0.05, "seed": 7})
    again = apply_transform(grey, "noise", {"sigma": 0.05, "seed": 7})
    other = apply_transform(grey, "noise", {"sigma": 0.05, "seed": 8})
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert (first - grey).std() == pytest.approx(0.05, rel=0.05)


@pytest.mark.parametrize("transform", TRANSFORM_NAMES)
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 8, 8), (3, 13, 9), (1, 32, 40)])
def test_every_transform_handles_channels_and_sizes(
    transform: str, shape: tuple[int, int, int]
) -> None:
    image = ramp_image(*shape)
    rng = np.random.default_rng(3)
    for _ in range(5):
        out = apply_transform(image, transform, sample_params(transform, rng, shape))
        assert out.shape == shape
        assert out.dtype == np.float32
        assert out.min() >= 0.0
        assert out.max() <= 1.0


@pytest.mark.parametrize("transform", TRANSFORM_NAMES)
def test_sampled_parameters_change_the_image(transform: str, ramp: NDArray[np.float32]) -> None:
    params = sample_params(transform, np.random.default_rng(0), (1, 8, 8))
    assert np.abs(apply_transform(ramp, transform, params) - ramp).max() > 1e-3


def test_sampled_parameters_stay_in_their_ranges() -> None:
    ranges = TransformRanges(brightness=(1.2, 1.3), rotation=(10.0, 20.0), crop_scale=(0.5, 0.7))
    rng = np.random.default_rng(0)
    for _ in range(200):
        assert 1.2 <= sample_params("brightness", rng, (1, 8, 8), ranges)["factor"] <= 1.3
        assert 10.0 <= sample_params("rotation", rng, (1, 8, 8), ranges)["angle"] <= 20.0
        box = sample_params("crop_zoom", rng, (1, 8, 8), ranges)
        assert 4 <= box["height"] <= 6
        assert 4 <= box["width"] <= 6
        assert 0 <= box["top"] <= 8 - box["height"]
        assert 0 <= box["left"] <= 8 - box["width"]


def test_crop_and_blur_stay_valid_on_8x8_at_the_extremes_of_their_ranges() -> None:
    ranges = TransformRanges(crop_scale=(0.01, 1.0), blur_sigma=(5.0, 10.0))
    rng = np.random.default_rng(1)
    image = ramp_image()
    boxes = [sample_params("crop_zoom", rng, (1, 8, 8), ranges) for _ in range(200)]
    assert {box["height"] for box in boxes} == set(range(2, 9))
    blurs = [sample_params("blur", rng, (1, 8, 8), ranges) for _ in range(20)]
    assert {blur["kernel_size"] for blur in blurs} == {15}
    apply_transform_batch(np.stack([image] * 200), "crop_zoom", boxes)
    apply_transform_batch(np.stack([image] * 20), "blur", blurs)


def test_batch_equals_one_image_at_a_time(batch: NDArray[np.float32]) -> None:
    rng = np.random.default_rng(5)
    for transform in TRANSFORM_NAMES:
        params = [sample_params(transform, rng, (1, 8, 8)) for _ in batch]
        together = apply_transform_batch(batch, transform, params)
        for image, p, out in zip(batch, params, together, strict=True):
            np.testing.assert_array_equal(apply_transform(image, transform, p), out)


def test_unknown_transform_and_bad_parameters_are_named(ramp: NDArray[np.float32]) -> None:
    with pytest.raises(UnknownTransformError, match="choose one of blur"):
        apply_transform(ramp, "sepia", {})
    with pytest.raises(InvalidParamsError, match=r"takes parameters \['factor'\]"):
        apply_transform(ramp, "brightness", {"factr": 1.2})
    with pytest.raises(InvalidParamsError, match="must be an int"):
        apply_transform(ramp, "crop_zoom", {"top": 0.5, "left": 0, "height": 4, "width": 4})
    with pytest.raises(InvalidParamsError, match="must be finite"):
        apply_transform(ramp, "rotation", {"angle": float("nan")})
    with pytest.raises(InvalidParamsError, match="factor >= 0"):
        apply_transform(ramp, "contrast", {"factor": -1.0})
    with pytest.raises(InvalidParamsError, match="sigma >= 0"):
        apply_transform(ramp, "noise", {"sigma": -0.1, "seed": 1})
    with pytest.raises(InvalidParamsError, match=r"density and veil in \[0, 1\]"):
        apply_transform(ramp, "haze", {"density": 1.5, "veil": 0.9})


def test_images_outside_the_contract_are_rejected(ramp: NDArray[np.float32]) -> None:
    with pytest.raises(SynthesisInputError, match="at least 8x8"):
        apply_transform(ramp[:, :7, :], "brightness", {"factor": 1.0})
    with pytest.raises(SynthesisInputError, match="1 or 3 channels"):
        apply_transform(np.concatenate([ramp, ramp]), "brightness", {"factor": 1.0})
    with pytest.raises(SynthesisInputError, match=r"in \[0, 1\]"):
        apply_transform(ramp * 3, "brightness", {"factor": 1.0})
    with pytest.raises(SynthesisInputError, match="one per image"):
        apply_transform_batch(ramp[None], "brightness", [])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("brightness", (1.5, 1.2), "low <= high"),
        ("brightness", (0.0, 1.2), r"within \(0.0, 10.0\]"),
        ("crop_scale", (0.5, 1.2), r"within \(0.0, 1.0\]"),
        ("haze_density", (-0.1, 0.5), r"within \[0.0, 1.0\]"),
        ("rotation", (0.0, float("inf")), "finite"),
    ],
)
def test_ranges_are_validated(field: str, value: tuple[float, float], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TransformRanges(**{field: value})
