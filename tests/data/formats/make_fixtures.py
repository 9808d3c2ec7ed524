"""Writes the detection-format fixtures beside this script: tiny PNGs and broken annotations.

Run ``python tests/data/formats/make_fixtures.py`` after changing it and commit
its output. Each annotation source mixes good entries with deliberately broken
ones; the tests assert both the problem reported and that the rest imported.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).parent / "fixtures"

SIZES = {"a.png": (20, 10), "b.png": (16, 16), "c.png": (12, 8), "d.png": (10, 10), "e.png": (8, 6)}
"""(width, height) of each fixture image."""


def _images(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for seed, name in enumerate(names):
        width, height = SIZES[name]
        pixels = np.random.default_rng(seed).integers(0, 256, (height, width), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / name)


def _coco() -> None:
    images = [
        {"id": 1, "file_name": "a.png", "width": 20, "height": 10},
        {"id": 2, "file_name": "b.png", "width": 16, "height": 16},
        {"id": 3, "file_name": "c.png", "width": 12, "height": 8},
        {"id": 4, "file_name": "d.png", "width": 10, "height": 10},
        {"id": 5, "file_name": "e.png", "width": 8, "height": 6},
        {"id": 6, "file_name": "missing.png", "width": 8, "height": 8},
    ]
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 5, 4], "iscrowd": 0},
        {"id": 2, "image_id": 1, "category_id": 2, "bbox": [10.5, 0, 9.5, 10], "iscrowd": 0},
        {"id": 3, "image_id": 1, "category_id": 2, "bbox": [0, 0, 20, 10], "iscrowd": 1},
        {"id": 7, "image_id": 2, "category_id": 1, "bbox": [10, 10, 9, 4], "iscrowd": 0},
        {"id": 8, "image_id": 3, "category_id": 99, "bbox": [1, 1, 2, 2], "iscrowd": 0},
        {"id": 9, "image_id": 4, "category_id": 1, "bbox": [1, 1, 0, 3], "iscrowd": 0},
        {"id": 10, "image_id": 5, "category_id": 2, "bbox": [-0.3, 1, 8.4, 5], "iscrowd": 0},
        {"id": 11, "image_id": 42, "category_id": 1, "bbox": [1, 1, 2, 2], "iscrowd": 0},
        {"id": 12, "image_id": 6, "category_id": 1, "bbox": [1, 1, 2, 2], "iscrowd": 0},
    ]
    categories = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]
    folder = HERE / "coco"
    folder.mkdir(parents=True, exist_ok=True)
    payload = {"images": images, "annotations": annotations, "categories": categories}
    (folder / "broken.json").write_text(json.dumps(payload, indent=1) + "\n")
    (folder / "not_json.json").write_text('{"images": [\n  {"id": 1,, "file_name": "a.png"}\n]}\n')


def _yolo() -> None:
    folder = HERE / "yolo"
    _images(folder / "images", ["a.png", "b.png", "c.png", "d.png", "e.png"])
    (folder / "classes.txt").write_text("cat\ndog\n")
    labels = folder / "labels"
    labels.mkdir(parents=True, exist_ok=True)
    (labels / "a.txt").write_text("0 0.5 0.5 0.5 0.4\n1 0.25 0.25 0.1 0.2\n")
    (labels / "b.txt").write_text("0 0.5 0.5 0.5 0.5\n1 0.5 0.5\n")
    (labels / "c.txt").write_text("0 0.5 zero 0.2 0.2\n")
    (labels / "d.txt").write_text("\n5 0.5 0.5 0.2 0.2\n")
    (labels / "orphan.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    flat = HERE / "yolo_flat"
    _images(flat, ["a.png", "b.png"])
    (flat / "data.yaml").write_text("names:\n  0: cat\n  1: dog\n")
    (flat / "a.txt").write_text("")


def _voc_xml(name: str, size: tuple[int, int], objects: list[tuple[str, tuple[int, ...]]]) -> str:
    parts = [f"<annotation><filename>{name}</filename>"]
    parts.append(f"<size><width>{size[0]}</width><height>{size[1]}</height></size>")
    for label, (xmin, ymin, xmax, ymax) in objects:
        parts.append(
            f"<object><name>{label}</name><bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>"
            f"<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object>"
        )
    return "\n".join([*parts, "</annotation>\n"])


def _voc() -> None:
    folder = HERE / "voc" / "Annotations"
    folder.mkdir(parents=True, exist_ok=True)
    (HERE / "voc" / "classes.txt").write_text("cat\ndog\n")
    (folder / "a.xml").write_text(_voc_xml("a.png", (20, 10), [("cat", (1, 1, 20, 10))]))
    (folder / "b.xml").write_text("<annotation><filename>b.png</filename>\n<size>\n</annotation>\n")
    (folder / "c.xml").write_text(
        _voc_xml("c.png", (12, 8), [("dog", (1, 1, 4, 4)), ("dog", (5, 5, 14, 8))])
    )
    (folder / "d.xml").write_text(_voc_xml("d.png", (10, 10), [("bird", (2, 2, 5, 5))]))
    (folder / "e.xml").write_text(_voc_xml("e.png", (8, 6), []))
    (folder / "f.xml").write_text(_voc_xml("missing.png", (8, 8), []))


def _rectangle(
    label: str, xywh: tuple[float, ...], size: tuple[int, int], rotation: float = 0
) -> dict[str, object]:
    x, y, w, h = xywh
    return {
        "type": "rectanglelabels",
        "from_name": "label",
        "to_name": "image",
        "original_width": size[0],
        "original_height": size[1],
        "value": {
            "x": x,
            "y": y,
            "width": w,
            "height": h,
            "rotation": rotation,
            "rectanglelabels": [label],
        },
    }


def _task(
    task_id: int, image: str, results: list[dict[str, object]] | None, cancelled: bool = False
) -> dict[str, object]:
    annotations = (
        [] if results is None else [{"id": task_id, "was_cancelled": cancelled, "result": results}]
    )
    return {"id": task_id, "data": {"image": image}, "annotations": annotations}


def _labelstudio() -> None:
    tasks = [
        _task(1, "/data/local-files/?d=a.png", [_rectangle("cat", (5, 10, 50, 40), (20, 10))]),
        _task(2, "/data/upload/3/b.png", [_rectangle("dog", (10, 10, 20, 20), (16, 16), 30)]),
        _task(3, "c.png", [_rectangle("dog", (50, 50, 80, 10), (12, 8))]),
        _task(4, "http://host/imgs/d.png", [], cancelled=True),
        _task(5, "e.png", [_rectangle("bird", (0, 0, 50, 50), (8, 6))]),
        _task(6, "missing.png", [_rectangle("cat", (0, 0, 50, 50), (8, 8))]),
        {"id": 7, "data": {}, "annotations": []},
    ]
    folder = HERE / "labelstudio"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "broken.json").write_text(json.dumps(tasks, indent=1) + "\n")
    (folder / "not_json.json").write_text('[\n {"id": 1}\n')


def main() -> None:
    """Rewrites every fixture from scratch."""
    if HERE.exists():
        shutil.rmtree(HERE)
    _images(HERE / "images", list(SIZES))
    _coco()
    _yolo()
    _voc()
    _labelstudio()


if __name__ == "__main__":
    main()
