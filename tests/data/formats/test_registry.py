"""Detection formats by name: the built-in four, where each finds its images, and plug-ins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from labelloop.data.formats import (
    DETECTION_FORMATS,
    FORMAT_NAMES,
    DetectionFormatError,
    detection_format,
)


def test_every_built_in_format_is_registered_under_its_own_name() -> None:
    assert FORMAT_NAMES == ("coco", "labelstudio", "voc", "yolo")
    for name in FORMAT_NAMES:
        assert name in DETECTION_FORMATS
        assert detection_format(name).name == name


@pytest.mark.parametrize("name", ["coco", "labelstudio"])
def test_one_file_formats_find_images_beside_the_file(tmp_path: Path, name: str) -> None:
    source = tmp_path / "export" / "labels.json"
    assert detection_format(name).default_image_root(source) == tmp_path / "export" / "images"


def test_folder_formats_look_for_their_image_folder_then_images_then_the_folder(
    tmp_path: Path,
) -> None:
    voc, yolo = detection_format("voc"), detection_format("yolo")
    assert voc.default_image_root(tmp_path) == tmp_path  # nothing there: the folder itself
    assert yolo.default_image_root(tmp_path) == tmp_path
    (tmp_path / "images").mkdir()
    assert voc.default_image_root(tmp_path) == tmp_path / "images"
    assert yolo.default_image_root(tmp_path) == tmp_path / "images"
    (tmp_path / "JPEGImages").mkdir()
    assert voc.default_image_root(tmp_path) == tmp_path / "JPEGImages"
    assert yolo.default_image_root(tmp_path) == tmp_path / "images"


def test_an_unknown_name_is_refused_with_the_names() -> None:
    with pytest.raises(DetectionFormatError, match="choose one of: coco, labelstudio, voc, yolo"):
        detection_format("pascal")


_PLUGIN = """
import json
from pathlib import Path

from labelloop.data.formats import DetectionDataset, DetectionFormat, DetectionRecord
from labelloop.data.labels import Box


def _read(source, image_root, classes):
    rows = json.loads(Path(source).read_text())
    names = tuple(classes) if classes else tuple(rows["classes"])
    records = tuple(
        DetectionRecord(r["file"], r["w"], r["h"], tuple(Box(**b) for b in r["boxes"]))
        for r in rows["images"]
    )
    return DetectionDataset(records, names, ())


def _write(records, classes, dest):
    images = [
        {"file": r.file_name, "w": r.width, "h": r.height,
         "boxes": [{"x": b.x, "y": b.y, "width": b.width, "height": b.height, "label": b.label}
                   for b in r.boxes]}
        for r in records
    ]
    Path(dest).write_text(json.dumps({"classes": list(classes), "images": images}))
    return [Path(dest)]


TINY = DetectionFormat("tiny", "Tiny JSON", _read, _write, keeps_unlabeled=True, one_file=True)
NOT_A_FORMAT = 42
"""


def test_an_installed_package_adds_a_format_by_entry_point(tmp_path: Path) -> None:
    """A package declaring a ``labelloop.detection_formats`` entry point adds a format that
    reads and writes by name, labelloop untouched; an entry naming no format is refused."""
    (tmp_path / "tiny_format.py").write_text(_PLUGIN)
    info = tmp_path / "tiny_format-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-format\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[labelloop.detection_formats]\n"
        "tiny = tiny_format:TINY\n"
        "broken = tiny_format:NOT_A_FORMAT\n"
    )
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from labelloop.data.formats import DETECTION_FORMATS, DetectionFormatError, "
        "DetectionRecord, read_detections, write_detections\n"
        "from labelloop.data.labels import Box\n"
        "dest = Path(sys.argv[1]) / 'boxes.json'\n"
        "record = DetectionRecord('a.png', 20, 10, (Box(x=1, y=2, width=3, height=4, "
        "label='cat'),))\n"
        "write_detections('tiny', [record], ['cat'], dest)\n"
        "back = read_detections('tiny', dest)\n"
        "print(','.join(DETECTION_FORMATS.names()))\n"
        "print(back.records == (record,), back.classes)\n"
        "try:\n"
        "    read_detections('broken', dest)\n"
        "except DetectionFormatError as error:\n"
        "    print(error)\n"
    )
    paths = [str(tmp_path), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    names, round_trip, refusal = done.stdout.strip().splitlines()
    assert names == "broken,coco,labelstudio,tiny,voc,yolo"
    assert round_trip == "True ('cat',)"
    assert refusal == "detection format 'broken' names a int, not a DetectionFormat"
