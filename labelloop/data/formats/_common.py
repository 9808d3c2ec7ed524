"""Types and checks shared by the detection formats.

Every reader turns a format's files into :class:`DetectionRecord` values, one
per image, with boxes in pixels of the original image (``x, y, width,
height`` from the top-left corner, as :class:`labelloop.data.labels.Box`).

The rules every reader follows:

- A problem with one entry (a box, a line, an image) becomes a
  :class:`FormatProblem` and the rest imports; only a file that cannot be read
  at all raises :class:`DetectionFormatError`.
- A box that pokes out of its image by at most :data:`EDGE_TOLERANCE_PX`
  pixels (rounding in the tool that wrote it) is clipped silently. A box
  further out, of zero or negative size, or of an unknown class is reported,
  and the **whole image's record is dropped**, so no image imports with part
  of its label missing.
- When an image root is given, an image that is not a file under it is
  reported and its record dropped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from PIL import Image, UnidentifiedImageError

from labelloop.data.labels import Box
from labelloop.errors import LabelloopError

FormatName = str
"""A detection format's name: one of ``labelloop.data.formats.DETECTION_FORMATS``."""

IMAGE_FOLDER = "images"
"""Where writers copy images to, beside or inside the annotations."""

EDGE_TOLERANCE_PX = 0.5
"""How far (pixels) a box may leave its image and still be clipped silently."""


class DetectionFormatError(LabelloopError, ValueError):
    """An annotation source that cannot be read at all (not JSON, no class names...)."""


@dataclass(frozen=True)
class DetectionRecord:
    """One image and its detection label.

    Attributes:
        file_name: Path of the image relative to the image root, with ``/``
            separators.
        width: Image width in pixels.
        height: Image height in pixels.
        boxes: The objects, in pixels of the original image; empty for
            "no objects" (a label) or for an unlabeled image.
        labeled: ``False`` when the format lists the image but gives no
            annotation for it at all; each reader documents its rule.
    """

    file_name: str
    width: int
    height: int
    boxes: tuple[Box, ...]
    labeled: bool = True

    def __post_init__(self) -> None:
        if not self.labeled and self.boxes:
            raise DetectionFormatError(
                f"{self.file_name} is unlabeled but has boxes; set labeled=True or drop the boxes."
            )


@dataclass(frozen=True)
class FormatProblem:
    """One thing a reader could not import, and why.

    Attributes:
        file: The annotation file or image it concerns.
        where: The place in that file (``"line 12"``, ``"annotation id 7"``,
            ``"object 3"``), or ``None`` for the whole file.
        reason: What is wrong and how to fix it.
    """

    file: str
    where: str | None
    reason: str

    def __str__(self) -> str:
        place = f" ({self.where})" if self.where else ""
        return f"{self.file}{place}: {self.reason}"


@dataclass(frozen=True)
class DetectionDataset:
    """What a reader imported.

    Attributes:
        records: One record per image that imported, in the source's order.
        classes: Class names in index order: the ``classes`` argument when one
            was given, otherwise the names the source declares (or, where the
            format declares none, the order of first appearance).
        problems: Entries that did not import, and why.
    """

    records: tuple[DetectionRecord, ...]
    classes: tuple[str, ...]
    problems: tuple[FormatProblem, ...]


@dataclass(frozen=True)
class RawBox:
    """A box as a format states it, converted to pixels but not yet checked.

    Attributes:
        x: Left edge in pixels.
        y: Top edge in pixels.
        width: Width in pixels.
        height: Height in pixels.
        label: Class name.
        where: Its place in the annotation file, for problems.
    """

    x: float
    y: float
    width: float
    height: float
    label: str
    where: str


def check_box(
    raw: RawBox, width: int, height: int, classes: Sequence[str] | None, file: str
) -> Box | FormatProblem:
    """Checks one box against its image and the allowed classes.

    Args:
        raw: The box in pixels.
        width: Image width in pixels.
        height: Image height in pixels.
        classes: Allowed class names, or ``None`` to allow any.
        file: The annotation file, for the problem.

    Returns:
        The box, clipped to the image when it leaves it by at most
        :data:`EDGE_TOLERANCE_PX`; otherwise a problem saying why it is refused.
    """

    def problem(reason: str) -> FormatProblem:
        return FormatProblem(file, raw.where, reason)

    numbers = (raw.x, raw.y, raw.width, raw.height)
    if not all(math.isfinite(value) for value in numbers):
        return problem(f"box {numbers} has a non-finite coordinate; write finite numbers")
    if raw.width <= 0 or raw.height <= 0:
        return problem(
            f"box of class {raw.label!r} has zero or negative size "
            f"(width {raw.width:g}, height {raw.height:g}); fix or delete it"
        )
    if classes is not None and raw.label not in classes:
        return problem(
            f"class {raw.label!r} is not one of the classes {list(classes)}; "
            "add it to the classes or relabel the box"
        )
    right, bottom = raw.x + raw.width, raw.y + raw.height
    tol = EDGE_TOLERANCE_PX
    if raw.x < -tol or raw.y < -tol or right > width + tol or bottom > height + tol:
        return problem(
            f"box x={raw.x:g}, y={raw.y:g}, width={raw.width:g}, height={raw.height:g} "
            f"of class {raw.label!r} lies outside the {width}x{height} image by more than "
            f"{tol} px; fix the box (the image's record is not imported)"
        )
    left, top = max(raw.x, 0.0), max(raw.y, 0.0)
    right, bottom = min(right, float(width)), min(bottom, float(height))
    if right <= left or bottom <= top:
        return problem(f"box of class {raw.label!r} has no area inside the image; delete it")
    if (left, top, right - left, bottom - top) == numbers:
        return Box(x=raw.x, y=raw.y, width=raw.width, height=raw.height, label=raw.label)
    return Box(x=left, y=top, width=right - left, height=bottom - top, label=raw.label)


def build_record(
    file_name: str,
    size: tuple[int, int],
    raw_boxes: Iterable[RawBox],
    *,
    file: str,
    classes: Sequence[str] | None,
    labeled: bool = True,
) -> tuple[DetectionRecord | None, list[FormatProblem]]:
    """Checks an image's boxes and makes its record, or refuses the whole image.

    Args:
        file_name: The image, relative to the image root.
        size: ``(width, height)`` of the image in pixels.
        raw_boxes: Its boxes as the format states them.
        file: The annotation file, for problems.
        classes: Allowed class names, or ``None`` to allow any.
        labeled: Whether the format gave an annotation for the image.

    Returns:
        The record (``None`` when any box was refused) and the problems found.
    """
    width, height = size
    boxes: list[Box] = []
    problems: list[FormatProblem] = []
    for raw in raw_boxes:
        checked = check_box(raw, width, height, classes, file)
        if isinstance(checked, FormatProblem):
            problems.append(checked)
        else:
            boxes.append(checked)
    if problems:
        return None, problems
    return DetectionRecord(file_name, width, height, tuple(boxes), labeled), []


def check_size(width: object, height: object) -> tuple[int, int] | None:
    """An image size as two positive integers, or ``None`` if it is not one.

    Args:
        width: The stated width (an int, or a float with an integral value).
        height: The stated height.

    Returns:
        ``(width, height)``, or ``None``.
    """
    sizes: list[int] = []
    for value in (width, height):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if not math.isfinite(value) or value != int(value) or value <= 0:
            return None
        sizes.append(int(value))
    return sizes[0], sizes[1]


def as_numbers(values: Sequence[object]) -> list[float] | None:
    """JSON values as floats, or ``None`` if any is not a number (booleans are not).

    Args:
        values: The values.

    Returns:
        The floats, or ``None``.
    """
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return None
    return [float(v) for v in values if isinstance(v, int | float)]


def image_size(path: Path) -> tuple[int, int] | str:
    """Reads an image's size from its header.

    Args:
        path: The image file.

    Returns:
        ``(width, height)``, or the reason it could not be read.
    """
    try:
        with Image.open(path) as image:
            width, height = image.size
    except FileNotFoundError:
        return f"image {path} does not exist; put it there or fix the image root"
    except (UnidentifiedImageError, OSError) as exc:
        return f"image {path} cannot be read ({exc}); replace the file"
    return width, height


def stated_size(
    width: object, height: object, image_root: Path | None, file_name: str
) -> tuple[int, int] | str | None:
    """An image's size as the annotations state it, else as its file under the image root says.

    Args:
        width: The stated width.
        height: The stated height.
        image_root: The folder images are relative to, or ``None``.
        file_name: The image, relative to ``image_root``.

    Returns:
        The stated size when it is two positive integers (see :func:`check_size`);
        otherwise the image's own size, or the reason it cannot be read
        (:func:`image_size`); ``None`` when there is no image root to read from.
    """
    size = check_size(width, height)
    if size is not None or image_root is None:
        return size
    return image_size(image_root / file_name)


def missing_image(image_root: Path | None, file_name: str, file: str) -> FormatProblem | None:
    """Reports an image that is not on disk under the image root.

    Args:
        image_root: The folder images are relative to, or ``None`` to skip the check.
        file_name: The image, relative to ``image_root``.
        file: The annotation file that names it.

    Returns:
        A problem when ``image_root`` is given and the image is not a file there.
    """
    if image_root is None or (image_root / file_name).is_file():
        return None
    return FormatProblem(
        file,
        f"image {file_name!r}",
        f"image {image_root / file_name} does not exist; copy it there or pass the folder "
        "that holds the images as image_root",
    )


def posix_relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root``, with ``/`` separators.

    Args:
        path: A path under ``root``.
        root: The folder to be relative to.

    Returns:
        The relative POSIX path.
    """
    return PurePosixPath(*path.relative_to(root).parts).as_posix()


def resolve_classes(
    declared: Sequence[str], given: Sequence[str] | None
) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """Decides a dataset's class list and the classes boxes may have.

    Args:
        declared: The class names the source declares (may be empty).
        given: The caller's ``classes`` argument, or ``None``.

    Returns:
        ``(dataset classes, allowed classes)``; allowed is ``None`` (any class)
        when nothing restricts the classes.
    """
    if given is not None:
        return tuple(given), tuple(given)
    return tuple(declared), None


def first_appearance(records: Iterable[DetectionRecord]) -> tuple[str, ...]:
    """Class names in the order boxes first use them.

    Args:
        records: Imported records.

    Returns:
        The distinct labels, first use first.
    """
    names: dict[str, None] = {}
    for record in records:
        for box in record.boxes:
            names.setdefault(box.label, None)
    return tuple(names)


def gather(
    results: Iterable[tuple[DetectionRecord | None, list[FormatProblem]]],
    classes: Sequence[str] | None,
    *,
    before: Iterable[FormatProblem] = (),
    after: Iterable[FormatProblem] = (),
) -> DetectionDataset:
    """A reader's dataset from its per-image results.

    Args:
        results: One ``(record or None, problems)`` per image, in the source's
            order, as :func:`build_record` returns them.
        classes: The dataset's classes in index order; ``None`` takes the
            order of first appearance in the records.
        before: Problems found before the images (a header, a category list).
        after: Problems found after them (files no image claims).

    Returns:
        The records that imported, the classes, and every problem in order.
    """
    records: list[DetectionRecord] = []
    problems = list(before)
    for record, found in results:
        problems += found
        if record is not None:
            records.append(record)
    problems += after
    names = first_appearance(records) if classes is None else tuple(classes)
    return DetectionDataset(tuple(records), names, tuple(problems))


CLASS_LIST = "classes.txt"


def read_class_list(folder: Path) -> list[str] | None:
    """The class names in ``folder/classes.txt``, one per line, if that file exists.

    Args:
        folder: The dataset folder.

    Returns:
        The names in file order (blank lines skipped), or ``None`` without the file.
    """
    path = folder / CLASS_LIST
    if not path.is_file():
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip()]


def load_json(path: Path, what: str) -> Any:
    """Parses a JSON annotation file.

    Args:
        path: The file.
        what: What the file should hold, for the error message.

    Returns:
        The parsed JSON value.

    Raises:
        DetectionFormatError: The file is missing or is not JSON (with line and column).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DetectionFormatError(
            f"Cannot read {path} ({exc}); pass the path of the {what}."
        ) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DetectionFormatError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}; "
            f"fix the file or export the {what} again."
        ) from exc
