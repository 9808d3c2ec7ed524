"""Detection import and export through a project: every format, round trips, problems."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labelloop.config import ProjectConfig
from labelloop.data.detection_demo import write_detection_demo
from labelloop.data.formats import FORMAT_NAMES, FormatName, read_detections
from labelloop.loop import Workspace
from labelloop.loop.detection_io import (
    NotADetectionProjectError,
    default_image_root,
    export_detections,
    import_detections,
)
from labelloop.store import LabelInput

CLASSES = ("0", "1", "2")
N_IMAGES = 12


def _project(root: Path, name: str = "det") -> Workspace:
    config = ProjectConfig(name=name, task="detection", classes=CLASSES)
    return Workspace.init(root, config)


def _boxes_by_sha(ws: Workspace) -> dict[str, list[dict[str, object]]]:
    """Each labeled item's boxes, keyed by image content, sorted for comparison."""
    items = {item.id: item for item in ws.store.items(ws.project.id)}
    return {
        items[i].sha256: sorted(event.value, key=lambda b: (b["x"], b["y"], b["label"]))
        for i, event in ws.store.current_labels(ws.project.id).items()
    }


def _demo(tmp_path: Path, fmt: FormatName) -> Path:
    return write_detection_demo(
        tmp_path / f"demo-{fmt}", N_IMAGES, classes=CLASSES, seed=3, format=fmt
    )


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_import_records_every_box_as_an_import_label(tmp_path: Path, fmt: FormatName) -> None:
    source = _demo(tmp_path, fmt)
    truth = read_detections(fmt, source, image_root=default_image_root(fmt, source))
    ws = _project(tmp_path / "proj")
    report = import_detections(ws, fmt, source)
    assert report.summary() == {
        "imported": N_IMAGES,
        "labeled": N_IMAGES,
        "duplicate": 0,
        "rejected": 0,
        "problems": 0,
    }
    labels = ws.store.current_labels(ws.project.id)
    assert {event.source for event in labels.values()} == {"import"}
    items = {item.name: item for item in ws.store.items(ws.project.id)}
    n_boxes = 0
    for record in truth.records:
        value = labels[items[record.file_name].id].value
        assert value == [box.model_dump() for box in record.boxes]
        n_boxes += len(value)
    assert n_boxes > N_IMAGES // 2  # the demo has 0-3 objects per image


@pytest.mark.parametrize(
    ("first", "second"),
    [("coco", "yolo"), ("yolo", "voc"), ("voc", "labelstudio"), ("labelstudio", "coco")],
)
def test_import_export_import_keeps_every_box(
    tmp_path: Path, first: FormatName, second: FormatName
) -> None:
    ws = _project(tmp_path / "a", "a")
    import_detections(ws, first, _demo(tmp_path, first))
    dest = tmp_path / "out" / ("labels.json" if second in ("coco", "labelstudio") else "ds")
    written = export_detections(ws, second, dest)
    assert sum(p.suffix == ".png" for p in written) == N_IMAGES
    again = _project(tmp_path / "b", "b")
    report = import_detections(again, second, dest)
    assert report.problems == [] and report.rejected == []
    before, after = _boxes_by_sha(ws), _boxes_by_sha(again)
    assert before.keys() == after.keys() and len(before) == N_IMAGES
    for sha, boxes in before.items():
        assert [b["label"] for b in after[sha]] == [b["label"] for b in boxes]
        for got, want in zip(after[sha], boxes, strict=True):
            for key in ("x", "y", "width", "height"):
                assert got[key] == pytest.approx(want[key], abs=1e-6)


def test_malformed_entries_are_reported_and_the_rest_imported(tmp_path: Path) -> None:
    source = _demo(tmp_path, "coco")
    data = json.loads(source.read_text())
    boxed = sorted({a["image_id"] for a in data["annotations"]})
    bad_box, bad_class = boxed[0], boxed[1]
    for annotation in data["annotations"]:
        if annotation["image_id"] == bad_box:
            annotation["bbox"][2] = -4  # negative width
    data["categories"].append({"id": 99, "name": "cat"})
    data["annotations"].append(
        {"id": 999, "image_id": bad_class, "category_id": 99, "bbox": [1, 1, 5, 5], "area": 25}
    )
    source.write_text(json.dumps(data))
    ws = _project(tmp_path / "proj")
    report = import_detections(ws, "coco", source)
    assert report.imported == N_IMAGES - 2 and report.labeled == N_IMAGES - 2
    reasons = " ".join(str(p) for p in report.problems)
    assert "negative size" in reasons and "'cat'" in reasons
    names = {item.name for item in ws.store.items(ws.project.id)}
    by_id = {image["id"]: image["file_name"] for image in data["images"]}
    assert by_id[bad_box] not in names and by_id[bad_class] not in names


def test_a_stated_size_that_does_not_match_the_file_is_a_problem(tmp_path: Path) -> None:
    source = _demo(tmp_path, "coco")
    data = json.loads(source.read_text())
    data["images"][0]["width"] = 128
    source.write_text(json.dumps(data))
    ws = _project(tmp_path / "proj")
    report = import_detections(ws, "coco", source)
    assert report.imported == N_IMAGES - 1
    assert len(report.problems) == 1 and "64x64" in str(report.problems[0])


def test_a_corrupt_image_is_rejected(tmp_path: Path) -> None:
    source = _demo(tmp_path, "yolo")
    first = sorted((source / "images").glob("*.png"))[0]
    first.write_bytes(b"not a png")
    ws = _project(tmp_path / "proj")
    report = import_detections(ws, "yolo", source)
    assert report.imported == N_IMAGES - 1
    said = [str(p) for p in report.problems] + [str(r.path) for r in report.rejected]
    assert len(said) == 1 and first.name in said[0]


def test_export_of_a_snapshot_keeps_the_labels_it_had(tmp_path: Path) -> None:
    ws = _project(tmp_path / "proj")
    import_detections(ws, "coco", _demo(tmp_path, "coco"), annotator="seed")
    pid = ws.project.id
    snapshot = ws.store.create_snapshot(pid, note="before")
    item = next(i for i in ws.store.items(pid) if ws.store.current_labels(pid)[i.id].value)
    n_boxes = len(ws.store.current_labels(pid)[item.id].value)
    ws.store.record_labels(pid, [LabelInput(item.id, [], source="human", annotator="t")])
    current = export_detections(ws, "coco", tmp_path / "now" / "a.json", copy_images=False)
    past = export_detections(
        ws, "coco", tmp_path / "then" / "a.json", snapshot=snapshot.id, copy_images=False
    )
    assert current == [tmp_path / "now" / "a.json"] and len(past) == 1

    def boxes_of(path: Path) -> int:
        data = json.loads(path.read_text())
        image_id = {i["file_name"]: i["id"] for i in data["images"]}[item.name]
        return sum(a["image_id"] == image_id for a in data["annotations"])

    assert boxes_of(current[0]) == 0 and boxes_of(past[0]) == n_boxes > 0


def test_unchecked_auto_labels_are_left_out_unless_asked(tmp_path: Path) -> None:
    ws = _project(tmp_path / "proj")
    import_detections(ws, "coco", _demo(tmp_path, "coco"))
    extra = tmp_path / "extra.png"
    Image.fromarray(np.full((64, 64), 40, dtype=np.uint8)).save(extra)
    item, _ = ws.add_file(extra, "extra.png")
    box = {"x": 2.0, "y": 3.0, "width": 10.0, "height": 12.0, "label": "1"}
    written = ws.store.leases.record_auto_labels(
        ws.project.id, model_version="v1", predictions=[(item.id, [box], 0.99)], threshold=0.5
    )
    assert written == 1

    def names(path: Path) -> set[str]:
        return {i["file_name"] for i in json.loads(path.read_text())["images"]}

    plain = export_detections(ws, "coco", tmp_path / "a" / "a.json", copy_images=False)[0]
    auto = export_detections(
        ws, "coco", tmp_path / "b" / "b.json", include_auto=True, copy_images=False
    )[0]
    assert "extra.png" not in names(plain) and len(names(plain)) == N_IMAGES
    assert names(auto) == names(plain) | {"extra.png"}


def test_classification_projects_refuse_boxes(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "c", ProjectConfig(name="c", classes=CLASSES))
    with pytest.raises(NotADetectionProjectError, match="task: detection"):
        import_detections(ws, "coco", _demo(tmp_path, "coco"))
