"""YOLO text labels: one ``.txt`` per image, lines ``class_id cx cy w h`` in [0, 1].

Reading (``source`` is the dataset folder):

- Layout: if ``source/images`` is a folder, images are found under it
  (subfolders such as ``train/`` included) and each image's labels at the
  same relative path under ``source/labels`` with the suffix ``.txt``; this
  is the usual YOLO layout. Otherwise the layout is flat: images and their
  ``.txt`` files side by side in ``source`` (and its subfolders).
  ``image_root`` replaces the folder images are found in.
- Classes: the ``names:`` of ``source/data.yaml`` (a list, or a mapping from
  index to name), else the lines of ``source/classes.txt``, else the
  ``classes`` argument, whose order then gives the indices.
- An image with a ``.txt`` file is labeled, an empty file meaning "no
  objects"; an image with no ``.txt`` file is unlabeled.
- Image sizes are read from the image files (Pillow) to turn normalised
  coordinates into pixels.

Writing (``dest`` is the dataset folder): ``dest/labels/<image path>.txt``
for each labeled record, with coordinates written exactly (shortest repr of
each float), plus ``dest/data.yaml`` and ``dest/classes.txt`` naming the
classes. Unlabeled records get no ``.txt``. With ``image_root``, images are
copied to ``dest/images``; without it, put them there yourself.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import yaml

from labelloop.data.formats._common import (
    CLASS_LIST,
    IMAGE_FOLDER,
    DetectionDataset,
    DetectionFormatError,
    DetectionRecord,
    FormatProblem,
    RawBox,
    build_record,
    gather,
    image_size,
    posix_relative,
    read_class_list,
    resolve_classes,
)
from labelloop.data.formats._format import DetectionFormat
from labelloop.data.formats._writing import (
    annotation_files,
    write_class_list,
    write_texts,
)
from labelloop.data.labels import Box

__all__ = ["YOLO", "read_yolo", "write_yolo"]

LABEL_FOLDER = "labels"
_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})


def _yaml_names(path: Path) -> list[str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DetectionFormatError(
            f"Cannot read {path} as YAML ({exc}); fix it so that it has a 'names:' list."
        ) from exc
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, dict) and sorted(names) == list(range(len(names))):
        names = [names[index] for index in range(len(names))]
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise DetectionFormatError(
            f"{path} has no usable 'names:'; write the class names as a list "
            "(names: [cat, dog]) or a mapping from index 0, 1, ... to name."
        )
    return names


def _declared_classes(source: Path) -> list[str] | None:
    if (source / "data.yaml").is_file():
        return _yaml_names(source / "data.yaml")
    return read_class_list(source)


def _iter_images(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
        if path.suffix.lower() in _IMAGE_SUFFIXES and not hidden and path.is_file():
            yield path


def _parse_line(line: str, names: Sequence[str], size: tuple[int, int], where: str) -> RawBox | str:
    """One label line as a pixel box, or the reason it is refused."""
    fields = line.split()
    if len(fields) != 5:
        return f"expected 5 fields 'class_id cx cy w h', got {len(fields)}; fix the line"
    try:
        class_id = int(fields[0])
        cx, cy, w, h = (float(field) for field in fields[1:])
    except ValueError:
        return f"{line.strip()!r} is not an integer class id and four numbers; fix the line"
    if not 0 <= class_id < len(names):
        return (
            f"class index {class_id} is out of range for the {len(names)} classes "
            f"{list(names)}; fix the index or the class list"
        )
    if not all(math.isfinite(value) for value in (cx, cy, w, h)):
        return "a coordinate is not finite; write numbers in [0, 1]"
    width, height = size
    box_w, box_h = w * width, h * height
    left, top = cx * width - box_w / 2, cy * height - box_h / 2
    return RawBox(left, top, box_w, box_h, names[class_id], where)


def _read_label_file(
    path: Path, names: Sequence[str], size: tuple[int, int]
) -> tuple[list[RawBox], list[FormatProblem]]:
    boxes: list[RawBox] = []
    problems: list[FormatProblem] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        return [], [FormatProblem(str(path), None, f"cannot read the file ({exc}); rewrite it")]
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parsed = _parse_line(line, names, size, f"line {number}")
        if isinstance(parsed, str):
            problems.append(FormatProblem(str(path), f"line {number}", parsed))
        else:
            boxes.append(parsed)
    return boxes, problems


def _read(source: Path, image_root: Path | None, classes: Sequence[str] | None) -> DetectionDataset:
    """Reads a YOLO dataset folder (rules in the module docstring).

    ``image_root`` replaces ``source/images`` (or ``source`` when flat) as the
    folder to find images in; ``classes`` also names the indices when the
    folder has neither ``data.yaml`` nor ``classes.txt``.

    Raises:
        DetectionFormatError: No class names can be found.
    """
    names = _declared_classes(source)
    if names is None:
        if classes is None:
            raise DetectionFormatError(
                f"{source} has neither data.yaml (names:) nor classes.txt; add one, or pass "
                "the class names in index order as classes."
            )
        names = list(classes)
    dataset_classes, allowed = resolve_classes(names, classes)
    layered = (source / IMAGE_FOLDER).is_dir()
    images = image_root if image_root is not None else source
    if image_root is None and layered:
        images = source / IMAGE_FOLDER
    labels = source / LABEL_FOLDER if layered else source
    file_names = {image: posix_relative(image, images) for image in _iter_images(images)}
    label_files = {image: (labels / name).with_suffix(".txt") for image, name in file_names.items()}
    orphans = [
        FormatProblem(str(orphan), None, "no image for this label file; add the image or delete it")
        for orphan in sorted(set(labels.rglob("*.txt")) - set(label_files.values()))
        if not (orphan.parent == source and orphan.name == CLASS_LIST)
    ]
    results = (
        _read_image(image, name, label_files[image], names, allowed)
        for image, name in file_names.items()
    )
    return gather(results, dataset_classes, after=orphans)


def _read_image(
    image: Path,
    file_name: str,
    label_file: Path,
    names: Sequence[str],
    allowed: Sequence[str] | None,
) -> tuple[DetectionRecord | None, list[FormatProblem]]:
    size = image_size(image)
    if isinstance(size, str):
        return None, [FormatProblem(str(image), None, size)]
    if not label_file.is_file():
        return DetectionRecord(file_name, size[0], size[1], (), labeled=False), []
    raw, problems = _read_label_file(label_file, names, size)
    record, box_problems = build_record(file_name, size, raw, file=str(label_file), classes=allowed)
    return (None if problems else record), problems + box_problems


def _line(index: dict[str, int], box: Box, record: DetectionRecord) -> str:
    """The box as ``class_id cx cy w h``, coordinates in [0, 1] written exactly."""
    values = (
        (box.x + box.width / 2) / record.width,
        (box.y + box.height / 2) / record.height,
        box.width / record.width,
        box.height / record.height,
    )
    return " ".join([str(index[box.label]), *(repr(float(value)) for value in values)])


def _write(records: list[DetectionRecord], classes: Sequence[str], dest: Path) -> list[Path]:
    """Writes the class lists, then the label files under ``dest`` (rules in the module docstring).

    Raises:
        DetectionFormatError: Two images would share a label file (``a.png`` and ``a.jpg``).
    """
    files = annotation_files(records, dest / LABEL_FOLDER, ".txt", "label")
    index = {name: position for position, name in enumerate(classes)}
    dest.mkdir(parents=True, exist_ok=True)
    data_yaml = dest / "data.yaml"
    data = {"path": ".", "train": IMAGE_FOLDER, "names": list(classes)}
    data_yaml.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    written = [data_yaml, write_class_list(dest, classes)]
    written += write_texts(
        (path, "".join(f"{_line(index, box, record)}\n" for box in record.boxes))
        for record, path in files
        if record.labeled
    )
    return written


YOLO = DetectionFormat("yolo", "YOLO", _read, _write, keeps_unlabeled=True, one_file=False)
read_yolo = YOLO.read
write_yolo = YOLO.write
