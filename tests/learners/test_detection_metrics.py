"""COCO mAP through pycocotools: planted cases whose AP is known by hand."""

import json
import math

import numpy as np
import pytest

from labelloop.learners import InvalidInputError
from labelloop.learners.detection import BoxTargets, ImageDetections, detection_map

CLASSES = ("square", "cross")


def detections(boxes: list[list[float]], labels: list[int], scores: list[float]) -> ImageDetections:
    """Detections with one-hot class distributions."""
    label_array = np.asarray(labels, dtype=np.int64)
    return ImageDetections(
        boxes=np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
        labels=label_array,
        scores=np.asarray(scores, dtype=np.float32),
        class_probs=np.eye(len(CLASSES), dtype=np.float32)[label_array],
    )


def truth(boxes: list[list[float]], labels: list[int]) -> BoxTargets:
    box_array = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    return BoxTargets(boxes=box_array, labels=np.asarray(labels, np.int64))


GROUND_TRUTH = [
    truth([[10, 10, 20, 20], [40, 5, 15, 15]], [0, 1]),
    truth([[5, 30, 25, 25]], [0]),
    truth([], []),
]


def test_perfect_predictions_score_one() -> None:
    predictions = [
        detections(t.boxes.tolist(), t.labels.tolist(), [0.9] * len(t.labels)) for t in GROUND_TRUTH
    ]
    metrics = detection_map(predictions, GROUND_TRUTH, CLASSES)
    assert metrics.map50 == pytest.approx(1.0)
    assert metrics.map == pytest.approx(1.0)
    assert metrics.per_class_ap50 == pytest.approx({"square": 1.0, "cross": 1.0})
    assert metrics.n_images == 3


def test_shifted_boxes_pass_iou_half_but_not_stricter_thresholds() -> None:
    # A 20x20 box shifted by 4 px in x: IoU = 16*20 / (2*400 - 320) = 2/3,
    # a hit at IoU thresholds 0.50..0.65 (4 of 10), a miss from 0.70 on.
    gt = [truth([[10, 10, 20, 20]], [0])]
    predictions = [detections([[14, 10, 20, 20]], [0], [0.8])]
    metrics = detection_map(predictions, gt, CLASSES)
    assert metrics.map50 == pytest.approx(1.0)
    assert metrics.map == pytest.approx(0.4)
    assert math.isnan(metrics.per_class_ap50["cross"])  # no cross in the ground truth


def test_false_positive_ranked_between_hits_gives_hand_computed_ap() -> None:
    # Two squares; detections by score: hit, miss, hit. Precision/recall points:
    # (R=0.5, P=1), (R=0.5, P=0.5), (R=1, P=2/3). COCO's interpolated precision is
    # 1 at the 51 recall thresholds 0.00..0.50 and 2/3 at the 50 from 0.51 to 1.
    gt = [truth([[0, 0, 10, 10], [30, 30, 10, 10]], [0, 0])]
    predictions = [
        detections([[0, 0, 10, 10], [50, 0, 10, 10], [30, 30, 10, 10]], [0, 0, 0], [0.9, 0.8, 0.7])
    ]
    expected = (51 * 1.0 + 50 * (2 / 3)) / 101
    metrics = detection_map(predictions, gt, CLASSES)
    assert metrics.per_class_ap50["square"] == pytest.approx(expected)
    assert metrics.map50 == pytest.approx(expected)


def test_wrong_class_is_a_miss() -> None:
    gt = [truth([[10, 10, 20, 20]], [0])]
    predictions = [detections([[10, 10, 20, 20]], [1], [0.9])]
    metrics = detection_map(predictions, gt, CLASSES)
    assert metrics.per_class_ap50["square"] == 0.0
    assert metrics.map50 == 0.0


def test_no_predictions_at_all_score_zero() -> None:
    predictions = [detections([], [], []) for _ in GROUND_TRUTH]
    metrics = detection_map(predictions, GROUND_TRUTH, CLASSES)
    assert metrics.map50 == 0.0
    assert metrics.map == 0.0
    assert metrics.per_class_ap50 == {"square": 0.0, "cross": 0.0}


def test_no_ground_truth_anywhere_is_undefined() -> None:
    gt = [truth([], [])]
    metrics = detection_map([detections([[1, 1, 5, 5]], [0], [0.5])], gt, CLASSES)
    assert math.isnan(metrics.map50)
    assert math.isnan(metrics.map)


def test_to_dict_is_json_with_nan_as_null() -> None:
    gt = [truth([[10, 10, 20, 20]], [0])]
    metrics = detection_map([detections([[10, 10, 20, 20]], [0], [0.9])], gt, CLASSES)
    payload = json.loads(json.dumps(metrics.to_dict(), allow_nan=False))
    assert payload["map50"] == pytest.approx(1.0)
    assert payload["map"] == pytest.approx(1.0)
    assert payload["per_class_ap50"]["square"] == pytest.approx(1.0)
    assert payload["per_class_ap50"]["cross"] is None
    assert payload["n_images"] == 1


def test_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    gt = [truth([[10, 10, 20, 20]], [0])]
    detection_map([detections([[10, 10, 20, 20]], [0], [0.9])], gt, CLASSES)
    assert capsys.readouterr().out == ""


def test_mismatched_lengths_are_rejected() -> None:
    with pytest.raises(InvalidInputError, match="one ImageDetections and one BoxTargets"):
        detection_map([], GROUND_TRUTH, CLASSES)


def test_label_outside_classes_is_rejected() -> None:
    gt = [truth([[10, 10, 20, 20]], [2])]
    with pytest.raises(InvalidInputError, match="outside"):
        detection_map([detections([], [], [])], gt, CLASSES)
