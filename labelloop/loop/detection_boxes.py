"""Detection boxes between an image's own pixels and the model input, and the proposals.

Stored labels hold boxes in each image's own pixels (upright); the detector
sees the image placed in its input by the project's resize policy
(:func:`labelloop.data.arrays.placement`). :func:`boxes_to_targets` carries a
label into the model's pixels, :func:`to_original` carries detections back,
and :func:`proposals` turns one image's detections into the boxes offered to
a person: one per object, class-agnostically merged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelloop.data.arrays import Placement
from labelloop.data.labels import UnknownClassError
from labelloop.learners.detection import BoxTargets, ImageDetections, to_box_dicts

__all__ = ["boxes_to_targets", "proposals", "to_original"]


def boxes_to_targets(
    value: Sequence[dict[str, Any]],
    classes: Sequence[str],
    where: Placement | None = None,
) -> BoxTargets:
    """A stored detection label as the detector's targets.

    Args:
        value: the label: ``{"x", "y", "width", "height", "label"}`` per box,
            in pixels of the original (upright) image; empty for "no objects".
        classes: the project's classes, indexed by the targets' labels.
        where: how the image was placed in the model input (its resize
            policy; :func:`labelloop.data.arrays.placement`); None for as is.

    Returns:
        ``boxes (m, 4)`` xywh in model-input pixels and ``labels (m,)``.

    Raises:
        UnknownClassError: a box's label is not one of ``classes``.
    """
    where = where or Placement()
    boxes = np.array(
        [
            [
                b["x"] * where.sx + where.ox,
                b["y"] * where.sy + where.oy,
                b["width"] * where.sx,
                b["height"] * where.sy,
            ]
            for b in value
        ],
        dtype=np.float32,
    ).reshape(-1, 4)
    index = {name: i for i, name in enumerate(classes)}
    unknown = [str(b["label"]) for b in value if str(b["label"]) not in index]
    if unknown:
        raise UnknownClassError(unknown[0], tuple(classes))
    labels = np.array([index[str(b["label"])] for b in value], dtype=np.int64)
    return BoxTargets(boxes=boxes, labels=labels)


def to_original(dets: ImageDetections, where: Placement, image: tuple[int, int]) -> ImageDetections:
    """Detections in model-input pixels moved back to the image's own pixels.

    Args:
        dets: one image's detections in model-input pixels.
        where: how the image was placed in the model input.
        image: the image's ``(height, width)``; boxes are clipped to it (a
            letterboxed image's padding is not part of it).

    Returns:
        The detections with ``boxes`` in the image's pixels.
    """
    if where == Placement():
        return dets
    height, width = image
    x0 = np.clip((dets.boxes[:, 0] - where.ox) / where.sx, 0, width)
    y0 = np.clip((dets.boxes[:, 1] - where.oy) / where.sy, 0, height)
    x1 = np.clip((dets.boxes[:, 0] + dets.boxes[:, 2] - where.ox) / where.sx, 0, width)
    y1 = np.clip((dets.boxes[:, 1] + dets.boxes[:, 3] - where.oy) / where.sy, 0, height)
    boxes = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1).astype(np.float32).reshape(-1, 4)
    return ImageDetections(
        boxes=boxes,
        labels=dets.labels,
        scores=dets.scores,
        class_probs=dets.class_probs,
        stability=dets.stability,
    )


def _iou_with(box: NDArray[np.float64], others: NDArray[np.float64]) -> NDArray[np.float64]:
    """Intersection over union of one ``x, y, width, height`` box with each of ``others``."""
    left = np.maximum(box[0], others[:, 0])
    top = np.maximum(box[1], others[:, 1])
    right = np.minimum(box[0] + box[2], others[:, 0] + others[:, 2])
    bottom = np.minimum(box[1] + box[3], others[:, 1] + others[:, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    union = box[2] * box[3] + others[:, 2] * others[:, 3] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def proposals(
    dets: ImageDetections,
    classes: Sequence[str],
    min_score: float,
    merge_iou: float | None = 0.6,
) -> list[dict[str, Any]]:
    """The boxes proposed to a person: one per object, scoring at least ``min_score``.

    The detector suppresses overlapping boxes only within a class, so one
    object often comes back twice, once per likely class. Proposals go through
    class-agnostic non-maximum suppression: boxes are taken by score
    descending, and a box overlapping a kept one by more than ``merge_iou``
    joins it instead of being proposed. The kept box's class distribution is
    the score-weighted mean of its group's, so the evidence of the suppressed
    boxes is kept; its label is that distribution's most likely class and its
    score the group's best.

    Args:
        dets: one image's detections, in pixels of the original image.
        classes: class names indexed by the detections' labels.
        min_score: the lowest score a proposal may have.
        merge_iou: overlap above which boxes are one object; None keeps every box.

    Returns:
        ``{"x", "y", "width", "height", "label", "score", "classes"}`` per kept
        box, most confident first; ``classes`` maps the likeliest classes
        (probability at least 0.05, at most three) to their probability.
    """
    boxes = to_box_dicts(dets, classes)
    order = [
        i
        for i in np.argsort(-dets.scores, kind="stable").tolist()
        if boxes[i]["score"] >= min_score
    ]
    if not order:
        return []
    xywh = dets.boxes.astype(np.float64)
    probs = dets.class_probs.astype(np.float64)
    groups: list[list[int]] = []
    for i in order:
        if merge_iou is not None and groups:
            heads = np.array([g[0] for g in groups])
            overlap = _iou_with(xywh[i], xywh[heads])
            best = int(np.argmax(overlap))
            if overlap[best] > merge_iou:
                groups[best].append(i)
                continue
        groups.append([i])
    out = []
    for group in groups:
        weights = dets.scores[group].astype(np.float64)
        mixed = weights @ probs[group] / max(float(weights.sum()), 1e-12)
        top = np.argsort(-mixed, kind="stable")[:3]
        out.append(
            {
                **boxes[group[0]],
                "label": classes[int(top[0])],
                "classes": {
                    classes[int(k)]: round(float(mixed[k]), 4) for k in top if mixed[k] >= 0.05
                },
            }
        )
    return out
