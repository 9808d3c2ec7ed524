"""The steps every detection format's writer shares.

:meth:`DetectionFormat.write <labelloop.data.formats._format.DetectionFormat.write>`
checks the records a format keeps (:func:`writable`), has the format write its
annotations (one JSON file with :func:`write_json`, or one text file per image
at the paths :func:`annotation_files` gives, with :func:`write_texts`), and
copies the images with :func:`copy_images` when it is given an image root.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from labelloop.data.formats._common import (
    CLASS_LIST,
    DetectionFormatError,
    DetectionRecord,
)


def writable(
    records: Sequence[DetectionRecord], classes: Sequence[str], *, unlabeled: bool
) -> list[DetectionRecord]:
    """The records a format writes, checked against ``classes``.

    Args:
        records: The records to write.
        classes: Class names in index order.
        unlabeled: Whether the format keeps unlabeled records (it can say
            "listed but not annotated"); otherwise they are left out.

    Returns:
        The records to write, in order.

    Raises:
        DetectionFormatError: A box's class is not in ``classes``, or a class
            name repeats.
    """
    if len(set(classes)) != len(classes):
        raise DetectionFormatError(f"class names must be unique, got {list(classes)}.")
    kept = [record for record in records if unlabeled or record.labeled]
    allowed = set(classes)
    for record in kept:
        for box in record.boxes:
            if box.label not in allowed:
                raise DetectionFormatError(
                    f"{record.file_name} has a box of class {box.label!r}, which is not in the "
                    f"classes {list(classes)}; add it to the classes to write it."
                )
    return kept


def copy_images(
    records: Iterable[DetectionRecord], image_root: Path | None, target: Path
) -> list[Path]:
    """Copies each record's image from ``image_root`` to the same place under ``target``.

    Args:
        records: Records whose ``file_name`` is relative to ``image_root``.
        image_root: Where the images are now, or ``None`` to copy nothing.
        target: The folder the written dataset keeps its images in.

    Returns:
        The files written (none when ``image_root`` is ``target``).

    Raises:
        DetectionFormatError: An image is missing under ``image_root``.
    """
    if image_root is None or image_root.resolve() == target.resolve():
        return []
    written: list[Path] = []
    for record in records:
        source = image_root / record.file_name
        if not source.is_file():
            raise DetectionFormatError(
                f"Image {source} does not exist; pass the folder that holds the images as "
                "image_root, or leave image_root out to write annotations only."
            )
        destination = target / record.file_name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        written.append(destination)
    return written


def write_json(dest: Path, payload: object) -> list[Path]:
    """Writes ``payload`` as one indented JSON file.

    Args:
        dest: The JSON file; its folder is created.
        payload: The annotations, as JSON values.

    Returns:
        ``[dest]``.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    return [dest]


def annotation_files(
    records: Sequence[DetectionRecord], folder: Path, suffix: str, what: str
) -> list[tuple[DetectionRecord, Path]]:
    """Each record's own annotation file: its image path under ``folder`` with ``suffix``.

    Args:
        records: The records.
        folder: Where the annotation files go.
        suffix: Their suffix, e.g. ``".xml"``.
        what: What the file is called in the error, e.g. ``"label"``.

    Returns:
        ``(record, path)`` in the records' order.

    Raises:
        DetectionFormatError: Two images would share a file (``a.png`` and ``a.jpg``).
    """
    targets: dict[PurePosixPath, str] = {}
    files: list[tuple[DetectionRecord, Path]] = []
    for record in records:
        target = PurePosixPath(record.file_name).with_suffix(suffix)
        if target in targets:
            raise DetectionFormatError(
                f"{record.file_name} and {targets[target]} would share the {what} file "
                f"{target}; rename one of the images."
            )
        targets[target] = record.file_name
        files.append((record, folder / target))
    return files


def write_texts(files: Iterable[tuple[Path, str]]) -> list[Path]:
    """Writes each text to its path (UTF-8), creating folders as needed.

    Args:
        files: ``(path, text)`` pairs.

    Returns:
        The paths written, in order.
    """
    written: list[Path] = []
    for path, text in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def number_text(value: float) -> str:
    """A coordinate as text that reads back to the same float.

    Args:
        value: The number.

    Returns:
        ``"12"`` for integral values, otherwise the shortest exact repr.
    """
    if value == int(value):
        return str(int(value))
    return repr(float(value))


def write_class_list(folder: Path, classes: Sequence[str]) -> Path:
    """Writes ``folder/classes.txt``, one class name per line in index order.

    Args:
        folder: The dataset folder (must exist).
        classes: Class names in index order.

    Returns:
        The file written.
    """
    path = folder / CLASS_LIST
    path.write_text("".join(f"{name}\n" for name in classes), encoding="utf-8")
    return path
