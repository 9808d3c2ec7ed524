"""Tests of labelloop.data.formats.coco on the broken fixture and edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labelloop.data.formats import DetectionFormatError, DetectionRecord, read_coco, write_coco
from labelloop.data.labels import Box
from tests.data.formats import FIXTURES, names, problem

BROKEN = FIXTURES / "coco" / "broken.json"
IMAGES = FIXTURES / "images"


def test_good_entries_import_and_broken_ones_are_reported() -> None:
    dataset = read_coco(BROKEN, image_root=IMAGES)

    assert names(dataset) == ["a.png", "e.png"]
    assert dataset.classes == ("cat", "dog")
    a, e = dataset.records
    assert a.boxes == (
        Box(x=1.0, y=2.0, width=5.0, height=4.0, label="cat"),
        Box(x=10.5, y=0.0, width=9.5, height=10.0, label="dog"),
    )
    # e's box leaves the 8x6 image by 0.3 px on the left and 0.1 px on the right: clipped.
    assert e.boxes == (Box(x=0.0, y=1.0, width=8.0, height=5.0, label="dog"),)
    assert len(dataset.problems) == 6


@pytest.mark.parametrize(
    ("where", "words"),
    [
        ("annotation id 3", "iscrowd=1"),
        ("annotation id 7", "outside the 16x16 image"),
        ("annotation id 8", "category_id 99 is not in 'categories'"),
        ("annotation id 9", "zero or negative size"),
        ("annotation id 11", "image_id 42 is not in 'images'"),
        ("image 'missing.png'", "does not exist"),
    ],
)
def test_each_problem_names_file_place_and_reason(where: str, words: str) -> None:
    problem(read_coco(BROKEN, image_root=IMAGES), "coco/broken.json", where, words)


def test_without_image_root_missing_images_are_not_checked() -> None:
    dataset = read_coco(BROKEN)

    assert names(dataset) == ["a.png", "e.png", "missing.png"]


def test_classes_argument_refuses_other_classes() -> None:
    dataset = read_coco(BROKEN, image_root=IMAGES, classes=["dog", "cat", "bird"])

    assert dataset.classes == ("dog", "cat", "bird")
    assert names(dataset) == ["a.png", "e.png"]
    only_cat = read_coco(BROKEN, image_root=IMAGES, classes=["cat"])
    assert names(only_cat) == []
    problem(only_cat, "broken.json", "annotation id 2", "class 'dog' is not one of")


def test_not_json_raises_with_line_and_column() -> None:
    with pytest.raises(DetectionFormatError, match=r"line 2, column 12"):
        read_coco(FIXTURES / "coco" / "not_json.json")


def test_json_that_is_not_coco_raises(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1, 2]")

    with pytest.raises(DetectionFormatError, match="'images' list"):
        read_coco(path)


def test_missing_size_is_read_from_the_image_or_reported(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    images = [{"id": 1, "file_name": "a.png"}]
    path.write_text(json.dumps({"images": images, "annotations": [], "categories": []}))

    assert read_coco(path, image_root=IMAGES).records == (DetectionRecord("a.png", 20, 10, ()),)
    unsized = read_coco(path)
    assert unsized.records == ()
    problem(unsized, "a.json", "image id 1", "pass image_root")


def test_writer_leaves_out_unlabeled_records_and_numbers_categories_from_one(
    tmp_path: Path,
) -> None:
    records = [
        DetectionRecord("x.png", 4, 4, (Box(x=0, y=0, width=1, height=1, label="b"),)),
        DetectionRecord("y.png", 4, 4, (), labeled=False),
    ]

    [path] = write_coco(records, ["a", "b"], tmp_path / "out.json")
    data = json.loads(path.read_text())

    assert [image["file_name"] for image in data["images"]] == ["x.png"]
    assert data["categories"] == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    assert data["annotations"][0]["category_id"] == 2


def test_writer_refuses_a_class_outside_classes(tmp_path: Path) -> None:
    records = [DetectionRecord("x.png", 4, 4, (Box(x=0, y=0, width=1, height=1, label="z"),))]

    with pytest.raises(DetectionFormatError, match="'z'"):
        write_coco(records, ["a"], tmp_path / "out.json")
