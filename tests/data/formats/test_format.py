"""DetectionFormat: the steps every format shares around its own read and write steps."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image

from labelloop.data.formats import (
    FORMAT_NAMES,
    DetectionDataset,
    DetectionFormat,
    DetectionFormatError,
    DetectionRecord,
    read_coco,
    write_voc,
)
from labelloop.data.formats.coco import COCO
from labelloop.data.formats.labelstudio import LABEL_STUDIO
from labelloop.data.formats.voc import VOC
from labelloop.data.formats.yolo import YOLO
from labelloop.data.labels import Box

RECORDS = [
    DetectionRecord("a.png", 4, 4, (Box(x=0, y=0, width=2, height=2, label="cat"),)),
    DetectionRecord("sub/b.png", 4, 4, (), labeled=False),
]


class _Toy:
    """A format's own steps that keep what they were given; writing makes one file."""

    def __init__(self) -> None:
        self.written: list[DetectionRecord] | None = None
        self.read: tuple[object, object, object] | None = None

    def read_source(
        self, source: Path, image_root: Path | None, classes: Sequence[str] | None
    ) -> DetectionDataset:
        self.read = (source, image_root, classes)
        return DetectionDataset((), (), ())

    def write_annotations(
        self, records: list[DetectionRecord], classes: Sequence[str], dest: Path
    ) -> list[Path]:
        self.written = list(records)
        path = dest if dest.suffix else dest / "annotations.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("written")
        return [path]

    def format(self, *, keeps_unlabeled: bool = False, one_file: bool = True) -> DetectionFormat:
        return DetectionFormat(
            "coco",
            "Toy",
            self.read_source,
            self.write_annotations,
            keeps_unlabeled=keeps_unlabeled,
            one_file=one_file,
        )


def _images(root: Path) -> Path:
    for record in RECORDS:
        (root / record.file_name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("L", (record.width, record.height)).save(root / record.file_name)
    return root


@pytest.mark.parametrize("keeps_unlabeled", [True, False])
def test_write_hands_the_format_only_the_records_it_keeps(
    keeps_unlabeled: bool, tmp_path: Path
) -> None:
    toy = _Toy()

    toy.format(keeps_unlabeled=keeps_unlabeled).write(RECORDS, ["cat"], tmp_path / "out.json")

    assert toy.written == (RECORDS if keeps_unlabeled else RECORDS[:1])


@pytest.mark.parametrize(
    ("dest", "folder", "one_file"),
    [("out.json", "images", True), ("out", "out/images", False)],
)
def test_write_copies_the_kept_images_where_the_format_keeps_them(
    dest: str, folder: str, one_file: bool, tmp_path: Path
) -> None:
    toy = _Toy().format(one_file=one_file)

    written = toy.write(RECORDS, ["cat"], tmp_path / dest, image_root=_images(tmp_path / "src"))

    assert written[1:] == [tmp_path / folder / "a.png"]
    assert (tmp_path / folder / "a.png").is_file()
    assert not (tmp_path / folder / "sub").exists()


def test_write_checks_the_classes_before_the_format_writes_anything(tmp_path: Path) -> None:
    toy = _Toy()

    with pytest.raises(DetectionFormatError, match="not in the classes"):
        toy.format(keeps_unlabeled=True).write(RECORDS, ["dog"], tmp_path / "out.json")

    assert toy.written is None
    assert not (tmp_path / "out.json").exists()


def test_read_hands_the_format_paths(tmp_path: Path) -> None:
    toy = _Toy()
    source: object = str(tmp_path / "a.json")

    toy.format().read(source, image_root=str(tmp_path), classes=["cat"])  # type: ignore[arg-type]

    assert toy.read == (tmp_path / "a.json", tmp_path, ["cat"])
    assert isinstance(toy.read[0], Path)


@pytest.mark.parametrize(("detection_format", "title"), [(VOC, "VOC"), (YOLO, "YOLO")])
def test_a_folder_format_refuses_a_source_that_is_not_a_folder(
    detection_format: DetectionFormat, title: str, tmp_path: Path
) -> None:
    (tmp_path / "a.json").write_text("[]")

    with pytest.raises(DetectionFormatError, match=f"pass the {title} dataset folder"):
        detection_format.read(tmp_path / "a.json")


def test_a_one_file_format_hands_its_file_to_the_format(tmp_path: Path) -> None:
    toy = _Toy()

    toy.format(one_file=True).read(tmp_path / "a.json")

    assert toy.read == (tmp_path / "a.json", None, None)


def test_each_format_name_has_one_format_whose_methods_are_the_module_functions() -> None:
    formats = (COCO, LABEL_STUDIO, VOC, YOLO)

    assert tuple(sorted(f.name for f in formats)) == FORMAT_NAMES
    assert read_coco == COCO.read
    assert write_voc == VOC.write


def test_two_images_sharing_an_annotation_file_are_refused_before_any_is_written(
    tmp_path: Path,
) -> None:
    records = [
        DetectionRecord("a.png", 4, 4, ()),
        DetectionRecord("b.png", 4, 4, ()),
        DetectionRecord("a.jpg", 4, 4, ()),
    ]

    with pytest.raises(DetectionFormatError, match="share the annotation file"):
        write_voc(records, ["cat"], tmp_path / "out")

    assert not (tmp_path / "out" / "Annotations").exists()
