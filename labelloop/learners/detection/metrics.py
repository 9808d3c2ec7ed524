"""Mean average precision of a detector, computed by pycocotools' ``COCOeval``.

The predictions and the ground truth are turned into in-memory COCO datasets
(no files), one category per class, and evaluated with COCO's bounding-box
protocol: 101-point interpolated precision, IoU thresholds 0.50 to 0.95 in
steps of 0.05, at most 100 detections per image, all object sizes.
"""

import contextlib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from labelloop.learners.detection.types import BoxTargets, ImageDetections
from labelloop.learners.errors import InvalidInputError

__all__ = ["DetectionMetrics", "detection_map"]


@dataclass(frozen=True)
class DetectionMetrics:
    """How well a detector's boxes match the ground truth.

    Attributes:
        map50: Mean over classes of AP at IoU 0.5, in ``[0, 1]``.
        map: Mean over classes of AP averaged over IoU 0.50:0.05:0.95 (COCO's
            headline mAP), in ``[0, 1]``.
        per_class_ap50: AP at IoU 0.5 of every class, by name. A class with no
            ground-truth box has no defined AP: its value is NaN and it is left
            out of both means. When no class has a ground-truth box, both means
            are NaN too.
        n_images: Images evaluated.
    """

    map50: float
    map: float
    per_class_ap50: dict[str, float]
    n_images: int

    def to_dict(self) -> dict[str, Any]:
        """The metrics as plain values, NaN as ``None`` so the dict is valid JSON.

        Returns:
            ``{"map50", "map", "per_class_ap50", "n_images"}``.
        """

        def plain(value: float) -> float | None:
            return None if math.isnan(value) else float(value)

        return {
            "map50": plain(self.map50),
            "map": plain(self.map),
            "per_class_ap50": {name: plain(ap) for name, ap in self.per_class_ap50.items()},
            "n_images": self.n_images,
        }


def _coco(images: list[dict[str, Any]], annotations: list[dict[str, Any]], n_classes: int) -> COCO:
    """An in-memory COCO dataset; its index-building message is swallowed."""
    dataset = COCO()
    dataset.dataset = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": k + 1, "name": str(k)} for k in range(n_classes)],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        dataset.createIndex()
    return dataset


def _annotations(
    per_image: Sequence[
        tuple[NDArray[np.floating], NDArray[np.integer], NDArray[np.floating] | None]
    ],
) -> list[dict[str, Any]]:
    """COCO annotations of ``(boxes (m, 4) xywh, labels (m,), scores (m,) or None)`` per image.

    Image ids, category ids and annotation ids start at 1: COCO treats id 0 as absent.
    """
    annotations: list[dict[str, Any]] = []
    for image_index, (boxes, labels, scores) in enumerate(per_image):
        for j, ((x, y, w, h), label) in enumerate(
            zip(boxes.tolist(), labels.tolist(), strict=True)
        ):
            annotation: dict[str, Any] = {
                "id": len(annotations) + 1,
                "image_id": image_index + 1,
                "category_id": int(label) + 1,
                "bbox": [x, y, w, h],
                "area": w * h,
                "iscrowd": 0,
            }
            if scores is not None:
                annotation["score"] = float(scores[j])
            annotations.append(annotation)
    return annotations


def _mean_valid(precision: NDArray[np.float64]) -> float:
    """Mean of the entries that are not COCO's -1 "undefined" sentinel; NaN if none are."""
    valid = precision[precision > -1]
    return float(valid.mean()) if valid.size else math.nan


def _check_inputs(
    predictions: Sequence[ImageDetections],
    ground_truth: Sequence[BoxTargets],
    n_classes: int,
    image_sizes: Sequence[tuple[int, int]] | None,
) -> None:
    if len(predictions) != len(ground_truth):
        raise InvalidInputError(
            f"got {len(predictions)} predictions but {len(ground_truth)} ground truths; pass "
            "one ImageDetections and one BoxTargets per image, in the same order."
        )
    if image_sizes is not None and len(image_sizes) != len(ground_truth):
        raise InvalidInputError(
            f"image_sizes has {len(image_sizes)} entries for {len(ground_truth)} images; "
            "pass one (height, width) per image or None."
        )
    labelled: list[tuple[str, Sequence[ImageDetections | BoxTargets]]] = [
        ("predictions", predictions),
        ("ground_truth", ground_truth),
    ]
    for name, items in labelled:
        for index, item in enumerate(items):
            if item.labels.size and (item.labels.min() < 0 or item.labels.max() >= n_classes):
                raise InvalidInputError(
                    f"{name}[{index}] has a class index outside [0, {n_classes}); pass the "
                    "classes the detector was built with."
                )


def detection_map(
    predictions: Sequence[ImageDetections],
    ground_truth: Sequence[BoxTargets],
    classes: Sequence[str],
    image_sizes: Sequence[tuple[int, int]] | None = None,
) -> DetectionMetrics:
    """COCO mAP of detections against ground-truth boxes.

    Edge cases: a class without ground-truth boxes gets NaN and is left out of
    the means (COCO marks it -1, "undefined"); with ground truth but no
    predictions at all, every class with ground truth scores 0.0. Images
    without boxes on either side still count for false positives.

    Args:
        predictions: One :class:`~labelloop.learners.detection.ImageDetections`
            per image (only ``boxes``, ``labels`` and ``scores`` are read).
        ground_truth: One :class:`~labelloop.learners.detection.BoxTargets` per
            image, in the same order.
        classes: Class names, indexed by the labels.
        image_sizes: ``(height, width)`` per image, recorded in the COCO image
            entries; bounding-box evaluation does not depend on it.

    Returns:
        The metrics.

    Raises:
        InvalidInputError: If the sequences differ in length or a label is not
            an index into ``classes``.
    """
    n_classes = len(classes)
    _check_inputs(predictions, ground_truth, n_classes, image_sizes)
    images = [
        {
            "id": i + 1,
            "height": 0 if image_sizes is None else int(image_sizes[i][0]),
            "width": 0 if image_sizes is None else int(image_sizes[i][1]),
        }
        for i in range(len(ground_truth))
    ]
    truths = _annotations([(t.boxes, t.labels, None) for t in ground_truth])
    detections = _annotations([(p.boxes, p.labels, p.scores) for p in predictions])
    has_truth = (
        np.bincount(
            np.concatenate([t.labels for t in ground_truth] + [np.empty(0, np.int64)]),
            minlength=n_classes,
        )
        > 0
    )
    if not detections:
        per_class = [0.0 if has_truth[k] else math.nan for k in range(n_classes)]
        mean = 0.0 if has_truth.any() else math.nan
        return DetectionMetrics(mean, mean, dict(zip(classes, per_class, strict=True)), len(images))
    evaluator = COCOeval(
        _coco(images, truths, n_classes), _coco(images, detections, n_classes), "bbox"
    )
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
        evaluator.accumulate()
    # precision: (iou thresholds, recall thresholds, classes, area ranges, max dets);
    # area range 0 is "all", max dets -1 is 100.
    precision = evaluator.eval["precision"][:, :, :, 0, -1]
    per_class = [_mean_valid(precision[0, :, k]) for k in range(n_classes)]
    per_class_all = [_mean_valid(precision[:, :, k]) for k in range(n_classes)]
    return DetectionMetrics(
        map50=_nan_mean(per_class),
        map=_nan_mean(per_class_all),
        per_class_ap50=dict(zip(classes, per_class, strict=True)),
        n_images=len(images),
    )


def _nan_mean(values: list[float]) -> float:
    defined = [v for v in values if not math.isnan(v)]
    return float(np.mean(defined)) if defined else math.nan
