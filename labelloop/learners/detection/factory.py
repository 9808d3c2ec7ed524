"""Build a detector by name: :func:`make_detector` and the registry's factories."""

from collections.abc import Sequence
from typing import Any

from labelloop.learners.detection.model import TorchDetector
from labelloop.learners.registry import DETECTION_LEARNERS

__all__ = ["DETECTOR_NAMES", "fcos_resnet50_fpn", "fcos_tiny", "make_detector"]

DETECTOR_NAMES: tuple[str, ...] = DETECTION_LEARNERS.names()
"""Names :func:`make_detector` accepts, sorted: ``"fcos_resnet50_fpn"``, ``"fcos_tiny"``."""


def fcos_tiny(classes: Sequence[str], **params: Any) -> TorchDetector:
    """A :class:`TorchDetector` of the small ``"fcos_tiny"`` architecture."""
    return TorchDetector(classes, architecture="fcos_tiny", **params)


def fcos_resnet50_fpn(classes: Sequence[str], **params: Any) -> TorchDetector:
    """A :class:`TorchDetector` of torchvision's ``"fcos_resnet50_fpn"`` layout."""
    return TorchDetector(classes, architecture="fcos_resnet50_fpn", **params)


def make_detector(
    name: str,
    classes: Sequence[str],
    *,
    image_channels: int = 1,
    random_state: int = 0,
    device: str | None = "auto",
    **params: Any,
) -> TorchDetector:
    """Build an unfitted detector by architecture name.

    Args:
        name: One of :data:`DETECTOR_NAMES`.
        classes: Class names.
        image_channels: Channels of the images.
        random_state: Seed for initialisation, shuffling and augmentation.
        device: Torch device; ``"auto"`` picks CUDA when available.
        **params: Other :class:`TorchDetector` parameters (``epochs``, ``lr``, ...).

    Returns:
        The detector.

    Raises:
        UnknownLearnerError: If ``name`` is not a known architecture.
    """
    return DETECTION_LEARNERS.create(
        name,
        classes=classes,
        image_channels=image_channels,
        random_state=random_state,
        device=device,
        **params,
    )
