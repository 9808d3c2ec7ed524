"""Tests of labelloop.data.formats.labelstudio on the broken fixture and image URLs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labelloop.data.formats import (
    DetectionFormatError,
    DetectionRecord,
    read_labelstudio,
    write_labelstudio,
)
from labelloop.data.formats.labelstudio import image_file_name
from labelloop.data.labels import Box
from tests.data.formats import FIXTURES, names, problem

BROKEN = FIXTURES / "labelstudio" / "broken.json"
IMAGES = FIXTURES / "images"


def test_good_tasks_import_and_broken_ones_are_reported() -> None:
    dataset = read_labelstudio(BROKEN, image_root=IMAGES)

    assert dataset.records == (
        DetectionRecord("a.png", 20, 10, (Box(x=1, y=1, width=10, height=4, label="cat"),)),
        # Its only annotation was cancelled: the image is unlabeled, its size read from disk.
        DetectionRecord("d.png", 10, 10, (), labeled=False),
        DetectionRecord("e.png", 8, 6, (Box(x=0, y=0, width=4, height=3, label="bird"),)),
    )
    assert dataset.classes == ("cat", "bird")
    assert len(dataset.problems) == 4


@pytest.mark.parametrize(
    ("where", "words"),
    [
        ("task id 2, result 0", "rotated by 30 degrees"),
        ("task id 3, result 0", "outside the 12x8 image"),
        ("image 'missing.png'", "does not exist"),
        ("task id 7", "no data.image"),
    ],
)
def test_each_problem_names_task_and_reason(where: str, words: str) -> None:
    problem(read_labelstudio(BROKEN, image_root=IMAGES), "broken.json", where, words)


def test_classes_argument_refuses_other_classes() -> None:
    dataset = read_labelstudio(BROKEN, image_root=IMAGES, classes=["dog", "cat"])

    assert dataset.classes == ("dog", "cat")
    assert names(dataset) == ["a.png", "d.png"]
    problem(dataset, "broken.json", "task id 5, result 0", "class 'bird' is not one of")


def test_unlabeled_task_without_image_root_has_no_size() -> None:
    dataset = read_labelstudio(BROKEN)

    assert "d.png" not in names(dataset)
    problem(dataset, "broken.json", "task id 4", "image size is unknown")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/data/local-files/?d=photos/a%20b.png", "photos/a b.png"),
        ("/data/upload/3/cat.png", "cat.png"),
        ("https://host/x/dog%201.jpg", "dog 1.jpg"),
        ("sub/c.png", "sub/c.png"),
    ],
)
def test_image_file_name(url: str, expected: str) -> None:
    assert image_file_name(url) == expected


def test_not_json_and_not_a_list_raise(tmp_path: Path) -> None:
    with pytest.raises(DetectionFormatError, match="line 3, column 1"):
        read_labelstudio(FIXTURES / "labelstudio" / "not_json.json")
    (tmp_path / "obj.json").write_text("{}")
    with pytest.raises(DetectionFormatError, match="list of tasks"):
        read_labelstudio(tmp_path / "obj.json")


def test_writer_writes_percentages_and_unlabeled_tasks(tmp_path: Path) -> None:
    records = [
        DetectionRecord("a.png", 20, 10, (Box(x=2, y=1, width=10, height=5, label="cat"),)),
        DetectionRecord("b.png", 4, 4, (), labeled=False),
    ]

    [path] = write_labelstudio(records, ["cat"], tmp_path / "tasks.json")
    tasks = json.loads(path.read_text())

    value = tasks[0]["annotations"][0]["result"][0]["value"]
    assert (value["x"], value["y"], value["width"], value["height"]) == (10, 10, 50, 50)
    assert tasks[1]["annotations"] == []
