"""Tests of labelloop.data.layout.detect_layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelloop.data.layout import DatasetNotFoundError, ImportLayoutError, detect_layout

from .conftest import ImageWriter


def test_detect_class_folders_ignores_hidden_entries(
    write_image: ImageWriter, tmp_path: Path
) -> None:
    write_image("cat/a.png")
    write_image("dog/b.png")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    (tmp_path / ".cache").mkdir()

    assert detect_layout(tmp_path) == "class_folders"


def test_detect_flat_and_flat_csv(write_image: ImageWriter, tmp_path: Path) -> None:
    write_image("a.png")
    (tmp_path / ".git").mkdir()
    labels_csv = tmp_path / "labels.csv"
    labels_csv.write_text("filename,label\na.png,cat\n")

    assert detect_layout(tmp_path) == "flat"
    assert detect_layout(tmp_path, labels_csv) == "flat_csv"


def test_detect_empty_folder_is_flat(tmp_path: Path) -> None:
    assert detect_layout(tmp_path) == "flat"


def test_detect_mixed_layout_explains_accepted_layouts(
    write_image: ImageWriter, tmp_path: Path
) -> None:
    write_image("cat/a.png")
    write_image("loose.png")

    with pytest.raises(ImportLayoutError, match="Accepted layouts") as exc_info:
        detect_layout(tmp_path)

    assert "loose.png" in str(exc_info.value)
    assert isinstance(exc_info.value, ValueError)


def test_detect_nested_class_folder_is_refused(write_image: ImageWriter, tmp_path: Path) -> None:
    write_image("train/cat/a.png")

    with pytest.raises(ImportLayoutError, match="hold images directly"):
        detect_layout(tmp_path)


def test_detect_refuses_csv_with_class_folders(write_image: ImageWriter, tmp_path: Path) -> None:
    write_image("data/cat/a.png")
    labels_csv = tmp_path / "labels.csv"
    labels_csv.write_text("filename,label\na.png,cat\n")

    with pytest.raises(ImportLayoutError, match=r"labels\.csv"):
        detect_layout(tmp_path / "data", labels_csv)


def test_detect_missing_root(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="does not exist") as exc_info:
        detect_layout(tmp_path / "nowhere")

    assert isinstance(exc_info.value, FileNotFoundError)
    assert str(tmp_path / "nowhere") in str(exc_info.value)


def test_detect_root_that_is_a_file(write_image: ImageWriter) -> None:
    path = write_image("a.png")

    with pytest.raises(DatasetNotFoundError, match="not a folder"):
        detect_layout(path)


def test_detect_missing_labels_csv(write_image: ImageWriter, tmp_path: Path) -> None:
    write_image("a.png")

    with pytest.raises(DatasetNotFoundError, match=r"labels\.csv"):
        detect_layout(tmp_path, tmp_path / "labels.csv")
