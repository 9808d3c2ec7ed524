"""labelloop.loop.export: labels, current or at a snapshot, as CSV, JSON or an ImageFolder zip."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from labelloop.config import ProjectConfig
from labelloop.loop import Workspace
from labelloop.loop.export import export_bytes, label_rows, labeled_pairs
from labelloop.store import LabelInput


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """Four gray images: ``a.png`` and ``b.png`` labeled by a person, ``c.png`` auto-labeled,
    ``d.png`` unlabeled."""
    folder = tmp_path / "flat"
    folder.mkdir()
    for value, name in enumerate("abcd"):
        Image.new("L", (8, 8), value * 40).save(folder / f"{name}.png")
    workspace = Workspace.init(tmp_path / "proj", ProjectConfig(name="p", classes=("cat", "dog")))
    workspace.import_folder(folder, with_labels=False)
    ids = {item.name: item.id for item in workspace.store.items(workspace.project.id)}
    workspace.store.record_labels(
        workspace.project.id,
        [
            LabelInput(ids["a.png"], "cat", annotator="ann"),
            LabelInput(ids["b.png"], "dog", annotator="bob"),
            LabelInput(ids["c.png"], "dog", source="auto", model_version="v1", confidence=0.99),
        ],
    )
    yield workspace
    workspace.close()


def _ids(ws: Workspace) -> dict[str, int]:
    return {item.name: item.id for item in ws.store.items(ws.project.id)}


def test_json_holds_what_people_labeled_and_auto_labels_only_when_asked(ws: Workspace) -> None:
    exported = json.loads(export_bytes(ws, "json", None))
    assert exported["snapshot"] is None
    rows = exported["labels"]
    assert [(r["name"], r["label"], r["annotator"]) for r in rows] == [
        ("a.png", "cat", "ann"),
        ("b.png", "dog", "bob"),
    ]
    with_auto = json.loads(export_bytes(ws, "json", None, include_auto=True))["labels"]
    auto = [r for r in with_auto if r["source"] == "auto"]
    assert [(r["name"], r["model_version"]) for r in auto] == [("c.png", "v1")]


def test_csv_has_one_row_per_label(ws: Workspace) -> None:
    ids = _ids(ws)
    rows = list(csv.DictReader(io.StringIO(export_bytes(ws, "csv", None).decode())))
    assert [row["name"] for row in rows] == ["a.png", "b.png"]
    assert rows[0]["label"] == "cat" and rows[0]["item"] == str(ids["a.png"])
    assert rows[1]["annotator"] == "bob" and rows[1]["source"] == "human"


def test_csv_writes_a_detection_labels_boxes_as_json(tmp_path: Path) -> None:
    folder = tmp_path / "flat"
    folder.mkdir()
    Image.new("L", (16, 16), 3).save(folder / "x.png")
    config = ProjectConfig(name="d", task="detection", classes=("car", "bus"))
    with Workspace.init(tmp_path / "det", config) as ws:
        ws.import_folder(folder, with_labels=False)
        item = ws.store.items(ws.project.id)[0]
        box = {"x": 1.0, "y": 2.0, "width": 3.0, "height": 4.0, "label": "bus"}
        ws.store.record_labels(ws.project.id, [LabelInput(item.id, [box])])
        (row,) = csv.DictReader(io.StringIO(export_bytes(ws, "csv", None).decode()))
        assert json.loads(row["label"]) == [box]
        # Boxes do not fit an ImageFolder tree: it stays empty.
        assert zipfile.ZipFile(io.BytesIO(export_bytes(ws, "imagefolder", None))).namelist() == []


def test_an_export_without_labels_still_has_a_header(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "empty", ProjectConfig(name="e", classes=("a", "b"))) as ws:
        assert export_bytes(ws, "csv", None).decode().splitlines() == ["item,label"]
        assert json.loads(export_bytes(ws, "json", None))["labels"] == []


def test_a_snapshot_export_holds_exactly_the_labels_of_that_snapshot(ws: Workspace) -> None:
    ids = _ids(ws)
    snapshot = ws.store.create_snapshot(ws.project.id, note="before the fix").id
    ws.store.record_labels(
        ws.project.id,
        [LabelInput(ids["a.png"], "dog", annotator="rita"), LabelInput(ids["d.png"], "cat")],
    )
    then = json.loads(export_bytes(ws, "json", snapshot))
    assert then["snapshot"] == snapshot
    assert {r["name"]: r["label"] for r in then["labels"]} == {"a.png": "cat", "b.png": "dog"}
    now = {r["name"]: r["label"] for r in json.loads(export_bytes(ws, "json", None))["labels"]}
    assert now == {"a.png": "dog", "b.png": "dog", "d.png": "cat"}


def test_label_rows_flatten_each_pair(ws: Workspace) -> None:
    pairs = labeled_pairs(ws, None)
    assert [item.name for item, _ in pairs] == ["a.png", "b.png", "c.png"]
    row = label_rows(pairs)[0]
    item, event = pairs[0]
    assert row == {
        "item": item.id,
        "name": "a.png",
        "sha256": item.sha256,
        "label": "cat",
        "split": item.split,
        "source": "human",
        "annotator": "ann",
        "model_version": None,
        "event": event.id,
    }


def test_an_imagefolder_zip_holds_the_people_labeled_images_by_split_and_class(
    ws: Workspace,
) -> None:
    ids = _ids(ws)
    archive = zipfile.ZipFile(io.BytesIO(export_bytes(ws, "imagefolder", None, include_auto=True)))
    names = sorted(archive.namelist())
    splits = {item.name: item.split or "train" for item in ws.store.items(ws.project.id)}
    # The auto label stays out even when asked for: the tree is meant for training.
    assert names == sorted(
        [
            f"{splits['a.png']}/cat/{ids['a.png']}_a.png",
            f"{splits['b.png']}/dog/{ids['b.png']}_b.png",
        ]
    )
    item = next(i for i in ws.store.items(ws.project.id) if i.name == "a.png")
    cat = next(name for name in names if "/cat/" in name)
    assert archive.read(cat) == ws.image_path(item).read_bytes()


def test_class_names_cannot_escape_an_imagefolder_export(tmp_path: Path) -> None:
    folder = tmp_path / "flat"
    folder.mkdir()
    Image.new("L", (8, 8), 1).save(folder / "x.png")
    classes = ("../../evil", "ok")
    ws = Workspace.init(tmp_path / "proj", ProjectConfig(name="p", classes=classes))
    ws.import_folder(folder, with_labels=False)
    item = ws.store.items(ws.project.id)[0]
    ws.store.record_labels(ws.project.id, [LabelInput(item.id, "../../evil", annotator="a")])
    names = zipfile.ZipFile(io.BytesIO(export_bytes(ws, "imagefolder", None))).namelist()
    assert len(names) == 1 and ".." not in names[0].split("/"), names
    ws.close()
