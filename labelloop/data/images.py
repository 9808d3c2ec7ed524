"""Image files: decode check, content hash, and scanning a folder to import.

A file is accepted when Pillow fully decodes it as one of
:data:`SUPPORTED_FORMATS`; its identity is the SHA-256 of its bytes, so the same
picture saved twice under two names is one image. Folders are read in one of
the layouts of :mod:`labelloop.data.layout`.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from labelloop.data._labels_csv import read_labels_csv
from labelloop.data.layout import Layout, _is_hidden, _sorted_entries, detect_layout
from labelloop.errors import LabelloopError

__all__ = [
    "SUPPORTED_FORMATS",
    "CorruptImageError",
    "FolderScan",
    "ImageFileError",
    "ImageInfo",
    "RejectedFile",
    "ScannedImage",
    "UnsupportedImageFormatError",
    "inspect_image",
    "iter_folder",
    "scan_folder",
]

SUPPORTED_FORMATS = frozenset({"PNG", "JPEG", "WEBP"})
"""Pillow format names that labelloop imports."""

# Suffixes that claim a supported format: bytes Pillow cannot identify behind
# one of these are a damaged image, behind any other suffix they are no image.
_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".webp"})

# Cameras write JPEGs with extra frames (stereo, depth) that Pillow names MPO;
# their first frame is an ordinary JPEG, and browsers show it as one.
_FORMAT_ALIASES = {"MPO": "JPEG"}

_HIDDEN_REASON = "hidden file or folder (name starts with '.'); skipped"


class ImageFileError(LabelloopError, ValueError):
    """A file that cannot be imported as an image.

    Attributes:
        path: The offending file.
        reason: What is wrong with it and what to do, without the path.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class CorruptImageError(ImageFileError):
    """The file claims to be an image but does not decode (empty, truncated, damaged, too big)."""


class UnsupportedImageFormatError(ImageFileError):
    """The file is not an image, or is one in a format outside :data:`SUPPORTED_FORMATS`."""


@dataclass(frozen=True)
class ImageInfo:
    """What :func:`inspect_image` learned about one decodable image file.

    Attributes:
        path: The file.
        sha256: Hex SHA-256 of the file's bytes: the image's identity.
        width: Width in pixels, upright (after its EXIF orientation).
        height: Height in pixels, upright (after its EXIF orientation).
        mode: Pillow mode of the decoded image (``"L"``, ``"RGB"``, ``"RGBA"``...).
        format: Pillow format name, one of :data:`SUPPORTED_FORMATS`.
        size_bytes: Size of the file in bytes.
    """

    path: Path
    sha256: str
    width: int
    height: int
    mode: str
    format: str
    size_bytes: int


@dataclass(frozen=True)
class ScannedImage:
    """An image found while scanning a folder.

    Attributes:
        info: The decoded image's facts.
        label: The class named by its folder or by the labels CSV; ``None`` if unlabeled.
        relpath: Path relative to the scanned root, with ``/`` separators.
    """

    info: ImageInfo
    label: str | None
    relpath: str


@dataclass(frozen=True)
class RejectedFile:
    """A file (or labels CSV row) that a scan could not import, and why.

    Attributes:
        path: The file; for a CSV row, the CSV file (the reason names the line).
        reason: What is wrong, in words for the person importing.
    """

    path: Path
    reason: str


@dataclass
class FolderScan:
    """Everything :func:`scan_folder` found, after removing duplicate content.

    Attributes:
        layout: The layout the folder was read with.
        images: Images to import, each with content not seen before in the folder.
        duplicates: ``(duplicate path, path of the first file with the same sha256)``.
        rejected: Files and CSV rows that could not be imported.
    """

    layout: Layout
    images: list[ScannedImage] = field(default_factory=list)
    duplicates: list[tuple[Path, Path]] = field(default_factory=list)
    rejected: list[RejectedFile] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        """Counts for a report to the person importing.

        Returns:
            ``{"unique": ..., "duplicate": ..., "rejected": ...}``.
        """
        return {
            "unique": len(self.images),
            "duplicate": len(self.duplicates),
            "rejected": len(self.rejected),
        }


@contextmanager
def _pillow_errors(path: Path) -> Iterator[None]:
    """Turns Pillow's ways of failing on bad bytes into :class:`ImageFileError`.

    Args:
        path: The file being decoded, for the error message.

    Raises:
        CorruptImageError: The bytes do not decode or exceed Pillow's pixel limit.
        UnsupportedImageFormatError: Pillow does not recognise the bytes as an image
            and the file's suffix does not claim one either.
    """
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; an import
            # must refuse such a file outright, not depend on the warning filters.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise CorruptImageError(
            path,
            f"too many pixels, refused as a possible decompression bomb ({exc}); "
            "raise PIL.Image.MAX_IMAGE_PIXELS if the image is genuine",
        ) from exc
    except UnidentifiedImageError as exc:
        if path.suffix.lower() in _IMAGE_SUFFIXES:
            raise CorruptImageError(
                path, "not a readable image despite its suffix; re-export or re-copy the file"
            ) from exc
        raise UnsupportedImageFormatError(
            path, f"not an image; supported formats are {_formats_text()}"
        ) from exc
    except (ImageFileError, MemoryError):
        raise
    # Each Pillow plugin signals damaged data its own way (OSError, SyntaxError,
    # ValueError, EOFError, struct.error, zlib.error...); all mean "does not decode".
    except Exception as exc:
        raise CorruptImageError(
            path, f"does not decode ({type(exc).__name__}: {exc}); re-export or re-copy the file"
        ) from exc


def _formats_text() -> str:
    return ", ".join(sorted(SUPPORTED_FORMATS))


_EXIF_ORIENTATION = 0x0112
_QUARTER_TURNS = frozenset({5, 6, 7, 8})
"""EXIF orientations that swap width and height (transpose, 90°, transverse, 270°)."""


def _decode(source: BinaryIO, path: Path) -> tuple[Image.Image, str]:
    """Opens an image, checks its format, and decodes every pixel.

    Args:
        source: A binary stream of the file's bytes.
        path: The file's path, for error messages.

    Returns:
        The decoded image, which the caller closes, and its format name, one of
        :data:`SUPPORTED_FORMATS`.

    Raises:
        CorruptImageError: The bytes do not fully decode.
        UnsupportedImageFormatError: Not an image, or not one of :data:`SUPPORTED_FORMATS`.
    """
    with _pillow_errors(path):
        image = Image.open(source)
        image_format = _FORMAT_ALIASES.get(str(image.format), str(image.format))
        try:
            if image_format not in SUPPORTED_FORMATS:
                raise UnsupportedImageFormatError(
                    path,
                    f"format {image.format} is not supported; convert it to one of "
                    f"{_formats_text()}",
                )
            image.load()
        except BaseException:
            image.close()
            raise
    return image, image_format


def inspect_image(path: Path) -> ImageInfo:
    """Reads an image file once, hashes its bytes and fully decodes them.

    Args:
        path: The image file.

    Returns:
        The image's hash, size, mode and format.

    Raises:
        CorruptImageError: The file is empty, truncated, damaged, or over Pillow's
            pixel limit (``PIL.Image.MAX_IMAGE_PIXELS``).
        UnsupportedImageFormatError: The file is not an image, or is one in a format
            outside :data:`SUPPORTED_FORMATS` (GIF, TIFF...).
        OSError: The file cannot be read (missing, a folder, no permission).
    """
    path = Path(path)
    data = path.read_bytes()
    if not data:
        raise CorruptImageError(path, "the file is empty (0 bytes); re-copy it")
    image, image_format = _decode(io.BytesIO(data), path)
    with image:
        width, height = image.size
        # Recorded upright, as the image is shown and labeled: a portrait photo
        # stored sideways carries an EXIF orientation that turns it a quarter.
        if image.getexif().get(_EXIF_ORIENTATION) in _QUARTER_TURNS:
            width, height = height, width
        mode = image.mode
    return ImageInfo(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        width=width,
        height=height,
        mode=mode,
        format=image_format,
        size_bytes=len(data),
    )


def _scan_file(path: Path, root: Path, label: str | None) -> ScannedImage | RejectedFile:
    if path.is_symlink() and not path.resolve().is_relative_to(root.resolve()):
        return RejectedFile(
            path,
            f"a link to {path.resolve()}, outside the imported folder; copy the file in instead",
        )
    try:
        info = inspect_image(path)
    except ImageFileError as exc:
        return RejectedFile(path, exc.reason)
    except OSError as exc:
        return RejectedFile(path, f"cannot be read ({exc.strerror or exc}); check its permissions")
    return ScannedImage(info=info, label=label, relpath=path.relative_to(root).as_posix())


def _scan_entries(
    folder: Path,
    root: Path,
    *,
    default_label: str | None = None,
    labels: Mapping[str, str | None] | None = None,
    skip: Path | None = None,
) -> Iterator[ScannedImage | RejectedFile]:
    """Scans the files directly in ``folder``, in name order.

    Args:
        folder: The folder to read.
        root: The scanned root, for relative paths.
        default_label: The label of an image that ``labels`` does not name.
        labels: Label by file name.
        skip: A file not to report (the labels CSV when it lives in the folder).
    """
    for entry in _sorted_entries(folder):
        path = Path(entry.path)
        if path == skip:
            continue
        if _is_hidden(entry.name):
            yield RejectedFile(path, _HIDDEN_REASON)
        elif entry.is_dir():
            yield RejectedFile(path, "a folder where images were expected; not scanned")
        elif not entry.is_file():
            yield RejectedFile(path, "not a regular file; skipped")
        else:
            yield _scan_file(path, root, (labels or {}).get(entry.name, default_label))


def _scan_class_folders(root: Path) -> Iterator[ScannedImage | RejectedFile]:
    for entry in _sorted_entries(root):
        path = Path(entry.path)
        if _is_hidden(entry.name):
            yield RejectedFile(path, _HIDDEN_REASON)
        elif not entry.is_dir():
            yield RejectedFile(path, "a file beside the class folders; move it into one")
        else:
            yield from _scan_entries(path, root, default_label=entry.name)


def iter_folder(
    root: Path, labels_csv: Path | None = None
) -> Iterator[ScannedImage | RejectedFile]:
    """Streams the images of a folder, one decoded and hashed file at a time.

    Files come in sorted order (class folder by class folder for class
    folders), so two scans of the same folder agree. A file that is corrupt,
    unreadable, hidden, not an image or in an unsupported format comes out as a
    :class:`RejectedFile` and the scan goes on. With a labels CSV, its bad rows
    come first, as :class:`RejectedFile` entries naming the CSV and the line;
    images without a usable row are unlabeled (``label=None``).

    The layout and the CSV header are checked before this returns, so their
    errors raise here, not at the first ``next()``.

    Args:
        root: The folder to import.
        labels_csv: A ``filename,label`` CSV for a flat folder, or ``None``.

    Returns:
        An iterator of scanned images and rejected files.

    Raises:
        DatasetNotFoundError: ``root`` or ``labels_csv`` does not exist.
        ImportLayoutError: The folder matches no accepted layout.
        CsvFormatError: The CSV's header is missing or malformed, it is not UTF-8,
            or its quoting is broken.
    """
    root = Path(root)
    labels_csv = None if labels_csv is None else Path(labels_csv)
    return _iter_layout(root, detect_layout(root, labels_csv), labels_csv)


def _iter_layout(
    root: Path, layout: Layout, labels_csv: Path | None
) -> Iterator[ScannedImage | RejectedFile]:
    if layout == "class_folders":
        return _scan_class_folders(root)
    if labels_csv is None:
        return _scan_entries(root, root)
    labels, problems = read_labels_csv(labels_csv, root)
    in_root = root / labels_csv.name
    skip = in_root if in_root.resolve() == labels_csv.resolve() else None
    return itertools.chain(
        (RejectedFile(labels_csv, f"line {p.line}: {p.message}") for p in problems),
        _scan_entries(root, root, labels=labels, skip=skip),
    )


def scan_folder(root: Path, labels_csv: Path | None = None) -> FolderScan:
    """Scans a whole folder and sets aside files whose bytes were already seen.

    The first file (in :func:`iter_folder` order) with given content is kept;
    later ones are listed in :attr:`FolderScan.duplicates`, even when their
    label differs. Arguments and errors as :func:`iter_folder`.

    Returns:
        The unique images, duplicates and rejected files.
    """
    root = Path(root)
    labels_csv = None if labels_csv is None else Path(labels_csv)
    layout = detect_layout(root, labels_csv)
    scan = FolderScan(layout=layout)
    first_by_hash: dict[str, Path] = {}
    for item in _iter_layout(root, layout, labels_csv):
        if isinstance(item, RejectedFile):
            scan.rejected.append(item)
        elif item.info.sha256 in first_by_hash:
            scan.duplicates.append((item.info.path, first_by_hash[item.info.sha256]))
        else:
            first_by_hash[item.info.sha256] = item.info.path
            scan.images.append(item)
    return scan
