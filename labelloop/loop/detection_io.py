"""Detection labels in and out of a project: COCO, YOLO, Pascal VOC, Label Studio.

Importing reads the annotations with :func:`labelloop.data.formats.read_detections`
(checked against the project's classes), then adds each image like
:meth:`Workspace.import_folder` does: decoded, hashed, copied into the media
folder, duplicates skipped, its boxes recorded as an ``import`` label event.
A format problem (a malformed box, an unknown class, a missing image) is
reported and that image left out; everything else imports.

Exporting writes the current labels, or a snapshot's, in any of the formats,
with the images copied beside the annotations where the format keeps them, so
the export imports back (here or in another tool) with every box.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from PIL import Image, UnidentifiedImageError

from labelloop.data.formats import (
    DetectionRecord,
    FormatName,
    FormatProblem,
    detection_format,
    read_detections,
    write_detections,
)
from labelloop.data.labels import Box
from labelloop.errors import LabelloopError
from labelloop.loop.export import labeled_pairs
from labelloop.loop.workspace import ImportReport, Workspace
from labelloop.store import Item, LabelEvent

__all__ = [
    "DetectionImportReport",
    "NotADetectionProjectError",
    "default_image_root",
    "detection_records",
    "export_detections",
    "import_detections",
]


class NotADetectionProjectError(LabelloopError, ValueError):
    """Boxes were imported into or exported from a project whose task is not detection."""


@dataclass
class DetectionImportReport(ImportReport):
    """What one detection import did: the counts, rejected files, and format problems.

    Attributes:
        problems: entries of the annotation source that did not import, and why
            (the image of a refused box is left out whole, so no image imports
            with part of its label missing).
    """

    problems: list[FormatProblem] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        """Counts of imported, labeled, duplicate and rejected files, and format problems."""
        return {**super().summary(), "problems": len(self.problems)}


def _require_detection(ws: Workspace) -> None:
    if ws.config.task != "detection":
        raise NotADetectionProjectError(
            f"project {ws.project.name!r} is a {ws.config.task} project; detection formats "
            "carry boxes: create a project with task: detection to use them"
        )


def default_image_root(fmt: FormatName, source: Path) -> Path:
    """Where a format's images are, when the importer is not told.

    COCO and Label Studio: ``images/`` beside the JSON file. VOC:
    ``JPEGImages/`` or ``images/`` in the dataset folder if present; YOLO:
    ``images/`` in it if present; else the folder itself. These are the
    places labelloop's own writers put the images
    (:meth:`~labelloop.data.formats.DetectionFormat.default_image_root`).

    Args:
        fmt: the annotation format.
        source: the annotation file (COCO, Label Studio) or dataset folder (VOC, YOLO).

    Returns:
        The folder image file names are relative to.
    """
    return detection_format(fmt).default_image_root(source)


def _size_problem(record: DetectionRecord, item_size: tuple[int, int], file: str) -> FormatProblem:
    width, height = item_size
    return FormatProblem(
        file,
        f"image {record.file_name!r}",
        f"the annotations say the image is {record.width}x{record.height} but the file is "
        f"{width}x{height}; the boxes would not fit it: fix the annotation's image size",
    )


def import_detections(
    ws: Workspace,
    fmt: FormatName,
    source: Path,
    *,
    image_root: Path | None = None,
    annotator: str | None = None,
    batch_size: int = 256,
    on_file: Callable[[], None] | None = None,
) -> DetectionImportReport:
    """Import a detection dataset in one of the formats into a detection project.

    Args:
        ws: the open detection project.
        fmt: ``coco``, ``yolo``, ``voc`` or ``labelstudio``.
        source: the annotation file (COCO, Label Studio) or dataset folder (VOC, YOLO).
        image_root: the folder the annotations' image names are relative to;
            default :func:`default_image_root`.
        annotator: who made the imported labels.
        batch_size: images per transaction.
        on_file: called once per image, for progress.

    Returns:
        Counts, rejected image files, and the format problems found.

    Raises:
        NotADetectionProjectError: the project's task is not detection.
        DetectionFormatError: the format is unknown or the source cannot be read at all.
    """
    _require_detection(ws)
    source = Path(source)
    root = default_image_root(fmt, source) if image_root is None else Path(image_root)
    dataset = read_detections(fmt, source, image_root=root, classes=ws.config.classes)
    report = DetectionImportReport(problems=list(dataset.problems))
    files = _import_entries(dataset.records, root, str(source), report)
    imported = ws.import_files(files, annotator=annotator, batch_size=batch_size, on_file=on_file)
    report.imported, report.labeled = imported.imported, imported.labeled
    report.duplicates, report.rejected = imported.duplicates, imported.rejected
    return report


def _import_entries(
    records: tuple[DetectionRecord, ...],
    root: Path,
    file: str,
    report: DetectionImportReport,
) -> Iterator[tuple[Path, str, Any]]:
    """``(path, name, label)`` per record whose stated size matches its image file."""
    for record in records:
        path = root / record.file_name
        try:
            with Image.open(path) as image:
                size = image.size
        except (OSError, UnidentifiedImageError):
            size = None  # the workspace reports the unreadable file
        if size is not None and size != (record.width, record.height):
            report.problems.append(_size_problem(record, size, file))
            continue
        label = [box.model_dump() for box in record.boxes] if record.labeled else None
        yield path, record.file_name, label


def _export_name(item: Item, taken: set[str]) -> str:
    """The item's file name in the export: its imported name, made unique by its id."""
    name = PurePosixPath(item.name.replace("\\", "/")).as_posix().lstrip("/")
    if not PurePosixPath(name).suffix:
        name += PurePosixPath(item.uri).suffix
    if ".." in PurePosixPath(name).parts or name in taken:
        name = f"{item.id}_{PurePosixPath(name).name}"
    taken.add(name)
    return name


def detection_records(
    pairs: list[tuple[Item, LabelEvent]], *, include_auto: bool = False
) -> list[tuple[Item, DetectionRecord]]:
    """Labeled items as detection records, each named by a unique file name.

    Args:
        pairs: items with their label events (see :func:`labeled_pairs`).
        include_auto: keep auto labels no person has checked (left out by
            default: an export is meant for training and review).

    Returns:
        ``(item, record)`` per exported item, in the order given.
    """
    taken: set[str] = set()
    records = []
    for item, event in pairs:
        if event.value is None or (event.source == "auto" and not include_auto):
            continue
        boxes = tuple(
            Box(
                x=float(b["x"]),
                y=float(b["y"]),
                width=float(b["width"]),
                height=float(b["height"]),
                label=str(b["label"]),
            )
            for b in event.value
        )
        name = _export_name(item, taken)
        records.append((item, DetectionRecord(name, item.width, item.height, boxes)))
    return records


def _export_image_folder(fmt: FormatName, dest: Path) -> Path:
    """Where a format keeps its images, as the format's writer would copy them."""
    if fmt in ("coco", "labelstudio"):
        return dest.parent / "images"
    return dest / ("JPEGImages" if fmt == "voc" else "images")


def export_detections(
    ws: Workspace,
    fmt: FormatName,
    dest: Path,
    *,
    snapshot: int | None = None,
    include_auto: bool = False,
    copy_images: bool = True,
) -> list[Path]:
    """Write a detection project's labels, current or at a snapshot, in a format.

    Args:
        ws: the open detection project.
        fmt: ``coco``, ``yolo``, ``voc`` or ``labelstudio``.
        dest: the JSON file to write (COCO, Label Studio) or the dataset folder
            (VOC, YOLO).
        snapshot: a snapshot id, or None for the current labels.
        include_auto: export auto labels no person has checked too.
        copy_images: copy the images where the format keeps them
            (:func:`default_image_root` finds them there on import).

    Returns:
        The files written, annotations first.

    Raises:
        NotADetectionProjectError: the project's task is not detection.
    """
    _require_detection(ws)
    dest = Path(dest)
    exported = detection_records(labeled_pairs(ws, snapshot), include_auto=include_auto)
    if fmt in ("coco", "labelstudio"):
        dest.parent.mkdir(parents=True, exist_ok=True)
    else:
        dest.mkdir(parents=True, exist_ok=True)
    written = write_detections(fmt, [record for _, record in exported], ws.config.classes, dest)
    if copy_images:
        folder = _export_image_folder(fmt, dest)
        for item, record in exported:
            target = folder / record.file_name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ws.image_path(item), target)
            written.append(target)
    return written


def export_detections_zip(
    ws: Workspace, fmt: FormatName, *, snapshot: int | None = None, include_auto: bool = False
) -> bytes:
    """A detection export with its images as one zip, as the API and the dashboard serve it.

    The zip holds what :func:`export_detections` writes (annotations, then the
    images where the format keeps them), under one folder named after the format.
    """
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dest = root / (f"{fmt}.json" if fmt in ("coco", "labelstudio") else fmt)
        written = export_detections(ws, fmt, dest, snapshot=snapshot, include_auto=include_auto)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
            for path in written:
                archive.write(path, f"{fmt}/{path.relative_to(root).as_posix()}")
        return buffer.getvalue()
