"""Input checks shared by every learner; each failure names the fix."""

from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelloop.learners.errors import InvalidInputError, InvalidParameterError

ImageShape = tuple[int, int, int]


def check_n_classes(n_classes: object) -> int:
    """Check that ``n_classes`` is an integer of at least 2.

    Args:
        n_classes: The value to check.

    Returns:
        ``n_classes`` as an ``int``.

    Raises:
        InvalidParameterError: If it is not an integer ``>= 2``.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer):
        raise InvalidParameterError(
            f"n_classes must be an int, got {type(n_classes).__name__}; pass e.g. n_classes=10."
        )
    if n_classes < 2:
        raise InvalidParameterError(
            f"n_classes must be at least 2, got {n_classes}; a classifier needs two classes."
        )
    return int(n_classes)


def check_input_shape(input_shape: object) -> ImageShape:
    """Check that ``input_shape`` is ``(channels, height, width)`` of positive ints.

    Args:
        input_shape: The value to check.

    Returns:
        The shape as a tuple of three ``int``.

    Raises:
        InvalidParameterError: If it is not three positive integers.
    """
    if (
        not isinstance(input_shape, tuple | list)
        or len(input_shape) != 3
        or not all(
            isinstance(v, int | np.integer) and not isinstance(v, bool) and v > 0
            for v in input_shape
        )
    ):
        raise InvalidParameterError(
            "input_shape must be (channels, height, width) with three positive ints, "
            f"got {input_shape!r}; digits images are (1, 8, 8), RGB 32x32 is (3, 32, 32)."
        )
    channels, height, width = (int(v) for v in input_shape)
    return channels, height, width


def check_images(
    X: Any, *, input_shape: ImageShape | None = None, name: str = "X"
) -> NDArray[np.float32]:
    """Check an image batch and return it as a C-contiguous ``float32`` array.

    Args:
        X: Images, shape ``(n_samples, channels, height, width)``.
        input_shape: Expected ``(channels, height, width)``, or ``None`` to
            accept any.
        name: Name of the argument, for error messages.

    Returns:
        The images, shape ``(n_samples, channels, height, width)``, ``float32``.

    Raises:
        InvalidInputError: If ``X`` is not a 4-D real array or its per-image
            shape differs from ``input_shape``.
    """
    array = np.asarray(X)
    if array.dtype.kind not in "fiu":
        raise InvalidInputError(
            f"{name} must hold real numbers, got dtype {array.dtype}; "
            "pass float32 images scaled to [0, 1]."
        )
    if array.ndim != 4:
        raise InvalidInputError(
            f"{name} must be 4-D (n_samples, channels, height, width), got shape {array.shape}; "
            "add a channel axis to grayscale images with X[:, None]."
        )
    if input_shape is not None and array.shape[1:] != input_shape:
        channels = input_shape[0]
        if array.shape[1] != channels:
            raise InvalidInputError(
                f"{name} has {array.shape[1]} channels but the learner expects {channels} "
                f"(input_shape={input_shape}); convert the images or build the learner "
                f"with input_shape={tuple(array.shape[1:])}."
            )
        raise InvalidInputError(
            f"{name} images are {array.shape[2]}x{array.shape[3]} but the learner expects "
            f"{input_shape[1]}x{input_shape[2]} (input_shape={input_shape}); resize the "
            f"images or build the learner with input_shape={tuple(array.shape[1:])}."
        )
    return np.ascontiguousarray(array, dtype=np.float32)


def check_labels(y: Any, *, n_samples: int, n_classes: int, name: str = "y") -> NDArray[np.int64]:
    """Check class indices and return them as ``int64``.

    Args:
        y: Class indices, shape ``(n_samples,)``.
        n_samples: Number of images the labels belong to.
        n_classes: Labels must lie in ``[0, n_classes)``.
        name: Name of the argument, for error messages.

    Returns:
        The labels, shape ``(n_samples,)``, ``int64``.

    Raises:
        InvalidInputError: If ``y`` is not a 1-D integer array of length
            ``n_samples`` with values in ``[0, n_classes)``.
    """
    array = np.asarray(y)
    if array.dtype.kind not in "iu":
        raise InvalidInputError(
            f"{name} must hold integer class indices, got dtype {array.dtype}; "
            f"map class names to indices 0..{n_classes - 1} and pass an int64 array."
        )
    if array.ndim != 1:
        raise InvalidInputError(
            f"{name} must be 1-D (n_samples,), got shape {array.shape}; "
            "pass class indices, not one-hot rows."
        )
    if array.shape[0] != n_samples:
        raise InvalidInputError(
            f"{name} has {array.shape[0]} labels but there are {n_samples} images; "
            "pass one label per image."
        )
    if array.size and (array.min() < 0 or array.max() >= n_classes):
        bad = array[(array < 0) | (array >= n_classes)][0]
        raise InvalidInputError(
            f"{name} holds class index {bad}, outside [0, {n_classes}); "
            f"labels must be 0..{n_classes - 1}, or build the learner with more classes."
        )
    return array.astype(np.int64, copy=False)


def check_fit_data(
    X: Any, y: Any, *, n_classes: int, input_shape: ImageShape | None = None, suffix: str = ""
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Check a labeled set for :meth:`fit`: at least one image, one label each.

    Args:
        X: Images, shape ``(n_samples, channels, height, width)``.
        y: Class indices, shape ``(n_samples,)``.
        n_classes: Labels must lie in ``[0, n_classes)``.
        input_shape: Expected ``(channels, height, width)``, or ``None``.
        suffix: Appended to ``X``/``y`` in messages (``"_val"``).

    Returns:
        ``(X, y)`` as ``float32`` and ``int64`` arrays.

    Raises:
        InvalidInputError: If either array is malformed or the set is empty.
    """
    images = check_images(X, input_shape=input_shape, name=f"X{suffix}")
    if images.shape[0] == 0:
        raise InvalidInputError(f"X{suffix} is empty; fit needs at least one labeled image.")
    labels = check_labels(y, n_samples=images.shape[0], n_classes=n_classes, name=f"y{suffix}")
    return images, labels
