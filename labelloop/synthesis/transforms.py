"""Named image transforms whose random parameters are drawn once and recorded.

Every transform has two halves: :func:`sample_params` draws its parameters from
a seeded :class:`numpy.random.Generator` within :class:`TransformRanges`, and
:func:`apply_transform` turns an image and recorded parameters into pixels,
deterministically. Parameters are plain ``int`` and ``float`` values, so a
record survives a JSON round trip and gives the same pixels again.

Images are ``float32`` in [0, 1], ``(channels, height, width)`` with 1 or 3
channels and both sides at least :data:`MIN_IMAGE_SIDE`.

Brightness, contrast, crop and rotation call torchvision's ``transforms.v2``
functional API one image at a time. Blur, noise and haze are written as
element-wise tensor arithmetic over the whole batch instead: a 2-D convolution
per 8x8 image costs 0.1 to 25 ms on a busy CPU, torchvision's noise draws from
torch's global generator (so it cannot be replayed from a record), and haze has
no torchvision counterpart. Element-wise arithmetic gives each image the same
bits whether it is transformed alone or in a batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor
from torchvision.transforms.v2 import functional as tvf

from labelloop.synthesis.errors import (
    InvalidParamsError,
    SynthesisInputError,
    UnknownTransformError,
)
from labelloop.synthesis.ranges import (
    MIN_IMAGE_SIDE,
    TRANSFORM_NAMES,
    Params,
    TransformName,
    TransformRanges,
)

__all__ = [
    "MIN_IMAGE_SIDE",
    "TRANSFORM_NAMES",
    "Params",
    "TransformName",
    "TransformRanges",
    "apply_transform",
    "apply_transform_batch",
    "check_images",
    "check_params",
    "check_transform_names",
    "sample_params",
]

_BILINEAR = tvf.InterpolationMode.BILINEAR
# Crops keep at least this many pixels a side, so an 8x8 image still zooms.
_MIN_CROP_SIDE = 2
_NOISE_SEED_BOUND = 2**31 - 1

ImageShape = tuple[int, int, int]
_Sampler = Callable[[np.random.Generator, ImageShape, TransformRanges], Params]
_Kernel = Callable[[Tensor, Sequence[Params]], Tensor]


@dataclass(frozen=True)
class _Transform:
    """One registered transform: its parameter types, sampler and batch kernel."""

    keys: Mapping[str, type]
    sample: _Sampler
    apply: _Kernel


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _column(params: Sequence[Params], key: str) -> Tensor:
    """``(b, 1, 1, 1)`` float32 tensor of one parameter, to broadcast over images."""
    values = np.array([p[key] for p in params], dtype=np.float32)
    return torch.from_numpy(values).reshape(-1, 1, 1, 1)


def _looped(one: Callable[..., Tensor]) -> _Kernel:
    """A batch kernel that calls ``one(image, **params)`` on each ``(C, H, W)`` image."""

    def kernel(images: Tensor, params: Sequence[Params]) -> Tensor:
        return torch.stack([one(image, **p) for image, p in zip(images, params, strict=True)])

    return kernel


def _factor_transform(name: str, adjust: Callable[[Tensor, float], Tensor]) -> _Transform:
    """A torchvision adjustment with one ``factor``, drawn from the range of the same name."""

    def sample(rng: np.random.Generator, _: ImageShape, ranges: TransformRanges) -> Params:
        return {"factor": _uniform(rng, getattr(ranges, name))}

    def one(image: Tensor, factor: float) -> Tensor:
        if factor < 0:
            raise InvalidParamsError(f"{name} needs factor >= 0, got {factor}")
        out: Tensor = adjust(image, factor)
        return out

    return _Transform({"factor": float}, sample, _looped(one))


# crop_zoom ----------------------------------------------------------------


def _sample_crop_zoom(rng: np.random.Generator, shape: ImageShape, r: TransformRanges) -> Params:
    _, height, width = shape
    scale = _uniform(rng, r.crop_scale)
    crop_h = min(height, max(_MIN_CROP_SIDE, round(scale * height)))
    crop_w = min(width, max(_MIN_CROP_SIDE, round(scale * width)))
    top = int(rng.integers(0, height - crop_h + 1))
    left = int(rng.integers(0, width - crop_w + 1))
    return {"top": top, "left": left, "height": crop_h, "width": crop_w}


def _crop_zoom_one(image: Tensor, top: int, left: int, height: int, width: int) -> Tensor:
    _, full_h, full_w = image.shape
    if top < 0 or left < 0 or height < 1 or width < 1:
        raise InvalidParamsError(
            f"crop_zoom needs top, left >= 0 and height, width >= 1; got top={top}, "
            f"left={left}, height={height}, width={width}"
        )
    if top + height > full_h or left + width > full_w:
        raise InvalidParamsError(
            f"crop_zoom box (top={top}, left={left}, height={height}, width={width}) "
            f"leaves the {full_h}x{full_w} image; apply the record to its own source image"
        )
    out: Tensor = tvf.resized_crop(
        image, top, left, height, width, [full_h, full_w], interpolation=_BILINEAR, antialias=True
    )
    return out.clamp_(0.0, 1.0)


# rotation -----------------------------------------------------------------


def _sample_rotation(rng: np.random.Generator, _: ImageShape, r: TransformRanges) -> Params:
    return {"angle": _uniform(rng, r.rotation)}


def _rotation_one(image: Tensor, angle: float) -> Tensor:
    # Corners uncovered by the turn take the mean of the border, per channel: black
    # corners on a photo would be an artefact the model could be unsure about instead.
    border = torch.cat(
        [image[:, 0, :], image[:, -1, :], image[:, 1:-1, 0], image[:, 1:-1, -1]], dim=1
    )
    fill = [float(v) for v in border.double().mean(dim=1)]
    out: Tensor = tvf.rotate(image, angle, interpolation=_BILINEAR, fill=fill)
    return out.clamp_(0.0, 1.0)


# blur ---------------------------------------------------------------------


def _blur_kernel_size(sigma: float, height: int, width: int) -> int:
    """Odd size covering +-3 sigma, at most what reflect padding allows (radius < side)."""
    radius = min(math.ceil(3.0 * sigma), min(height, width) - 1)
    return 2 * radius + 1


def _sample_blur(rng: np.random.Generator, shape: ImageShape, r: TransformRanges) -> Params:
    sigma = _uniform(rng, r.blur_sigma)
    return {"sigma": sigma, "kernel_size": _blur_kernel_size(sigma, shape[1], shape[2])}


def _gaussian_taps(sigma: float, kernel_size: int) -> NDArray[np.float32]:
    offsets = np.arange(kernel_size, dtype=np.float64) - kernel_size // 2
    taps = np.exp(-0.5 * (offsets / sigma) ** 2)
    normalized: NDArray[np.float32] = (taps / taps.sum()).astype(np.float32)
    return normalized


def _blur(images: Tensor, params: Sequence[Params]) -> Tensor:
    _, _, height, width = images.shape
    for p in params:
        size, sigma = int(p["kernel_size"]), float(p["sigma"])
        if size < 1 or size % 2 == 0 or size // 2 >= min(height, width) or sigma <= 0:
            raise InvalidParamsError(
                f"blur needs sigma > 0 and an odd kernel_size with radius below the image "
                f"side ({height}x{width}); got sigma={sigma}, kernel_size={size}"
            )
    out = torch.empty_like(images)
    sizes = np.array([int(p["kernel_size"]) for p in params])
    for size in np.unique(sizes):
        rows = np.flatnonzero(sizes == size)
        taps = torch.from_numpy(
            np.stack([_gaussian_taps(float(params[i]["sigma"]), int(size)) for i in rows.tolist()])
        )
        out[torch.from_numpy(rows)] = _separable_sum(images[torch.from_numpy(rows)], taps)
    return out


def _separable_sum(images: Tensor, taps: Tensor) -> Tensor:
    """Filter ``(b, C, H, W)`` along both axes with ``(b, k)`` per-image taps, reflect padding."""
    radius = taps.shape[1] // 2
    _, _, height, width = images.shape
    weight = taps.reshape(taps.shape[0], 1, 1, -1)
    padded = torch.nn.functional.pad(images, (radius, radius, 0, 0), mode="reflect")
    across = torch.zeros_like(images)
    for t in range(taps.shape[1]):
        across += weight[..., t : t + 1] * padded[..., t : t + width]
    padded = torch.nn.functional.pad(across, (0, 0, radius, radius), mode="reflect")
    down = torch.zeros_like(images)
    for t in range(taps.shape[1]):
        down += weight[..., t : t + 1] * padded[..., t : t + height, :]
    return down.clamp_(0.0, 1.0)


# noise --------------------------------------------------------------------


def _sample_noise(rng: np.random.Generator, _: ImageShape, r: TransformRanges) -> Params:
    return {
        "sigma": _uniform(rng, r.noise_sigma),
        "seed": int(rng.integers(0, _NOISE_SEED_BOUND)),
    }


def _noise(images: Tensor, params: Sequence[Params]) -> Tensor:
    for p in params:
        if p["sigma"] < 0 or p["seed"] < 0:
            raise InvalidParamsError(
                f"noise needs sigma >= 0 and seed >= 0; got {p['sigma']}, {p['seed']}"
            )
    shape = tuple(images.shape[1:])
    draws = np.stack(
        [
            np.random.default_rng(int(p["seed"])).standard_normal(shape, dtype=np.float32)
            for p in params
        ]
    )
    noisy = images + _column(params, "sigma") * torch.from_numpy(draws)
    return noisy.clamp_(0.0, 1.0)


# haze ---------------------------------------------------------------------


def _sample_haze(rng: np.random.Generator, _: ImageShape, r: TransformRanges) -> Params:
    return {"density": _uniform(rng, r.haze_density), "veil": _uniform(rng, r.haze_veil)}


def _haze(images: Tensor, params: Sequence[Params]) -> Tensor:
    # Scattering model of fog: the scene is seen through a bright veil, so every pixel
    # moves toward the veil and contrast shrinks by (1 - density).
    for p in params:
        if not (0.0 <= p["density"] <= 1.0 and 0.0 <= p["veil"] <= 1.0):
            raise InvalidParamsError(
                f"haze needs density and veil in [0, 1]; got {p['density']}, {p['veil']}"
            )
    density = _column(params, "density")
    hazy = images * (1.0 - density) + _column(params, "veil") * density
    return hazy.clamp_(0.0, 1.0)


_REGISTRY: dict[str, _Transform] = {
    "blur": _Transform({"sigma": float, "kernel_size": int}, _sample_blur, _blur),
    "brightness": _factor_transform("brightness", tvf.adjust_brightness),
    "contrast": _factor_transform("contrast", tvf.adjust_contrast),
    "crop_zoom": _Transform(
        {"top": int, "left": int, "height": int, "width": int},
        _sample_crop_zoom,
        _looped(_crop_zoom_one),
    ),
    "haze": _Transform({"density": float, "veil": float}, _sample_haze, _haze),
    "noise": _Transform({"sigma": float, "seed": int}, _sample_noise, _noise),
    "rotation": _Transform({"angle": float}, _sample_rotation, _looped(_rotation_one)),
}


def _lookup(transform: str) -> _Transform:
    try:
        return _REGISTRY[transform]
    except KeyError:
        raise UnknownTransformError(
            f"unknown transform {transform!r}; choose one of {', '.join(TRANSFORM_NAMES)}"
        ) from None


def check_transform_names(transforms: Sequence[str] | None) -> tuple[TransformName, ...]:
    """Check a list of transform names.

    Args:
        transforms: names, or None for every transform.

    Returns:
        The names as a tuple, or :data:`TRANSFORM_NAMES` for None.

    Raises:
        UnknownTransformError: a name is not a transform.
        SynthesisInputError: the list is empty or repeats a name.
    """
    if transforms is None:
        return TRANSFORM_NAMES
    if isinstance(transforms, str):
        raise SynthesisInputError(
            f"transforms must be a list of names, got the string {transforms!r}; "
            f"write [{transforms!r}]"
        )
    names = tuple(transforms)
    if not names:
        raise SynthesisInputError(
            "transforms is empty; name at least one, or pass None for all of them"
        )
    if len(set(names)) != len(names):
        raise SynthesisInputError(f"transforms repeats a name: {list(names)}")
    for name in names:
        _lookup(name)
    return cast(tuple[TransformName, ...], names)


def check_params(transform: str, params: Mapping[str, object]) -> Params:
    """Check recorded parameters against a transform's keys and types.

    Args:
        transform: the transform's name.
        params: the recorded parameters, e.g. read back from JSON.

    Returns:
        A new dict with ``int`` values for integer keys and ``float`` for the others.

    Raises:
        UnknownTransformError: ``transform`` is not a transform.
        InvalidParamsError: a key is missing or extra, or a value is not a finite number
            of the right kind.
    """
    spec = _lookup(transform).keys
    if set(params) != set(spec):
        raise InvalidParamsError(
            f"{transform} takes parameters {sorted(spec)}, got {sorted(params)}"
        )
    checked: Params = {}
    for key, kind in spec.items():
        value = params[key]
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise InvalidParamsError(f"{transform}.{key} must be an int, got {value!r}")
            checked[key] = int(value)
        else:
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise InvalidParamsError(f"{transform}.{key} must be a number, got {value!r}")
            if not math.isfinite(float(value)):
                raise InvalidParamsError(f"{transform}.{key} must be finite, got {value!r}")
            checked[key] = float(value)
    return checked


def check_images(X: object, *, name: str = "X") -> NDArray[np.float32]:
    """Check a batch of images and return it as C-contiguous float32.

    Args:
        X: ``(n, C, H, W)`` images in [0, 1], C in {1, 3}, H and W >= :data:`MIN_IMAGE_SIDE`.
        name: the argument's name, for messages.

    Returns:
        ``(n, C, H, W)`` float32, the same array when it already was one.

    Raises:
        SynthesisInputError: the shape, dtype or values are wrong.
    """
    array = np.asarray(X)
    if array.ndim != 4 or not np.issubdtype(array.dtype, np.floating):
        raise SynthesisInputError(
            f"{name} must be a float array (n, channels, height, width), "
            f"got shape {array.shape} and dtype {array.dtype}"
        )
    _, channels, height, width = array.shape
    if channels not in (1, 3):
        raise SynthesisInputError(f"{name} must have 1 or 3 channels, got {channels}")
    if min(height, width) < MIN_IMAGE_SIDE:
        raise SynthesisInputError(
            f"{name} images are {height}x{width}; resize them to at least "
            f"{MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE}"
        )
    array = np.ascontiguousarray(array, dtype=np.float32)
    if array.size and not (np.isfinite(array).all() and array.min() >= 0 and array.max() <= 1):
        raise SynthesisInputError(f"{name} must hold finite values in [0, 1]")
    return array


def sample_params(
    transform: str,
    rng: np.random.Generator,
    image_shape: tuple[int, int, int],
    ranges: TransformRanges | None = None,
) -> Params:
    """Draw one transform's parameters.

    Args:
        transform: the transform's name, one of :data:`TRANSFORM_NAMES`.
        rng: the generator to draw from; it advances.
        image_shape: ``(C, H, W)`` of the image the parameters are for (crop boxes and
            blur kernels depend on its size).
        ranges: where to draw from; None uses the defaults of :class:`TransformRanges`.

    Returns:
        JSON-able parameters that :func:`apply_transform` accepts.

    Raises:
        UnknownTransformError: ``transform`` is not a transform.
    """
    return _lookup(transform).sample(rng, image_shape, ranges or TransformRanges())


def apply_transform_batch(
    images: NDArray[np.floating], transform: str, params: Sequence[Mapping[str, object]]
) -> NDArray[np.float32]:
    """Apply one transform to each image of a batch with its own parameters.

    Args:
        images: ``(b, C, H, W)`` images in [0, 1].
        transform: the transform's name.
        params: ``b`` parameter records, one per image.

    Returns:
        ``(b, C, H, W)`` float32 in [0, 1]; image ``i`` has exactly the pixels that
        ``apply_transform(images[i], transform, params[i])`` gives.

    Raises:
        UnknownTransformError: ``transform`` is not a transform.
        InvalidParamsError: a record does not fit the transform or the image.
        SynthesisInputError: the images or the number of records are wrong.
    """
    batch = check_images(images, name="images")
    if len(params) != len(batch):
        raise SynthesisInputError(
            f"got {len(batch)} images but {len(params)} parameter records; pass one per image"
        )
    checked = [check_params(transform, p) for p in params]
    if not len(batch):
        return batch.copy()
    with torch.no_grad():
        out = _lookup(transform).apply(torch.from_numpy(batch), checked)
    result: NDArray[np.float32] = out.numpy().astype(np.float32, copy=False)
    return result


def apply_transform(
    image: NDArray[np.floating], transform: str, params: Mapping[str, object]
) -> NDArray[np.float32]:
    """Apply one transform to one image with recorded parameters.

    Args:
        image: ``(C, H, W)`` in [0, 1].
        transform: the transform's name.
        params: parameters from :func:`sample_params`, possibly read back from JSON.

    Returns:
        ``(C, H, W)`` float32 in [0, 1].

    Raises:
        UnknownTransformError: ``transform`` is not a transform.
        InvalidParamsError: ``params`` does not fit the transform or the image.
        SynthesisInputError: ``image`` has the wrong shape or values.
    """
    array = np.asarray(image)
    if array.ndim != 3:
        raise SynthesisInputError(
            f"image must be (channels, height, width), got shape {array.shape}; "
            "use apply_transform_batch for a batch"
        )
    out: NDArray[np.float32] = apply_transform_batch(array[None], transform, [params])[0]
    return out
