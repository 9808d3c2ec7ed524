"""COCO object-detection JSON: one file with ``images``, ``annotations``, ``categories``.

Reading:

- ``source`` is the JSON file. An image's ``file_name`` is relative to the
  image root (COCO keeps images in a folder of their own); pass that folder as
  ``image_root`` to check that every image exists.
- ``bbox`` is ``[x, y, width, height]`` in pixels from the top-left corner,
  which is labelloop's own convention, so no conversion happens.
- Every listed image is labeled: one with no annotations has "no objects"
  (COCO cannot say "not annotated").
- Classes are the ``categories`` in the order listed. Crowd regions
  (``iscrowd: 1``) are not single objects: they are skipped and reported, and
  the image imports without them.

Writing: ``dest`` is the JSON file. Unlabeled records are left out (COCO
would read them back as "no objects"). Category ids are 1-based class indices;
image and annotation ids count from 1. With ``image_root``, images are copied
to ``dest.parent / "images"``, the folder to pass as ``image_root`` on reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from labelloop.data.formats._common import (
    DetectionDataset,
    DetectionFormatError,
    DetectionRecord,
    FormatProblem,
    RawBox,
    as_numbers,
    build_record,
    gather,
    load_json,
    missing_image,
    resolve_classes,
    stated_size,
)
from labelloop.data.formats._format import DetectionFormat
from labelloop.data.formats._writing import write_json

__all__ = ["COCO", "read_coco", "write_coco"]


def _categories(data: dict[str, Any], file: str) -> tuple[dict[object, str], list[FormatProblem]]:
    names: dict[object, str] = {}
    problems: list[FormatProblem] = []
    for position, category in enumerate(data.get("categories", [])):
        cid = category.get("id") if isinstance(category, dict) else None
        name = category.get("name") if isinstance(category, dict) else None
        if cid is None or not isinstance(name, str) or not name.strip():
            problems.append(
                FormatProblem(
                    file,
                    f"category {position}",
                    "a category needs an 'id' and a non-empty 'name'; fix the entry",
                )
            )
        elif cid in names or name in names.values():
            problems.append(
                FormatProblem(
                    file,
                    f"category id {cid}",
                    f"category id {cid} or name {name!r} repeats; give each category its own",
                )
            )
        else:
            names[cid] = name
    return names, problems


def _images(
    data: dict[str, Any], file: str, image_root: Path | None
) -> tuple[dict[object, tuple[str, tuple[int, int]]], list[FormatProblem]]:
    images: dict[object, tuple[str, tuple[int, int]]] = {}
    seen_names: set[str] = set()
    problems: list[FormatProblem] = []
    for position, image in enumerate(data.get("images", [])):
        image = image if isinstance(image, dict) else {}
        iid, name = image.get("id"), image.get("file_name")
        where = f"image id {iid}" if iid is not None else f"image {position}"
        if iid is None or not isinstance(name, str) or not name:
            reason = "an image needs an 'id' and a 'file_name'; fix the entry"
        elif iid in images or name in seen_names:
            reason = f"image id {iid} or file_name {name!r} repeats; list each image once"
        else:
            size = stated_size(image.get("width"), image.get("height"), image_root, name)
            if isinstance(size, tuple):
                images[iid] = (name, size)
                seen_names.add(name)
                continue
            reason = (
                f"width {image.get('width')!r} and height {image.get('height')!r} must be "
                "positive integers; fix them, or pass image_root to read them from the image"
            )
        problems.append(FormatProblem(file, where, reason))
    return images, problems


def _raw_box(annotation: dict[str, Any], label: str, where: str) -> RawBox | None:
    bbox = annotation.get("bbox")
    numbers = as_numbers(bbox) if isinstance(bbox, list) and len(bbox) == 4 else None
    if numbers is None:
        return None
    x, y, w, h = numbers
    return RawBox(x, y, w, h, label, where)


def _read(source: Path, image_root: Path | None, classes: Sequence[str] | None) -> DetectionDataset:
    """Reads a COCO detection JSON file (rules in the module docstring).

    With ``image_root``, sizes missing from the JSON are read from the images;
    ``classes=None`` takes the file's categories.

    Raises:
        DetectionFormatError: The file is not JSON or not a COCO object.
    """
    file = str(source)
    data = load_json(source, "COCO annotations JSON")
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise DetectionFormatError(
            f"{source} is not COCO detection JSON: expected an object with an 'images' list "
            "(and 'annotations', 'categories')."
        )
    category_names, problems = _categories(data, file)
    images, image_problems = _images(data, file, image_root)
    problems += image_problems
    dataset_classes, allowed = resolve_classes(list(category_names.values()), classes)
    boxes: dict[object, list[RawBox]] = {iid: [] for iid in images}
    refused: set[object] = set()
    for position, annotation in enumerate(data.get("annotations", [])):
        annotation = annotation if isinstance(annotation, dict) else {}
        aid = annotation.get("id")
        where = f"annotation id {aid}" if aid is not None else f"annotation {position}"
        iid, cid = annotation.get("image_id"), annotation.get("category_id")
        if iid not in images:
            problems.append(
                FormatProblem(file, where, f"image_id {iid!r} is not in 'images'; fix the id")
            )
            continue
        if annotation.get("iscrowd") == 1:
            problems.append(
                FormatProblem(
                    file,
                    where,
                    "crowd region (iscrowd=1) skipped: labelloop boxes are single objects; "
                    "the image imports without it",
                )
            )
            continue
        if cid not in category_names:
            problems.append(
                FormatProblem(
                    file,
                    where,
                    f"category_id {cid!r} is not in 'categories'; add the category or fix "
                    "the id (the image's record is not imported)",
                )
            )
            refused.add(iid)
            continue
        raw = _raw_box(annotation, category_names[cid], where)
        if raw is None:
            problems.append(
                FormatProblem(
                    file,
                    where,
                    f"bbox {annotation.get('bbox')!r} is not four numbers [x, y, width, height]; "
                    "fix it (the image's record is not imported)",
                )
            )
            refused.add(iid)
            continue
        boxes[iid].append(raw)
    results = (
        _image_record(name, size, boxes[iid], file, image_root, allowed)
        for iid, (name, size) in images.items()
        if iid not in refused
    )
    return gather(results, dataset_classes, before=problems)


def _image_record(
    name: str,
    size: tuple[int, int],
    raw: list[RawBox],
    file: str,
    image_root: Path | None,
    allowed: Sequence[str] | None,
) -> tuple[DetectionRecord | None, list[FormatProblem]]:
    absent = missing_image(image_root, name, file)
    if absent is not None:
        return None, [absent]
    return build_record(name, size, raw, file=file, classes=allowed)


def _write(labeled: list[DetectionRecord], classes: Sequence[str], dest: Path) -> list[Path]:
    """Writes the JSON file ``dest``, category ids 1-based (rules in the module docstring)."""
    index = {name: position + 1 for position, name in enumerate(classes)}
    images: list[dict[str, object]] = []
    annotations: list[dict[str, object]] = []
    for image_id, record in enumerate(labeled, start=1):
        images.append(
            {
                "id": image_id,
                "file_name": record.file_name,
                "width": record.width,
                "height": record.height,
            }
        )
        for box in record.boxes:
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": index[box.label],
                    "bbox": [box.x, box.y, box.width, box.height],
                    "area": box.width * box.height,
                    "iscrowd": 0,
                }
            )
    categories = [{"id": index[name], "name": name} for name in classes]
    payload = {"images": images, "annotations": annotations, "categories": categories}
    return write_json(dest, payload)


COCO = DetectionFormat("coco", "COCO", _read, _write, keeps_unlabeled=False, one_file=True)
read_coco = COCO.read
write_coco = COCO.write
