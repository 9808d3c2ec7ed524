"""Pascal VOC XML: one ``.xml`` file per image with ``<size>`` and ``<object>`` entries.

Coordinates: VOC's ``xmin, ymin, xmax, ymax`` are 1-based, inclusive pixel
indices in the original convention, so a box over pixel columns 0..9
(0-based) has ``xmin = 1, xmax = 10``. labelloop's box edges are therefore
``x = xmin - 1, width = xmax - xmin + 1`` (same for y), and writing does the
inverse, ``xmin = x + 1, xmax = x + width``. Integral values are written as
integers and others as their shortest exact decimal, so a round trip is exact
for whole pixels and within float rounding (about 1e-14 px) otherwise.

Reading (``source`` is a folder): the ``.xml`` files under
``source/Annotations`` when that folder exists, else under ``source``
itself. The image is ``<filename>`` (relative to the image root) and its size
is ``<size>``; every file found is a labeled image, one with no ``<object>``
meaning "no objects". ``<difficult>`` and ``<truncated>`` objects import like
any other. Classes are read from ``source/classes.txt`` when present (one per
line, which fixes their order), else in order of first appearance.

Writing (``dest`` is a folder): ``dest/Annotations/<image path>.xml`` for
each labeled record and ``dest/classes.txt``; unlabeled records are left
out. With ``image_root``, images are copied to ``dest/JPEGImages``.

XML is parsed with the standard library's expat, whose limits on entity
expansion guard against "billion laughs" files.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from labelloop.data.formats._common import (
    DetectionDataset,
    DetectionRecord,
    FormatProblem,
    RawBox,
    build_record,
    check_size,
    gather,
    missing_image,
    read_class_list,
)
from labelloop.data.formats._format import DetectionFormat
from labelloop.data.formats._writing import (
    annotation_files,
    number_text,
    write_class_list,
    write_texts,
)

__all__ = ["VOC", "read_voc", "write_voc"]

ANNOTATION_FOLDER = "Annotations"
VOC_IMAGE_FOLDER = "JPEGImages"
_CORNERS = ("xmin", "ymin", "xmax", "ymax")


def _text(element: ET.Element, path: str) -> str | None:
    found = element.find(path)
    if found is None or found.text is None or not found.text.strip():
        return None
    return found.text.strip()


def _number(element: ET.Element, path: str) -> float | None:
    text = _text(element, path)
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def _object_box(obj: ET.Element, where: str) -> RawBox | str:
    """One ``<object>`` as a pixel box, or the reason it is refused."""
    name = _text(obj, "name")
    if name is None:
        return "the object has no <name>; add the class name"
    corners = [_number(obj, f"bndbox/{tag}") for tag in _CORNERS]
    if any(value is None for value in corners):
        return (
            "<bndbox> needs numeric <xmin>, <ymin>, <xmax>, <ymax>; fix the object "
            "(the image's record is not imported)"
        )
    xmin, ymin, xmax, ymax = (float(value or 0.0) for value in corners)
    return RawBox(xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1, name, where)


def _read_file(
    path: Path, image_root: Path | None, allowed: Sequence[str] | None
) -> tuple[DetectionRecord | None, list[FormatProblem]]:
    file = str(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        line, column = exc.position
        return None, [
            FormatProblem(
                file, f"line {line}", f"not well-formed XML ({exc}) at column {column}; fix it"
            )
        ]
    file_name = _text(root, "filename")
    size = check_size(_number(root, "size/width"), _number(root, "size/height"))
    if file_name is None or size is None:
        return None, [
            FormatProblem(
                file,
                None,
                "needs <filename> and a <size> with positive integer <width> and <height>; "
                "add them",
            )
        ]
    absent = missing_image(image_root, file_name, file)
    if absent is not None:
        return None, [absent]
    raw: list[RawBox] = []
    problems: list[FormatProblem] = []
    for number, obj in enumerate(root.iter("object"), start=1):
        parsed = _object_box(obj, f"object {number}")
        if isinstance(parsed, str):
            problems.append(FormatProblem(file, f"object {number}", parsed))
        else:
            raw.append(parsed)
    record, box_problems = build_record(file_name, size, raw, file=file, classes=allowed)
    return (None if problems else record), problems + box_problems


def _read(source: Path, image_root: Path | None, classes: Sequence[str] | None) -> DetectionDataset:
    """Reads a folder of Pascal VOC XML files (rules in the module docstring).

    ``source`` is the dataset folder (holding ``Annotations/``) or the folder
    of XML files; ``classes=None`` takes ``classes.txt``, else the order of
    first appearance.
    """
    folder = source / ANNOTATION_FOLDER
    folder = folder if folder.is_dir() else source
    if classes is None:
        classes = read_class_list(source) or None
    results = (_read_file(path, image_root, classes) for path in sorted(folder.rglob("*.xml")))
    return gather(results, classes)


def _element(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    child.text = text
    return child


def _document(record: DetectionRecord) -> str:
    root = ET.Element("annotation")
    _element(root, "folder", VOC_IMAGE_FOLDER)
    _element(root, "filename", record.file_name)
    size = _element(root, "size")
    _element(size, "width", str(record.width))
    _element(size, "height", str(record.height))
    _element(size, "depth", "3")
    for box in record.boxes:
        obj = _element(root, "object")
        _element(obj, "name", box.label)
        _element(obj, "difficult", "0")
        bndbox = _element(obj, "bndbox")
        corners = (box.x + 1, box.y + 1, box.x + box.width, box.y + box.height)
        for tag, value in zip(_CORNERS, corners, strict=True):
            _element(bndbox, tag, number_text(value))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


def _write(labeled: list[DetectionRecord], classes: Sequence[str], dest: Path) -> list[Path]:
    """Writes ``classes.txt`` and the XML files under ``dest`` (rules in the module docstring).

    Raises:
        DetectionFormatError: Two images would share an XML file (``a.png`` and ``a.jpg``).
    """
    files = annotation_files(labeled, dest / ANNOTATION_FOLDER, ".xml", "annotation")
    dest.mkdir(parents=True, exist_ok=True)
    written = [write_class_list(dest, classes)]
    written += write_texts((path, _document(record)) for record, path in files)
    return written


VOC = DetectionFormat(
    "voc",
    "VOC",
    _read,
    _write,
    keeps_unlabeled=False,
    one_file=False,
    image_folder=VOC_IMAGE_FOLDER,
)
read_voc = VOC.read
write_voc = VOC.write
