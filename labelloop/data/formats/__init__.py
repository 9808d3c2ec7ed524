"""Object-detection annotation formats: COCO, YOLO, Pascal VOC and Label Studio.

Each format has a reader and a writer over the same types: a
:class:`DetectionRecord` per image with boxes in pixels of the original image.
Each format's module makes one :class:`DetectionFormat` from its own read and
write steps (the shared checks, the image copy and the dispatch are written
once) and says what its ``source``/``dest`` is and where images are found;
:data:`DETECTION_FORMATS` names them, and :func:`read_detections` and
:func:`write_detections` pick the format by name. Another installed package
adds a format with an entry point in the group ``labelloop.detection_formats``
naming its :class:`DetectionFormat` object.
Write-then-read round trips keep every box (to float rounding), the class
order and "no objects" labels, wherever the format can express them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from labelloop.data.formats._common import (
    EDGE_TOLERANCE_PX,
    DetectionDataset,
    DetectionFormatError,
    DetectionRecord,
    FormatName,
    FormatProblem,
)
from labelloop.data.formats._format import DetectionFormat
from labelloop.data.formats.coco import read_coco, write_coco
from labelloop.data.formats.labelstudio import read_labelstudio, write_labelstudio
from labelloop.data.formats.voc import read_voc, write_voc
from labelloop.data.formats.yolo import read_yolo, write_yolo
from labelloop.plugins import Registry

__all__ = [
    "DETECTION_FORMATS",
    "EDGE_TOLERANCE_PX",
    "FORMAT_NAMES",
    "DetectionDataset",
    "DetectionFormat",
    "DetectionFormatError",
    "DetectionRecord",
    "FormatName",
    "FormatProblem",
    "detection_format",
    "read_coco",
    "read_detections",
    "read_labelstudio",
    "read_voc",
    "read_yolo",
    "write_coco",
    "write_detections",
    "write_labelstudio",
    "write_voc",
    "write_yolo",
]

DETECTION_FORMATS: Registry[DetectionFormat] = Registry(
    "detection format", error=DetectionFormatError, group="labelloop.detection_formats"
)
"""Format name -> the :class:`DetectionFormat` object its module makes."""

_BUILT_IN = {
    "coco": ("coco:COCO", "COCO JSON: one file, images beside it in images/"),
    "labelstudio": ("labelstudio:LABEL_STUDIO", "a Label Studio JSON export"),
    "voc": ("voc:VOC", "Pascal VOC: a folder of XML files, images in JPEGImages/"),
    "yolo": ("yolo:YOLO", "YOLO: a dataset folder of label files and classes.txt"),
}
for _name, (_target, _help) in _BUILT_IN.items():
    DETECTION_FORMATS.add(_name, f"{__name__}.{_target}", help=_help)

FORMAT_NAMES: tuple[str, ...] = tuple(_BUILT_IN)
"""The formats labelloop itself reads and writes (``DETECTION_FORMATS.names()``
adds those of installed plug-ins)."""


def detection_format(name: str) -> DetectionFormat:
    """The format of ``name``, built in or from an installed plug-in.

    Raises:
        DetectionFormatError: No format has that name (the message lists them),
            or a plug-in's entry point names something that is not a format.
    """
    found: object = DETECTION_FORMATS.load(name)
    if not isinstance(found, DetectionFormat):
        raise DetectionFormatError(
            f"detection format {name!r} names a {type(found).__name__}, not a DetectionFormat"
        )
    return found


def read_detections(
    format: FormatName,
    source: Path,
    *,
    image_root: Path | None = None,
    classes: Sequence[str] | None = None,
) -> DetectionDataset:
    """Reads detection annotations in one of :data:`DETECTION_FORMATS`.

    Args:
        format: ``"coco"`` (``source`` is the JSON file), ``"labelstudio"``
            (the exported JSON file), ``"voc"`` (a folder of XML files or one
            holding ``Annotations/``) or ``"yolo"`` (the dataset folder).
        source: The annotation file or folder.
        image_root: The folder image paths are relative to. When given,
            images missing from it are reported (YOLO finds its images there
            instead of in ``source``).
        classes: The classes boxes may have, in index order; boxes of other
            classes are reported. ``None`` takes the classes the source declares.

    Returns:
        The records that imported, the classes, and the problems found.

    Raises:
        DetectionFormatError: The format is unknown or the source cannot be
            read at all (not JSON, not a folder, no class names for YOLO).
    """
    return detection_format(format).read(source, image_root=image_root, classes=classes)


def write_detections(
    format: FormatName,
    dataset_or_records: DetectionDataset | Sequence[DetectionRecord],
    classes: Sequence[str],
    dest: Path,
    *,
    image_root: Path | None = None,
) -> list[Path]:
    """Writes detection annotations in one of :data:`DETECTION_FORMATS`.

    Args:
        format: ``"coco"`` or ``"labelstudio"`` (``dest`` is the JSON file),
            ``"voc"`` or ``"yolo"`` (``dest`` is the dataset folder).
        dataset_or_records: The records, or a dataset whose records to write.
        classes: Class names in index order; every box's class must be one.
        dest: The file or folder to write.
        image_root: Where the images are now, to copy them into the written
            dataset (COCO, Label Studio: ``dest.parent/images``; VOC:
            ``dest/JPEGImages``; YOLO: ``dest/images``). ``None`` writes
            annotations only.

    Returns:
        The files written.

    Raises:
        DetectionFormatError: The format is unknown, a box's class is not in
            ``classes``, or an image to copy is missing.
    """
    records = (
        dataset_or_records.records
        if isinstance(dataset_or_records, DetectionDataset)
        else dataset_or_records
    )
    return detection_format(format).write(records, classes, dest, image_root=image_root)
