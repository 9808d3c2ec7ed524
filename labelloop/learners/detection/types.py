"""The box data of detection: ground truth per image, and what a detector found.

Boxes are in pixels of the original image, ``(x, y, width, height)`` with the
origin at the top-left corner, plus a class index into the detector's
``classes``. These types import numpy only, so the loop, the strategies and
the formats can hold detections without importing torch.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelloop.learners.errors import InvalidInputError

__all__ = ["BoxTargets", "ImageDetections", "to_box_dicts"]


@dataclass(frozen=True)
class BoxTargets:
    """The ground-truth boxes of one image; no boxes means a negative image.

    The arrays are converted on construction, so lists are accepted.

    Attributes:
        boxes: ``(m, 4)`` float32 ``x, y, width, height`` in pixels, widths
            and heights above 0.
        labels: ``(m,)`` int64 class indices into the detector's ``classes``.

    Raises:
        InvalidInputError: If the shapes disagree, a coordinate is not finite
            or a width or height is not positive.
    """

    boxes: NDArray[np.float32]
    labels: NDArray[np.int64]

    def __post_init__(self) -> None:
        """Convert and check the arrays."""
        boxes = np.asarray(self.boxes, dtype=np.float32)
        labels = np.asarray(self.labels)
        if boxes.size == 0 and labels.size == 0:
            # [] and [] (a negative image) come in as float arrays of shape (0,).
            boxes, labels = boxes.reshape(0, 4), labels.astype(np.int64)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise InvalidInputError(
                f"BoxTargets.boxes must have shape (m, 4) as x, y, width, height; got "
                f"{boxes.shape}. Pass one row per object, or an empty (0, 4) array."
            )
        if labels.dtype.kind not in "iu" or labels.shape != (boxes.shape[0],):
            raise InvalidInputError(
                f"BoxTargets.labels must be {boxes.shape[0]} integer class indices, one per "
                f"box; got shape {labels.shape} and dtype {labels.dtype}."
            )
        if not np.isfinite(boxes).all() or (boxes[:, 2:] <= 0).any():
            raise InvalidInputError(
                "BoxTargets.boxes must be finite with width and height above 0; drop or fix "
                "the degenerate boxes."
            )
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "labels", labels.astype(np.int64, copy=False))


@dataclass(frozen=True)
class ImageDetections:
    """The boxes a detector found in one image, by score descending.

    Attributes:
        boxes: ``(m, 4)`` float32 ``x, y, width, height`` in pixels, clipped to
            the image.
        labels: ``(m,)`` int64 class indices, the argmax of ``class_probs``.
        scores: ``(m,)`` float32 confidence of the predicted class in
            ``[0, 1]``. For FCOS this is the score the detector ranks and
            suppresses by, ``sqrt(sigmoid(class logit) * sigmoid(centerness))``
            of the predicted class.
        class_probs: ``(m, n_classes)`` float32 class distribution of each box,
            rows summing to 1: FCOS scores every class with its own sigmoid, so
            the sigmoids at the box's location are divided by their sum.
        stability: ``(m,)`` float32 localization stability in ``[0, 1]``, or
            ``None`` unless asked for (see :meth:`TorchDetector.predict`).
    """

    boxes: NDArray[np.float32]
    labels: NDArray[np.int64]
    scores: NDArray[np.float32]
    class_probs: NDArray[np.float32]
    stability: NDArray[np.float32] | None = None


def to_box_dicts(detections: ImageDetections, classes: Sequence[str]) -> list[dict[str, Any]]:
    """One image's detections as JSON-ready proposals for the queue and the browser.

    Args:
        detections: The image's detections.
        classes: Class names, indexed by ``detections.labels``.

    Returns:
        One ``{"x", "y", "width", "height", "label", "score"}`` dict per box,
        plain floats and the class name, in the detections' order.

    Raises:
        InvalidInputError: If a label is not an index into ``classes``.
    """
    if detections.labels.size and int(detections.labels.max()) >= len(classes):
        raise InvalidInputError(
            f"a detection has class index {int(detections.labels.max())} but only "
            f"{len(classes)} classes were given; pass the detector's classes."
        )
    return [
        {
            "x": float(x),
            "y": float(y),
            "width": float(w),
            "height": float(h),
            "label": classes[int(label)],
            "score": float(score),
        }
        for (x, y, w, h), label, score in zip(
            detections.boxes.tolist(),
            detections.labels.tolist(),
            detections.scores.tolist(),
            strict=True,
        )
    ]
