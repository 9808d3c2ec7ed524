"""Which of the accepted folder layouts a folder to import uses.

Three layouts are accepted (hidden entries, named ``.*``, never decide the
layout):

- ``class_folders``: ``root/<class>/<image>``; the folder name is the label.
- ``flat``: ``root/<image>``; images are unlabeled.
- ``flat_csv``: ``flat`` plus a CSV file with the header ``filename,label``
  whose file names are relative to ``root``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from labelloop.errors import LabelloopError

__all__ = ["DatasetNotFoundError", "ImportLayoutError", "Layout", "detect_layout"]

Layout = Literal["class_folders", "flat", "flat_csv"]

_LAYOUT_HELP = (
    "Accepted layouts: 'class_folders' (root holds only subfolders, one per class, "
    "each holding images: root/cat/1.png), 'flat' (root holds only image files: "
    "root/1.png), and 'flat_csv' (flat, plus labels_csv with the header "
    "'filename,label')."
)


class DatasetNotFoundError(LabelloopError, FileNotFoundError):
    """The folder (or labels CSV) to import does not exist."""


class ImportLayoutError(LabelloopError, ValueError):
    """The folder to import matches none of the accepted layouts."""


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _sorted_entries(folder: Path) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as entries:
        return sorted(entries, key=lambda entry: entry.name)


def _first_visible(folder: Path, *, dirs: bool) -> str | None:
    """Name of some non-hidden subfolder (``dirs``) or file in ``folder``, if any."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if not _is_hidden(entry.name) and entry.is_dir() == dirs:
                return entry.name
    return None


def _check_exists(root: Path, labels_csv: Path | None) -> None:
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise DatasetNotFoundError(
            f"Image folder {root} {what}; pass the folder that holds the images."
        )
    if labels_csv is not None and not labels_csv.is_file():
        raise DatasetNotFoundError(
            f"Labels CSV {labels_csv} does not exist; pass the path of the 'filename,label' file "
            "or leave labels_csv out."
        )


def detect_layout(root: Path, labels_csv: Path | None = None) -> Layout:
    """Tells which accepted layout a folder uses (see the module docstring).

    Hidden files and folders (named ``.*``) are ignored here; a labels CSV
    stored inside a flat ``root`` is allowed.

    Args:
        root: The folder to import.
        labels_csv: A ``filename,label`` CSV for a flat folder, or ``None``.

    Returns:
        ``"class_folders"``, ``"flat"`` or ``"flat_csv"``. An empty folder is flat.

    Raises:
        DatasetNotFoundError: ``root`` or ``labels_csv`` does not exist.
        ImportLayoutError: The folder mixes files and subfolders, a class folder
            holds subfolders, or a labels CSV is given for class folders.
    """
    root, labels_csv = Path(root), None if labels_csv is None else Path(labels_csv)
    _check_exists(root, labels_csv)
    a_dir = _first_visible(root, dirs=True)
    if a_dir is None:
        return "flat" if labels_csv is None else "flat_csv"
    a_file = _first_visible(root, dirs=False)
    if a_file is not None:
        raise ImportLayoutError(
            f"{root} mixes files (e.g. {a_file!r}) and folders (e.g. {a_dir!r}/). "
            f"{_LAYOUT_HELP} Move the loose files into class folders, or the images out "
            "of the folders."
        )
    if labels_csv is not None:
        raise ImportLayoutError(
            f"{root} holds class folders, which already name the labels; leave labels_csv "
            f"({labels_csv}) out, or import a flat folder. {_LAYOUT_HELP}"
        )
    for entry in _sorted_entries(root):
        if _is_hidden(entry.name) or not entry.is_dir():
            continue
        nested = _first_visible(Path(entry.path), dirs=True)
        if nested is not None:
            raise ImportLayoutError(
                f"Class folder {entry.path} holds a folder ({nested!r}/); class folders must "
                f"hold images directly. {_LAYOUT_HELP} If the data is split (train/val), "
                "import each split's folder on its own."
            )
    return "class_folders"
