"""labelloop.loop.detection_boxes: labels into model pixels, detections back, and proposals."""

from __future__ import annotations

import numpy as np
import pytest

from labelloop.data.arrays import Placement, placement
from labelloop.data.labels import UnknownClassError
from labelloop.learners.detection import ImageDetections
from labelloop.loop.detection_boxes import boxes_to_targets, proposals, to_original

CLASSES = ("0", "1", "2")


def test_labels_become_targets_in_model_pixels() -> None:
    value = [
        {"x": 10.0, "y": 20.0, "width": 4.0, "height": 8.0, "label": "2"},
        {"x": 0.0, "y": 0.0, "width": 2.0, "height": 2.0, "label": "0"},
    ]
    targets = boxes_to_targets(value, CLASSES, Placement(sx=0.5, sy=2.0))
    np.testing.assert_allclose(targets.boxes, [[5, 40, 2, 16], [0, 0, 1, 4]])
    assert targets.labels.tolist() == [2, 0]
    assert boxes_to_targets([], CLASSES).boxes.shape == (0, 4)


def test_proposals_keep_boxes_at_or_above_the_minimum_score() -> None:
    dets = ImageDetections(
        boxes=np.array([[1, 2, 3, 4], [5, 6, 7, 8]], dtype=np.float32),
        labels=np.array([1, 0]),
        scores=np.array([0.9, 0.2], dtype=np.float32),
        class_probs=np.array([[0.1, 0.8, 0.1], [0.5, 0.3, 0.2]], dtype=np.float32),
    )
    kept = proposals(dets, CLASSES, 0.3)
    assert kept == [
        {
            "x": 1.0,
            "y": 2.0,
            "width": 3.0,
            "height": 4.0,
            "label": "1",
            "score": pytest.approx(0.9),
            "classes": {"1": pytest.approx(0.8), "0": pytest.approx(0.1), "2": pytest.approx(0.1)},
        }
    ]
    assert len(proposals(dets, CLASSES, 0.2)) == 2


def test_proposals_show_one_box_per_object_with_the_merged_class_distribution() -> None:
    # The same digit offered as "1" and as "2" (IoU 0.8), and a box elsewhere.
    dets = ImageDetections(
        boxes=np.array([[10, 10, 20, 20], [10, 10, 20, 16], [60, 60, 10, 10]], dtype=np.float32),
        labels=np.array([1, 2, 0]),
        scores=np.array([0.6, 0.5, 0.4], dtype=np.float32),
        class_probs=np.array(
            [[0.0, 0.55, 0.45], [0.0, 0.1, 0.9], [1.0, 0.0, 0.0]], dtype=np.float32
        ),
    )
    kept = proposals(dets, CLASSES, 0.3, merge_iou=0.6)
    assert [(b["x"], b["y"], b["width"], b["height"]) for b in kept] == [
        (10, 10, 20, 20),
        (60, 60, 10, 10),
    ]
    # (0.6 * [0, .55, .45] + 0.5 * [0, .1, .9]) / 1.1 = [0, .345, .655]: "2" wins.
    assert kept[0]["label"] == "2"
    assert kept[0]["score"] == pytest.approx(0.6)
    assert kept[0]["classes"] == {
        "2": pytest.approx(0.6545, abs=1e-3),
        "1": pytest.approx(0.3455, abs=1e-3),
    }
    assert kept[1]["label"] == "0" and kept[1]["classes"] == {"0": 1.0}
    # 1.0 keeps every box, as the detector gave them.
    assert len(proposals(dets, CLASSES, 0.3, merge_iou=1.0)) == 3
    assert len(proposals(dets, CLASSES, 0.3, merge_iou=None)) == 3


@pytest.mark.parametrize("policy", ["letterbox", "center_crop", "stretch"])
def test_boxes_go_to_the_model_input_and_back_unchanged(policy: str) -> None:
    where = placement((90, 120), (64, 64), policy)  # type: ignore[arg-type]
    value = [{"x": 30.0, "y": 20.0, "width": 40.0, "height": 50.0, "label": "1"}]
    targets = boxes_to_targets(value, CLASSES, where)
    dets = ImageDetections(
        boxes=targets.boxes,
        labels=targets.labels,
        scores=np.ones(1, dtype=np.float32),
        class_probs=np.eye(3, dtype=np.float32)[targets.labels],
    )
    back = to_original(dets, where, (90, 120))
    np.testing.assert_allclose(back.boxes, [[30, 20, 40, 50]], atol=1e-3)


def test_detections_placed_as_is_come_back_as_they_are() -> None:
    dets = ImageDetections(
        boxes=np.array([[-5, 2, 300, 4]], dtype=np.float32),
        labels=np.array([1]),
        scores=np.array([0.9], dtype=np.float32),
        class_probs=np.array([[0.1, 0.8, 0.1]], dtype=np.float32),
    )
    # No placement to undo: nothing is moved, nor clipped.
    assert to_original(dets, Placement(), (10, 10)) is dets


def test_detections_in_letterbox_padding_are_clipped_to_the_image() -> None:
    where = Placement(sx=0.5, sy=0.5, ox=0.0, oy=10.0)  # a 40x80 image in a 40x40 input
    stability = np.array([0.7], dtype=np.float32)
    dets = ImageDetections(
        boxes=np.array([[30, 0, 20, 40]], dtype=np.float32),
        labels=np.array([2]),
        scores=np.array([0.8], dtype=np.float32),
        class_probs=np.array([[0.0, 0.2, 0.8]], dtype=np.float32),
        stability=stability,
    )
    back = to_original(dets, where, (40, 80))
    # x 30..50 -> 60..100, clipped at the width 80; y 0..40 -> -20..60, clipped to 0..40.
    np.testing.assert_allclose(back.boxes, [[60, 0, 20, 40]])
    assert back.labels.tolist() == [2] and back.stability is stability
    assert back.scores is dets.scores and back.class_probs is dets.class_probs


def test_proposals_of_an_image_without_a_box_above_the_minimum_are_none() -> None:
    dets = ImageDetections(
        boxes=np.array([[1, 2, 3, 4]], dtype=np.float32),
        labels=np.array([0]),
        scores=np.array([0.1], dtype=np.float32),
        class_probs=np.array([[0.9, 0.05, 0.05]], dtype=np.float32),
    )
    assert proposals(dets, CLASSES, 0.5) == []
    empty = ImageDetections(
        boxes=np.zeros((0, 4), dtype=np.float32),
        labels=np.zeros(0, dtype=np.int64),
        scores=np.zeros(0, dtype=np.float32),
        class_probs=np.zeros((0, 3), dtype=np.float32),
    )
    assert proposals(empty, CLASSES, 0.0) == []


def test_proposals_refuse_detections_of_more_classes_than_given() -> None:
    dets = ImageDetections(
        boxes=np.array([[1, 2, 3, 4]], dtype=np.float32),
        labels=np.array([3]),
        scores=np.array([0.9], dtype=np.float32),
        class_probs=np.array([[0.0, 0.0, 0.0, 1.0]], dtype=np.float32),
    )
    with pytest.raises(ValueError, match="class index 3 but only 3 classes"):
        proposals(dets, CLASSES, 0.5)


def test_a_label_of_an_unknown_class_is_refused_by_name() -> None:
    value = [{"x": 1.0, "y": 1.0, "width": 2.0, "height": 2.0, "label": "cat"}]
    with pytest.raises(UnknownClassError, match="'cat'"):
        boxes_to_targets(value, CLASSES)
