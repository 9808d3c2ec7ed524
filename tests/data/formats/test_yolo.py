"""Tests of labelloop.data.formats.yolo on the broken fixtures and edge cases."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labelloop.data.formats import DetectionFormatError, DetectionRecord, read_yolo, write_yolo
from labelloop.data.labels import Box
from tests.data.formats import FIXTURES, problem

YOLO = FIXTURES / "yolo"


def test_good_images_import_and_broken_label_files_are_reported() -> None:
    dataset = read_yolo(YOLO)

    assert dataset.classes == ("cat", "dog")
    assert dataset.records == (
        DetectionRecord(
            "a.png",
            20,
            10,
            (
                Box(x=5.0, y=3.0, width=10.0, height=4.0, label="cat"),
                Box(x=4.0, y=1.5, width=2.0, height=2.0, label="dog"),
            ),
        ),
        DetectionRecord("e.png", 8, 6, (), labeled=False),
    )
    assert len(dataset.problems) == 4


@pytest.mark.parametrize(
    ("file_end", "where", "words"),
    [
        ("labels/b.txt", "line 2", "expected 5 fields"),
        ("labels/c.txt", "line 1", "not an integer class id and four numbers"),
        ("labels/d.txt", "line 2", "class index 5 is out of range"),
        ("labels/orphan.txt", None, "no image for this label file"),
    ],
)
def test_each_problem_names_file_line_and_reason(
    file_end: str, where: str | None, words: str
) -> None:
    problem(read_yolo(YOLO), file_end, where, words)


def test_flat_layout_with_data_yaml_mapping() -> None:
    dataset = read_yolo(FIXTURES / "yolo_flat")

    assert dataset.classes == ("cat", "dog")
    assert dataset.records == (
        DetectionRecord("a.png", 20, 10, ()),
        DetectionRecord("b.png", 16, 16, (), labeled=False),
    )
    assert dataset.problems == ()


def test_classes_argument_names_indices_when_the_folder_has_none(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "yolo_flat", tmp_path, dirs_exist_ok=True)
    (tmp_path / "data.yaml").unlink()
    (tmp_path / "b.txt").write_text("1 0.5 0.5 0.5 0.5\n")

    with pytest.raises(DetectionFormatError, match=r"classes\.txt"):
        read_yolo(tmp_path)
    dataset = read_yolo(tmp_path, classes=["x", "y"])
    assert dataset.classes == ("x", "y")
    assert dataset.records[1].boxes == (Box(x=4.0, y=4.0, width=8.0, height=8.0, label="y"),)


def test_unreadable_image_is_reported(tmp_path: Path) -> None:
    (tmp_path / "classes.txt").write_text("cat\n")
    (tmp_path / "bad.png").write_bytes(b"not a png")

    dataset = read_yolo(tmp_path)

    assert dataset.records == ()
    problem(dataset, "bad.png", None, "cannot be read")


def test_bad_data_yaml_raises(tmp_path: Path) -> None:
    (tmp_path / "data.yaml").write_text("nc: 2\n")

    with pytest.raises(DetectionFormatError, match="names"):
        read_yolo(tmp_path)


def test_writer_refuses_two_images_sharing_a_label_file(tmp_path: Path) -> None:
    records = [DetectionRecord("a.png", 4, 4, ()), DetectionRecord("a.jpg", 4, 4, ())]

    with pytest.raises(DetectionFormatError, match="share the label file"):
        write_yolo(records, ["cat"], tmp_path)


def test_writer_writes_no_label_file_for_unlabeled_records(tmp_path: Path) -> None:
    records = [DetectionRecord("a.png", 4, 4, ()), DetectionRecord("b.png", 4, 4, (), False)]

    write_yolo(records, ["cat"], tmp_path)

    assert (tmp_path / "labels" / "a.txt").read_text() == ""
    assert not (tmp_path / "labels" / "b.txt").exists()
