"""Tests of labelloop.data.detection_demo: the generated digits-detection dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from labelloop.data.detection_demo import (
    INK_THRESHOLD,
    MAX_IOU,
    detection_demo_arrays,
    write_detection_demo,
)
from labelloop.data.formats import FORMAT_NAMES, FormatName, read_detections


def _iou(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return float(ix * iy / (a[2] * a[3] + b[2] * b[3] - ix * iy))


def test_same_seed_same_data_other_seed_other_data() -> None:
    first = detection_demo_arrays(30, seed=3)
    again = detection_demo_arrays(30, seed=3)
    other = detection_demo_arrays(30, seed=4)

    np.testing.assert_array_equal(first.images, again.images)
    for a, b in zip(first.boxes, again.boxes, strict=True):
        np.testing.assert_array_equal(a, b)
    for c, d in zip(first.labels, again.labels, strict=True):
        np.testing.assert_array_equal(c, d)
    assert not np.array_equal(first.images, other.images)


def test_shapes_ranges_and_class_subset() -> None:
    demo = detection_demo_arrays(60, canvas=48, classes=("1", "7", "3"), max_objects=2, seed=1)

    assert demo.images.shape == (60, 1, 48, 48)
    assert demo.images.dtype == np.float32
    assert demo.images.min() >= 0.0 and demo.images.max() <= 1.0
    assert demo.classes == ("1", "7", "3")
    counts = [len(boxes) for boxes in demo.boxes]
    assert max(counts) <= 2
    assert 0 in counts and 2 in counts
    labels = np.concatenate(demo.labels)
    assert set(labels.tolist()) == {0, 1, 2}


def test_boxes_lie_inside_the_canvas_and_overlap_at_most_the_limit() -> None:
    demo = detection_demo_arrays(200, canvas=40, max_objects=3, seed=2)

    for boxes in demo.boxes:
        assert boxes.shape[1] == 4
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2:] > 0).all()
        assert (boxes[:, 0] + boxes[:, 2] <= 40).all() and (boxes[:, 1] + boxes[:, 3] <= 40).all()
        for i in range(len(boxes)):
            for j in range(i):
                assert _iou(boxes[i], boxes[j]) <= MAX_IOU


def test_boxes_are_tight_around_the_ink() -> None:
    # Without clutter every bright pixel belongs to a digit, so it must lie in a box,
    # and every edge of a tight box must touch ink.
    demo = detection_demo_arrays(80, clutter=False, seed=5)

    for image, boxes in zip(demo.images[:, 0], demo.boxes, strict=True):
        ink = image > INK_THRESHOLD
        covered = np.zeros_like(ink)
        for x, y, w, h in boxes.astype(int):
            covered[y : y + h, x : x + w] = True
            inside = ink[y : y + h, x : x + w]
            assert inside[0].any() and inside[-1].any()
            assert inside[:, 0].any() and inside[:, -1].any()
        assert not (ink & ~covered).any()


def test_clutter_puts_bright_pixels_outside_the_boxes() -> None:
    demo = detection_demo_arrays(40, seed=6)

    outside = 0
    for image, boxes in zip(demo.images[:, 0], demo.boxes, strict=True):
        mask = np.ones(image.shape, dtype=bool)
        for x, y, w, h in boxes.astype(int):
            mask[y : y + h, x : x + w] = False
        outside += int((image[mask] > INK_THRESHOLD).sum())
    assert outside > 0


@pytest.mark.parametrize(
    "kwargs",
    [{"classes": ("1", "x")}, {"classes": ()}, {"scale": (4, 10)}, {"scale": (12, 99)}],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        detection_demo_arrays(2, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("format", FORMAT_NAMES)
def test_written_demo_reads_back_to_the_same_boxes(format: FormatName, tmp_path: Path) -> None:
    classes = ("2", "5", "8")
    demo = detection_demo_arrays(12, canvas=32, classes=classes, scale=(10, 16), seed=9)

    source = write_detection_demo(
        tmp_path, 12, canvas=32, classes=classes, scale=(10, 16), seed=9, format=format
    )
    dataset = read_detections(format, source, image_root=tmp_path / "images", classes=classes)

    assert dataset.problems == ()
    records = sorted(dataset.records, key=lambda record: record.file_name)
    assert len(records) == 12
    for record, boxes, labels in zip(records, demo.boxes, demo.labels, strict=True):
        assert (record.width, record.height) == (32, 32)
        got = [[b.x, b.y, b.width, b.height] for b in record.boxes]
        np.testing.assert_allclose(np.array(got).reshape(-1, 4), boxes, atol=1e-6)
        assert [b.label for b in record.boxes] == [classes[i] for i in labels]
