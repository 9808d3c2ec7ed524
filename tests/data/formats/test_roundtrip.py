"""Write-then-read round trips through every format, and the by-name dispatch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labelloop.data.formats import (
    FORMAT_NAMES,
    DetectionDataset,
    DetectionFormatError,
    DetectionRecord,
    FormatName,
    read_detections,
    write_detections,
)
from labelloop.data.labels import Box
from tests.data.formats import FIXTURES

CLASSES = ("zebra", "ant", "moose")
# Where each written dataset keeps the images copied in with image_root.
IMAGE_FOLDERS: dict[str, str] = {
    "coco": "images",
    "labelstudio": "images",
    "voc": "out/JPEGImages",
    "yolo": "out/images",
}
# Formats that can say "listed but not annotated"; the others leave such images out.
KEEPS_UNLABELED = {"labelstudio", "yolo"}


def _records(image_root: Path) -> list[DetectionRecord]:
    """Awkward float boxes (including ones touching the edges), empty and unlabeled images."""
    rng = np.random.default_rng(7)
    records: list[DetectionRecord] = []
    for index in range(6):
        width, height = int(rng.integers(7, 40)), int(rng.integers(7, 40))
        boxes = []
        for _ in range(index % 4):
            x0, x1 = np.sort(rng.uniform(0, width, 2))
            y0, y1 = np.sort(rng.uniform(0, height, 2))
            label = CLASSES[int(rng.integers(len(CLASSES)))]
            boxes.append(Box(x=x0, y=y0, width=float(x1 - x0), height=float(y1 - y0), label=label))
        if index == 1:
            boxes = [Box(x=0, y=0, width=width, height=height, label="moose")]
        name = f"part{index % 2}/img{index}.png"
        labeled = index != 5
        records.append(
            DetectionRecord(name, width, height, tuple(boxes) if labeled else (), labeled)
        )
    for record in records:
        (image_root / record.file_name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("L", (record.width, record.height)).save(image_root / record.file_name)
    return records


def _dest(format: str, tmp_path: Path) -> Path:
    return tmp_path / "out.json" if format in ("coco", "labelstudio") else tmp_path / "out"


def _key(record: DetectionRecord) -> str:
    return record.file_name


@pytest.mark.parametrize("format", FORMAT_NAMES)
def test_round_trip_loses_nothing(format: FormatName, tmp_path: Path) -> None:
    source_images = tmp_path / "source"
    records = _records(source_images)
    dest = _dest(format, tmp_path)

    written = write_detections(format, records, CLASSES, dest, image_root=source_images)
    image_root = tmp_path / IMAGE_FOLDERS[format]
    dataset = read_detections(format, dest, image_root=image_root, classes=CLASSES)

    assert all(path.is_file() for path in written)
    assert dataset.problems == ()
    assert dataset.classes == CLASSES
    expected = [r for r in records if r.labeled or format in KEEPS_UNLABELED]
    got = sorted(dataset.records, key=_key)
    assert [r.file_name for r in got] == sorted(r.file_name for r in expected)
    for want, have in zip(sorted(expected, key=_key), got, strict=True):
        assert (have.width, have.height, have.labeled) == (want.width, want.height, want.labeled)
        assert [b.label for b in have.boxes] == [b.label for b in want.boxes]
        for a, b in zip(want.boxes, have.boxes, strict=True):
            np.testing.assert_allclose(
                [b.x, b.y, b.width, b.height], [a.x, a.y, a.width, a.height], rtol=0, atol=1e-6
            )


@pytest.mark.parametrize("format", ["coco", "voc", "yolo"])
def test_class_order_survives_without_the_classes_argument(
    format: FormatName, tmp_path: Path
) -> None:
    records = _records(tmp_path / "source")
    dest = _dest(format, tmp_path)
    write_detections(
        format,
        DetectionDataset(tuple(records), CLASSES, ()),
        CLASSES,
        dest,
        image_root=tmp_path / "source",
    )

    assert read_detections(format, dest).classes == CLASSES


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DetectionFormatError, match="coco, labelstudio, voc, yolo"):
        read_detections("csv", FIXTURES)
    with pytest.raises(DetectionFormatError, match="unknown detection format 'csv'"):
        write_detections("csv", [], CLASSES, tmp_path)


def test_copying_images_refuses_a_missing_image(tmp_path: Path) -> None:
    records = [DetectionRecord("nowhere.png", 4, 4, ())]

    with pytest.raises(DetectionFormatError, match=r"nowhere\.png does not exist"):
        write_detections("yolo", records, CLASSES, tmp_path / "out", image_root=tmp_path)


def test_an_unlabeled_record_cannot_have_boxes() -> None:
    box = Box(x=0, y=0, width=1, height=1, label="ant")

    with pytest.raises(DetectionFormatError, match="unlabeled but has boxes"):
        DetectionRecord("a.png", 4, 4, (box,), labeled=False)
