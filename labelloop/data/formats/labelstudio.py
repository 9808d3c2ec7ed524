"""Label Studio JSON export of rectangle labels (``RectangleLabels``).

The export is a list of tasks. Each task has ``data.image`` and
``annotations[].result[]``; a rectangle result has ``type:
"rectanglelabels"``, ``original_width``, ``original_height`` and ``value:
{x, y, width, height, rotation, rectanglelabels: [name]}`` with the
coordinates in percent of the image.

Reading (``source`` is the JSON file):

- The image's ``file_name`` comes from ``data.image``: for Label Studio's
  local-files URLs (``/data/local-files/?d=<path>``) it is ``<path>``; for
  other URLs and absolute paths (``/data/upload/3/ab12-cat.png``,
  ``https://host/cat.png``) it is the last path component; a relative path is
  kept as is. Images are then found under ``image_root``.
- A task's label is its first annotation not marked ``was_cancelled``; a task
  with none is unlabeled. An annotation with no rectangles is "no objects".
  Results of other types are reported and skipped.
- A rotated rectangle (``rotation`` not 0) is reported and the image's record
  dropped: an axis-aligned box would misstate it.
- The image size comes from the results' ``original_width`` and
  ``original_height``; when no result has one, from ``data.width`` and
  ``data.height`` (which the writer adds), else from the image file under
  ``image_root``.
- Classes keep their order of first appearance unless ``classes`` is given.

Writing (``dest`` is the JSON file): one task per record, ``data.image`` the
record's ``file_name``, unlabeled records with no annotations. Percentages are
written as exact floats (round trip within float rounding, far below 1e-6 px).
With ``image_root``, images are copied to ``dest.parent / "images"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from labelloop.data.formats._common import (
    DetectionDataset,
    DetectionFormatError,
    DetectionRecord,
    FormatProblem,
    RawBox,
    as_numbers,
    build_record,
    check_size,
    gather,
    load_json,
    missing_image,
    stated_size,
)
from labelloop.data.formats._format import DetectionFormat
from labelloop.data.formats._writing import write_json
from labelloop.data.labels import Box

__all__ = ["LABEL_STUDIO", "image_file_name", "read_labelstudio", "write_labelstudio"]

_RECTANGLE = "rectanglelabels"


def image_file_name(url: str) -> str:
    """The image path a Label Studio ``data.image`` value points at.

    Args:
        url: The task's ``data.image``.

    Returns:
        A path relative to the image root (rules in the module docstring).
    """
    parts = urlsplit(url)
    local = parse_qs(parts.query).get("d")
    if parts.path.endswith("/data/local-files/") and local:
        return local[0]
    if parts.scheme or parts.netloc or url.startswith("/"):
        return PurePosixPath(unquote(parts.path)).name
    return url


def _task_size(
    results: list[Any], data: dict[str, Any], file_name: str, image_root: Path | None
) -> tuple[int, int] | str:
    for result in results:
        if isinstance(result, dict) and "original_width" in result:
            stated = check_size(result.get("original_width"), result.get("original_height"))
            if stated is not None:
                return stated
    size = stated_size(data.get("width"), data.get("height"), image_root, file_name)
    if size is not None:
        return size
    return (
        "the image size is unknown (no original_width/original_height); pass image_root "
        "to read it from the image"
    )


def _rectangle(result: dict[str, Any], size: tuple[int, int], where: str) -> RawBox | str:
    """One rectangle result as a pixel box, or the reason it is refused."""
    value = result.get("value")
    value = value if isinstance(value, dict) else {}
    names = value.get(_RECTANGLE)
    if not isinstance(names, list) or len(names) != 1 or not isinstance(names[0], str):
        return f"rectanglelabels must name exactly one class, got {names!r}; fix the result"
    numbers = as_numbers([value.get(key) for key in ("x", "y", "width", "height")])
    if numbers is None:
        return "value needs numeric x, y, width, height (percent); fix the result"
    rotation = value.get("rotation", 0)
    if rotation not in (0, 0.0, None):
        return (
            f"the rectangle is rotated by {rotation} degrees; labelloop boxes are axis-aligned, "
            "so unrotate it in Label Studio (the image's record is not imported)"
        )
    x, y, w, h = (v / 100 for v in numbers)
    width, height = size
    return RawBox(x * width, y * height, w * width, h * height, names[0], where)


def _read_task(
    task: Any, position: int, file: str, image_root: Path | None, allowed: Sequence[str] | None
) -> tuple[DetectionRecord | None, list[FormatProblem]]:
    task_where = f"task id {task.get('id')}" if isinstance(task, dict) else f"task {position}"
    data = task.get("data") if isinstance(task, dict) else None
    image = data.get("image") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(image, str) or not image:
        return None, [FormatProblem(file, task_where, "the task has no data.image; add it")]
    file_name = image_file_name(image)
    absent = missing_image(image_root, file_name, file)
    if absent is not None:
        return None, [absent]
    annotations = [
        item
        for item in task.get("annotations") or []
        if isinstance(item, dict) and not item.get("was_cancelled")
    ]
    results = annotations[0].get("result") if annotations else []
    results = results if isinstance(results, list) else []
    size = _task_size(results, data, file_name, image_root)
    if isinstance(size, str):
        return None, [FormatProblem(file, task_where, size)]
    if not annotations:
        return DetectionRecord(file_name, size[0], size[1], (), labeled=False), []
    problems: list[FormatProblem] = []
    raw: list[RawBox] = []
    for number, result in enumerate(results):
        where = f"{task_where}, result {number}"
        kind = result.get("type") if isinstance(result, dict) else None
        if kind != _RECTANGLE or not isinstance(result, dict):
            problems.append(
                FormatProblem(file, where, f"result type {kind!r} is not rectanglelabels; skipped")
            )
            continue
        parsed = _rectangle(result, size, where)
        if isinstance(parsed, str):
            problems.append(FormatProblem(file, where, parsed))
            return None, problems
        raw.append(parsed)
    record, box_problems = build_record(file_name, size, raw, file=file, classes=allowed)
    return record, problems + box_problems


def _read(source: Path, image_root: Path | None, classes: Sequence[str] | None) -> DetectionDataset:
    """Reads a Label Studio JSON export, a list of tasks (rules in the module docstring).

    ``classes=None`` takes the order of first appearance.

    Raises:
        DetectionFormatError: The file is not JSON or not a list of tasks.
    """
    file = str(source)
    tasks = load_json(source, "Label Studio JSON export")
    if not isinstance(tasks, list):
        raise DetectionFormatError(
            f"{source} is not a Label Studio JSON export: expected a list of tasks; export "
            "the project as 'JSON' (not JSON-MIN or CSV)."
        )
    results = (
        _read_task(task, position, file, image_root, classes) for position, task in enumerate(tasks)
    )
    return gather(results, classes)


def _result(record: DetectionRecord, number: int, box: Box) -> dict[str, object]:
    return {
        "id": f"r{number}",
        "type": _RECTANGLE,
        "from_name": "label",
        "to_name": "image",
        "original_width": record.width,
        "original_height": record.height,
        "image_rotation": 0,
        "value": {
            "x": box.x / record.width * 100,
            "y": box.y / record.height * 100,
            "width": box.width / record.width * 100,
            "height": box.height / record.height * 100,
            "rotation": 0,
            _RECTANGLE: [box.label],
        },
    }


def _write(records: list[DetectionRecord], classes: Sequence[str], dest: Path) -> list[Path]:
    """Writes the JSON file ``dest``, one task per record (rules in the module docstring).

    Label Studio does not store the classes' order.
    """
    tasks: list[dict[str, object]] = []
    for task_id, record in enumerate(records, start=1):
        data = {"image": record.file_name, "width": record.width, "height": record.height}
        annotations = []
        if record.labeled:
            results = [_result(record, n, box) for n, box in enumerate(record.boxes)]
            annotations.append({"id": task_id, "was_cancelled": False, "result": results})
        tasks.append({"id": task_id, "data": data, "annotations": annotations})
    return write_json(dest, tasks)


LABEL_STUDIO = DetectionFormat(
    "labelstudio", "Label Studio", _read, _write, keeps_unlabeled=True, one_file=True
)
read_labelstudio = LABEL_STUDIO.read
write_labelstudio = LABEL_STUDIO.write
