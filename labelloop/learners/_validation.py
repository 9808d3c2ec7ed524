"""Input checks shared by every learner; each failure names the fix."""

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelloop.learners.errors import InvalidInputError, InvalidParameterError, NotFittedError
from labelloop.plugins import Constraint, Integer

ImageShape = tuple[int, int, int]

N_CLASSES = Integer(low=2, hint="A classifier needs two classes; pass e.g. n_classes=10.")
"""The constraint of a classifier's ``n_classes``."""


class InputShape(Constraint):
    """``(channels, height, width)``: three positive integers."""

    hint = "Digits images are (1, 8, 8), RGB 32x32 is (3, 32, 32)."

    def accepts(self, value: object) -> bool:
        return (
            isinstance(value, tuple | list)
            and len(value) == 3
            and all(Integer(low=1).accepts(side) for side in value)
        )

    def describe(self) -> str:
        return "(channels, height, width) with three positive integers"

    def convert(self, value: object) -> ImageShape:
        channels, height, width = (int(side) for side in value)  # type: ignore[attr-defined]
        return channels, height, width


class ClassNames(Constraint):
    """A sequence (not a string) of one or more non-empty class names."""

    hint = "Pass e.g. classes=['cat', 'dog']."

    def accepts(self, value: object) -> bool:
        return (
            isinstance(value, Sequence)
            and not isinstance(value, str)
            and len(value) > 0
            and all(isinstance(name, str) and name for name in value)
        )

    def describe(self) -> str:
        return "a sequence of non-empty class names"

    def convert(self, value: object) -> tuple[str, ...]:
        return tuple(value)  # type: ignore[arg-type]


def check_n_classes(n_classes: object) -> int:
    """``n_classes`` as an ``int``, if it is an integer of at least 2.

    Raises:
        InvalidParameterError: If it is not, in the shared message template.
    """
    checked: int = N_CLASSES.check("n_classes", n_classes, InvalidParameterError)
    return checked


def check_input_shape(input_shape: object) -> ImageShape:
    """``input_shape`` as three ``int``, if it is ``(channels, height, width)`` of positive ints.

    Raises:
        InvalidParameterError: If it is not, in the shared message template.
    """
    checked: ImageShape = InputShape().check("input_shape", input_shape, InvalidParameterError)
    return checked


def check_n_samples(n_samples: int | None, available: int | None = None) -> int:
    """How many probability samples to return.

    A fixed set of samples (ensemble members, bootstrap clones) cannot give
    more than it holds, so a larger request is capped: the loop asks every
    learner for the same number (``mc_samples``), and a 5-member ensemble then
    answers with its 5 members.

    Args:
        n_samples: Samples asked for, or ``None`` for all of a fixed set.
        available: Samples a fixed set holds; ``None`` for a learner that
            draws as many as asked.

    Returns:
        ``n_samples``, capped at ``available``; ``available`` if ``n_samples`` is ``None``.

    Raises:
        InvalidParameterError: If ``n_samples`` is not an integer ``>= 1`` (or
            ``None`` with a fixed set).
    """
    if n_samples is None and available is not None:
        return available
    count: int = Integer(low=1).check("n_samples", n_samples, InvalidParameterError)
    return count if available is None else min(count, available)


def check_fitted(
    learner: object, attribute: str, *, fit_call: str = "fit(X, y)", loadable: bool = True
) -> Any:
    """``learner``'s fitted ``attribute``, if it is there and not ``None``.

    Args:
        learner: The learner (or scaler) asked to predict.
        attribute: What :meth:`fit` sets, e.g. ``"network_"``.
        fit_call: How to fit it, for the message.
        loadable: Whether ``load(path)`` also fits it, for the message.

    Raises:
        NotFittedError: Naming the learner and the calls that fit it.
    """
    value = getattr(learner, attribute, None)
    if value is None:
        calls = f"{fit_call} or load(path)" if loadable else fit_call
        raise NotFittedError(
            f"this {type(learner).__name__} is not fitted yet; call {calls} first."
        )
    return value


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


def check_labels(
    y: Any,
    *,
    n_samples: int,
    n_classes: int,
    name: str = "y",
    error: type[Exception] = InvalidInputError,
    range_fix: str = ", or build the learner with more classes",
) -> NDArray[np.int64]:
    """Check class indices and return them as ``int64``.

    The one label check of labelloop: learners and the monitor's label-error
    finders (with their own ``error``) use it.

    Args:
        y: Class indices, shape ``(n_samples,)``.
        n_samples: Number of images the labels belong to.
        n_classes: Labels must lie in ``[0, n_classes)``.
        name: Name of the argument, for error messages.
        error: The error to raise.
        range_fix: Appended to the advice for a label outside ``[0, n_classes)``.

    Returns:
        The labels, shape ``(n_samples,)``, ``int64``.

    Raises:
        error: If ``y`` is not a 1-D integer array of length ``n_samples``
            with values in ``[0, n_classes)``.
    """
    array = np.asarray(y)
    if array.dtype.kind not in "iu":
        raise error(
            f"{name} must hold integer class indices, got dtype {array.dtype}; "
            f"map class names to indices 0..{n_classes - 1} and pass an int64 array."
        )
    if array.ndim != 1:
        raise error(
            f"{name} must be 1-D (n_samples,), got shape {array.shape}; "
            "pass class indices, not one-hot rows."
        )
    if array.shape[0] != n_samples:
        raise error(
            f"{name} has {array.shape[0]} labels but there are {n_samples} images; "
            "pass one label per image."
        )
    if array.size and (array.min() < 0 or array.max() >= n_classes):
        bad = array[(array < 0) | (array >= n_classes)][0]
        raise error(
            f"{name} holds class index {bad}, outside [0, {n_classes}); "
            f"labels must be 0..{n_classes - 1}{range_fix}."
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


def check_validation_data(
    X_val: Any, y_val: Any, *, n_classes: int, input_shape: ImageShape | None, epochs: int
) -> tuple[NDArray[np.float32], NDArray[np.int64]] | None:
    """Check a fit's validation split, given as both its parts or neither.

    Args:
        X_val: Validation images, shape ``(n_val, channels, height, width)``, or None.
        y_val: Their class indices, shape ``(n_val,)``, or None.
        n_classes: Labels must lie in ``[0, n_classes)``.
        input_shape: Expected ``(channels, height, width)``, or ``None``.
        epochs: The fit's epochs without validation, for the message.

    Returns:
        ``(X_val, y_val)`` as :func:`check_fit_data` returns them, or None
        when neither is given.

    Raises:
        InvalidInputError: If only one part is given, or either is malformed.
    """
    if (X_val is None) != (y_val is None):
        raise InvalidInputError(
            "pass both X_val and y_val for early stopping, or neither to train "
            f"for a fixed {epochs} epochs."
        )
    if X_val is None:
        return None
    return check_fit_data(X_val, y_val, n_classes=n_classes, input_shape=input_shape, suffix="_val")
