"""Reading a ``filename,label`` CSV that labels the images of a flat folder."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from labelloop.errors import LabelloopError

__all__ = ["CsvFormatError", "CsvRowProblem", "read_labels_csv"]

_COLUMNS = ("filename", "label")


class CsvFormatError(LabelloopError, ValueError):
    """A labels CSV that cannot be read at all: no usable header, not UTF-8, broken quoting."""


@dataclass(frozen=True)
class CsvRowProblem:
    """A CSV row that labels nothing.

    Attributes:
        line: 1-based line number in the CSV file.
        message: What is wrong with the row.
    """

    line: int
    message: str


def _header_indices(header: list[str], labels_csv: Path) -> tuple[int, int]:
    names = [cell.strip().lower() for cell in header]
    missing = [column for column in _COLUMNS if column not in names]
    if missing:
        raise CsvFormatError(
            f"{labels_csv}: the first line must be the header 'filename,label'; found "
            f"{header!r}, missing {', '.join(missing)}. Add or fix the header line."
        )
    repeated = [column for column in _COLUMNS if names.count(column) > 1]
    if repeated:
        raise CsvFormatError(
            f"{labels_csv}: the header names {', '.join(repeated)} more than once; "
            "keep one 'filename' and one 'label' column."
        )
    return names.index("filename"), names.index("label")


class _Labels:
    """Accumulates labels row by row, keeping the first label of each file."""

    def __init__(self, root: Path) -> None:
        with os.scandir(root) as entries:
            self.files = {entry.name for entry in entries if entry.is_file()}
        self.root = root
        self.first: dict[str, tuple[str, int]] = {}
        self.conflicted: set[str] = set()

    def add(self, filename: str, label: str, line: int) -> str | None:
        """Records one row; returns what is wrong with it, or ``None``."""
        if not filename:
            return "empty filename; name the image file relative to the folder"
        filename = PurePosixPath(filename).as_posix()  # "./a.png" names "a.png"
        if filename not in self.files:
            return f"{filename!r} is not a file in {self.root}; names are relative to that folder"
        if not label:
            return f"empty label for {filename!r}; give its class or leave the row out"
        first_label, first_line = self.first.setdefault(filename, (label, line))
        if first_label == label:
            return None
        self.conflicted.add(filename)
        return (
            f"{filename!r} is listed again with label {label!r}, but line {first_line} says "
            f"{first_label!r}; the image is imported unlabeled until one row remains"
        )

    def result(self) -> dict[str, str | None]:
        return {
            name: None if name in self.conflicted else label
            for name, (label, _) in self.first.items()
        }


def read_labels_csv(
    labels_csv: Path, root: Path
) -> tuple[dict[str, str | None], list[CsvRowProblem]]:
    """Reads the labels of a flat folder's images from a CSV file.

    The CSV needs a header naming a ``filename`` and a ``label`` column (any
    case, any order, other columns ignored). Cells are stripped; blank lines are
    skipped; a file listed twice with the same label is fine.

    Args:
        labels_csv: The CSV file, UTF-8 (a byte-order mark is allowed).
        root: The folder the file names are relative to.

    Returns:
        The label of each file named by a good row (``None`` for a file whose
        rows disagree), and the problems of the other rows.

    Raises:
        CsvFormatError: The header is missing or malformed, the file is not UTF-8,
            or its quoting is broken.
    """
    labels = _Labels(root)
    problems: list[CsvRowProblem] = []
    with labels_csv.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                raise CsvFormatError(
                    f"{labels_csv} is empty; write the header 'filename,label' and one row "
                    "per image."
                )
            filename_at, label_at = _header_indices(header, labels_csv)
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) <= max(filename_at, label_at):
                    problem: str | None = (
                        f"expected the columns {header!r}, found {len(row)} value(s) {row!r}"
                    )
                else:
                    problem = labels.add(
                        row[filename_at].strip(), row[label_at].strip(), reader.line_num
                    )
                if problem is not None:
                    problems.append(CsvRowProblem(reader.line_num, problem))
        except UnicodeDecodeError as exc:
            raise CsvFormatError(
                f"{labels_csv} is not UTF-8 text ({exc}); save it as UTF-8."
            ) from exc
        except csv.Error as exc:
            raise CsvFormatError(
                f"{labels_csv}, line {reader.line_num}: {exc}; check the quoting of that line."
            ) from exc
    return labels.result(), problems
