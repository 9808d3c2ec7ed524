"""Tests of labelloop.data.images: decode check, hashing and folder scanning."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import pytest
from PIL import Image

from labelloop.data import CsvFormatError, ImportLayoutError, images
from labelloop.data.images import (
    CorruptImageError,
    ImageFileError,
    ImageInfo,
    RejectedFile,
    ScannedImage,
    UnsupportedImageFormatError,
    inspect_image,
    iter_folder,
    scan_folder,
)
from labelloop.errors import LabelloopError

from .conftest import ImageWriter

# --- inspect_image -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "suffix", "mode"),
    [
        ("PNG", ".png", "RGBA"),
        ("JPEG", ".jpg", "RGB"),
        ("WEBP", ".webp", "RGB"),
        ("PNG", ".png", "L"),
    ],
)
def test_inspect_image_reads_supported_formats(
    write_image: ImageWriter, fmt: str, suffix: str, mode: str
) -> None:
    path = write_image(f"img{suffix}", width=5, height=3, mode=mode, fmt=fmt)
    data = path.read_bytes()

    info = inspect_image(path)

    assert info == ImageInfo(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        width=5,
        height=3,
        mode=mode,
        format=fmt,
        size_bytes=len(data),
    )


def test_camera_jpeg_with_extra_frames_counts_as_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "phone.jpg"
    first, depth = Image.new("RGB", (4, 3), (10, 20, 30)), Image.new("RGB", (4, 3))
    first.save(path, format="MPO", save_all=True, append_images=[depth])

    info = inspect_image(path)

    assert (info.format, info.width, info.height) == ("JPEG", 4, 3)


def test_inspect_image_trusts_content_over_suffix(write_image: ImageWriter) -> None:
    path = write_image("really_a_png.txt", fmt="PNG")

    assert inspect_image(path).format == "PNG"


def _assert_error_names(
    exc_info: pytest.ExceptionInfo[ImageFileError], path: Path, words: str
) -> None:
    assert exc_info.value.path == path
    assert str(path) in str(exc_info.value)
    assert words in exc_info.value.reason


@pytest.mark.parametrize(("fmt", "suffix"), [("PNG", ".png"), ("JPEG", ".jpg"), ("WEBP", ".webp")])
def test_truncated_image_is_corrupt(
    write_image: ImageWriter, tmp_path: Path, fmt: str, suffix: str
) -> None:
    whole = write_image(f"whole{suffix}", width=64, height=64, mode="RGB", fmt=fmt)
    truncated = tmp_path / f"truncated{suffix}"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])

    with pytest.raises(CorruptImageError) as exc_info:
        inspect_image(truncated)

    _assert_error_names(exc_info, truncated, "re-copy")


def test_random_bytes_named_png_are_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "noise.png"
    path.write_bytes(random.Random(0).randbytes(300))

    with pytest.raises(CorruptImageError) as exc_info:
        inspect_image(path)

    _assert_error_names(exc_info, path, "not a readable image")


def test_empty_file_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.touch()

    with pytest.raises(CorruptImageError) as exc_info:
        inspect_image(path)

    _assert_error_names(exc_info, path, "empty")


def test_text_file_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a picture\n")

    with pytest.raises(UnsupportedImageFormatError) as exc_info:
        inspect_image(path)

    _assert_error_names(exc_info, path, "not an image")
    assert "JPEG, PNG, WEBP" in exc_info.value.reason


def test_gif_is_unsupported(write_image: ImageWriter) -> None:
    path = write_image("anim.gif", fmt="GIF", mode="P")

    with pytest.raises(UnsupportedImageFormatError) as exc_info:
        inspect_image(path)

    _assert_error_names(exc_info, path, "GIF")


@pytest.mark.parametrize(
    ("width", "height"),
    [
        # Ignored warnings, as in a plain run outside pytest: the refusal must not
        # depend on the caller's warning filters.
        pytest.param(
            11,
            10,
            id="warning",
            marks=pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning"),
        ),
        pytest.param(30, 30, id="error"),
    ],
)
def test_decompression_bomb_is_refused(
    write_image: ImageWriter, monkeypatch: pytest.MonkeyPatch, width: int, height: int
) -> None:
    path = write_image("huge.png", width=width, height=height)
    # Pillow warns above MAX_IMAGE_PIXELS (110 > 100) and raises above twice it (900 > 200).
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)

    with pytest.raises(CorruptImageError) as exc_info:
        inspect_image(path)

    _assert_error_names(exc_info, path, "MAX_IMAGE_PIXELS")


def test_image_errors_are_value_errors_of_labelloop(tmp_path: Path) -> None:
    error = CorruptImageError(tmp_path / "a.png", "broken")

    assert isinstance(error, ValueError)
    assert isinstance(error, LabelloopError)
    assert issubclass(UnsupportedImageFormatError, ValueError)
    assert str(error) == f"{tmp_path / 'a.png'}: broken"


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        inspect_image(tmp_path / "missing.png")


# --- iter_folder and scan_folder ------------------------------------------------


def _relpaths(items: list[ScannedImage]) -> list[str]:
    return [item.relpath for item in items]


def test_scan_class_folders_rejects_bad_files_and_goes_on(
    write_image: ImageWriter, tmp_path: Path
) -> None:
    write_image("cat/a.png", seed=1)
    write_image("cat/b.jpg", fmt="JPEG", mode="RGB", seed=2)
    write_image("dog/c.webp", fmt="WEBP", mode="RGB", seed=3)
    (tmp_path / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (tmp_path / "dog" / "notes.txt").write_text("hello")
    (tmp_path / "dog" / ".DS_Store").write_bytes(b"\0\0")
    write_image("dog/old.gif", fmt="GIF", mode="P")

    scan = scan_folder(tmp_path)

    assert scan.layout == "class_folders"
    assert [(item.relpath, item.label) for item in scan.images] == [
        ("cat/a.png", "cat"),
        ("cat/b.jpg", "cat"),
        ("dog/c.webp", "dog"),
    ]
    assert scan.images[0].info == inspect_image(tmp_path / "cat" / "a.png")
    rejected = {item.path.name: item.reason for item in scan.rejected}
    assert set(rejected) == {"broken.png", "notes.txt", ".DS_Store", "old.gif"}
    assert "does not decode" in rejected["broken.png"]
    assert "not an image" in rejected["notes.txt"]
    assert "hidden" in rejected[".DS_Store"]
    assert "GIF" in rejected["old.gif"]
    assert scan.duplicates == []
    assert scan.summary() == {"unique": 3, "duplicate": 0, "rejected": 4}


def test_scan_counts_duplicate_bytes_once(write_image: ImageWriter, tmp_path: Path) -> None:
    first = write_image("cat/a.png", seed=1)
    write_image("cat/b.png", seed=2)
    copy = tmp_path / "dog" / "z.png"
    copy.parent.mkdir()
    copy.write_bytes(first.read_bytes())

    scan = scan_folder(tmp_path)

    assert _relpaths(scan.images) == ["cat/a.png", "cat/b.png"]
    assert scan.duplicates == [(copy, first)]
    assert scan.summary() == {"unique": 2, "duplicate": 1, "rejected": 0}


def test_scan_flat_folder_is_unlabeled(write_image: ImageWriter, tmp_path: Path) -> None:
    write_image("b.png", seed=1)
    write_image("a.png", seed=2)

    scan = scan_folder(tmp_path)

    assert scan.layout == "flat"
    assert [(item.relpath, item.label) for item in scan.images] == [
        ("a.png", None),
        ("b.png", None),
    ]


def test_iter_folder_yields_sorted_deterministic_order(
    write_image: ImageWriter, tmp_path: Path
) -> None:
    names = [f"{letter}{number}" for letter in "qbzam" for number in (2, 10, 1)]
    random.Random(0).shuffle(names)
    for seed, name in enumerate(names):
        write_image(f"{name[0]}/{name}.png", seed=seed)

    first = [item for item in iter_folder(tmp_path) if isinstance(item, ScannedImage)]
    second = [item for item in iter_folder(tmp_path) if isinstance(item, ScannedImage)]

    expected = sorted(f"{name[0]}/{name}.png" for name in names)
    assert _relpaths(first) == expected
    assert first == second


def test_iter_folder_streams_one_file_at_a_time(
    write_image: ImageWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for seed in range(3):
        write_image(f"{seed}.png", seed=seed)
    inspected: list[Path] = []
    real_inspect = images.inspect_image

    def counting_inspect(path: Path) -> ImageInfo:
        inspected.append(path)
        return real_inspect(path)

    monkeypatch.setattr(images, "inspect_image", counting_inspect)

    iterator = iter_folder(tmp_path)
    assert inspected == []
    next(iterator)

    assert inspected == [tmp_path / "0.png"]


def test_unreadable_file_is_rejected(
    write_image: ImageWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_image("a.png", seed=1)
    locked = write_image("b.png", seed=2)
    real_inspect = images.inspect_image

    def inspect_or_deny(path: Path) -> ImageInfo:
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_inspect(path)

    monkeypatch.setattr(images, "inspect_image", inspect_or_deny)

    scan = scan_folder(tmp_path)

    assert _relpaths(scan.images) == ["a.png"]
    assert scan.rejected == [
        RejectedFile(locked, "cannot be read (Permission denied); check its permissions")
    ]


def test_iter_folder_checks_layout_before_iterating(
    write_image: ImageWriter, tmp_path: Path
) -> None:
    write_image("cat/a.png")
    write_image("loose.png")

    with pytest.raises(ImportLayoutError):
        iter_folder(tmp_path)


# --- flat folder with a labels CSV ----------------------------------------------


def _flat_with_csv(write_image: ImageWriter, tmp_path: Path, csv_text: str) -> Path:
    for seed, name in enumerate(["a.png", "b.png", "c.png", "d.png", "e.png"]):
        write_image(f"images/{name}", seed=seed)
    labels_csv = tmp_path / "labels.csv"
    labels_csv.write_text(csv_text, encoding="utf-8")
    return labels_csv


def test_flat_csv_labels_images_and_reports_bad_rows(
    write_image: ImageWriter, tmp_path: Path
) -> None:
    labels_csv = _flat_with_csv(
        write_image,
        tmp_path,
        "Label,Filename,notes\n"
        "cat,a.png,first\n"
        "dog , ./b.png\n"
        "\n"
        "cat,a.png\n"
        "bird,missing.png\n"
        "cat,c.png\n"
        "dog,c.png\n"
        ",d.png\n"
        "onlyone\n"
        "cat,\n",
    )

    scan = scan_folder(tmp_path / "images", labels_csv)

    assert scan.layout == "flat_csv"
    assert [(item.relpath, item.label) for item in scan.images] == [
        ("a.png", "cat"),
        ("b.png", "dog"),
        ("c.png", None),
        ("d.png", None),
        ("e.png", None),
    ]
    assert all(item.path == labels_csv for item in scan.rejected)
    reasons = [item.reason for item in scan.rejected]
    assert len(reasons) == 5
    assert reasons[0].startswith("line 6: 'missing.png' is not a file in")
    assert reasons[1].startswith("line 8: 'c.png' is listed again with label 'dog'")
    assert "line 7" in reasons[1]
    assert reasons[2].startswith("line 9: empty label for 'd.png'")
    assert reasons[3].startswith("line 10: expected the columns")
    assert reasons[4].startswith("line 11: empty filename")


def test_flat_csv_inside_the_folder_is_not_rejected(
    write_image: ImageWriter, tmp_path: Path
) -> None:
    write_image("a.png")
    labels_csv = tmp_path / "labels.csv"
    labels_csv.write_text("filename,label\na.png,cat\n")

    scan = scan_folder(tmp_path, labels_csv)

    assert [(item.relpath, item.label) for item in scan.images] == [("a.png", "cat")]
    assert scan.rejected == []


def test_flat_csv_rows_are_rejected_before_images(write_image: ImageWriter, tmp_path: Path) -> None:
    labels_csv = _flat_with_csv(write_image, tmp_path, "filename,label\nzzz.png,cat\n")

    items = list(iter_folder(tmp_path / "images", labels_csv))

    assert isinstance(items[0], RejectedFile)
    assert items[0].path == labels_csv
    assert all(isinstance(item, ScannedImage) for item in items[1:])


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "is empty"),
        (b"a.png,cat\n", "missing filename, label"),
        (b"filename,name\na.png,cat\n", "missing label"),
        (b"filename,label,label\na.png,cat,dog\n", "more than once"),
        (b"filename,label\n\xff\xfe,cat\n", "not UTF-8"),
        (b'filename,label\n"a.png,cat\n', "quoting"),
    ],
    ids=["empty", "no-header", "no-label-column", "repeated-column", "not-utf8", "open-quote"],
)
def test_malformed_csv_raises_before_iterating(
    write_image: ImageWriter, tmp_path: Path, content: bytes, words: str
) -> None:
    labels_csv = _flat_with_csv(write_image, tmp_path, "")
    labels_csv.write_bytes(content)

    with pytest.raises(CsvFormatError, match=words) as exc_info:
        iter_folder(tmp_path / "images", labels_csv)

    assert isinstance(exc_info.value, ValueError)
    assert str(labels_csv) in str(exc_info.value)


def test_csv_byte_order_mark_is_accepted(write_image: ImageWriter, tmp_path: Path) -> None:
    labels_csv = _flat_with_csv(write_image, tmp_path, "")
    labels_csv.write_bytes("\ufefffilename,label\na.png,cat\n".encode())

    scan = scan_folder(tmp_path / "images", labels_csv)

    assert scan.images[0].label == "cat"
    assert scan.rejected == []


def test_scan_folder_accepts_str_paths(write_image: ImageWriter, tmp_path: Path) -> None:
    write_image("a.png")

    scan = scan_folder(os.fspath(tmp_path))  # type: ignore[arg-type]

    assert _relpaths(scan.images) == ["a.png"]
