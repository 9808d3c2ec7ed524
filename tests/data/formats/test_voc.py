"""Tests of labelloop.data.formats.voc on the broken fixture and its coordinate rule."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labelloop.data.formats import DetectionRecord, read_voc, write_voc
from labelloop.data.labels import Box
from tests.data.formats import FIXTURES, names, problem

VOC = FIXTURES / "voc"
IMAGES = FIXTURES / "images"


def test_good_files_import_and_broken_ones_are_reported() -> None:
    dataset = read_voc(VOC, image_root=IMAGES)

    assert dataset.classes == ("cat", "dog")
    assert dataset.records == (
        # xmin=1..xmax=20 (1-based, inclusive) covers the whole 20x10 image.
        DetectionRecord("a.png", 20, 10, (Box(x=0, y=0, width=20, height=10, label="cat"),)),
        DetectionRecord("e.png", 8, 6, ()),
    )
    assert len(dataset.problems) == 4


@pytest.mark.parametrize(
    ("file_end", "where", "words"),
    [
        ("b.xml", "line 3", "not well-formed XML"),
        ("c.xml", "object 2", "outside the 12x8 image"),
        ("d.xml", "object 1", "class 'bird' is not one of"),
        ("f.xml", "image 'missing.png'", "does not exist"),
    ],
)
def test_each_problem_names_file_object_and_reason(file_end: str, where: str, words: str) -> None:
    problem(read_voc(VOC, image_root=IMAGES), file_end, where, words)


def test_without_classes_txt_classes_follow_first_appearance(tmp_path: Path) -> None:
    for name in ("d.xml", "a.xml"):
        (tmp_path / name).write_bytes((VOC / "Annotations" / name).read_bytes())

    dataset = read_voc(tmp_path)

    assert names(dataset) == ["a.png", "d.png"]
    assert dataset.classes == ("cat", "bird")


def test_writer_uses_one_based_inclusive_corners(tmp_path: Path) -> None:
    box = Box(x=0, y=2, width=5, height=3.5, label="cat")

    paths = write_voc([DetectionRecord("sub/x.png", 9, 9, (box,))], ["cat"], tmp_path)

    root = ET.parse(tmp_path / "Annotations" / "sub" / "x.xml").getroot()
    corners = [root.findtext(f"object/bndbox/{tag}") for tag in ("xmin", "ymin", "xmax", "ymax")]
    assert corners == ["1", "3", "5", "5.5"]
    assert root.findtext("filename") == "sub/x.png"
    assert paths == [tmp_path / "classes.txt", tmp_path / "Annotations" / "sub" / "x.xml"]
