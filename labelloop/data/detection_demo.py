"""A generated object-detection dataset built from scikit-learn's 8x8 digits.

Each image is a grayscale canvas with clutter (faint noise, lines, blobs and
fragments of digits, none of them objects) and 0 to ``max_objects`` digits
pasted at random positions and sizes. Ground-truth boxes are **tight around
each scaled digit's ink**: the smallest pixel-aligned box holding every pixel
of the scaled digit brighter than :data:`INK_THRESHOLD`. Digits are pasted
by taking the brighter of canvas and digit, so a digit's ink is never dimmed;
no two boxes of an image overlap with IoU above :data:`MAX_IOU`. Everything
is reproducible from the seed, and no data is downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict, Unpack

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from labelloop.data.demo import DIGITS_CLASSES, digits_arrays
from labelloop.data.formats import DetectionRecord, FormatName, write_detections
from labelloop.data.formats._common import IMAGE_FOLDER
from labelloop.data.labels import Box

__all__ = [
    "INK_THRESHOLD",
    "MAX_IOU",
    "DemoOptions",
    "DetectionDemo",
    "demo_records",
    "detection_demo_arrays",
    "write_detection_demo",
]

INK_THRESHOLD = 0.25
"""Pixel value above which a scaled digit's pixel counts as ink for its box."""

MAX_IOU = 0.1
"""The largest IoU allowed between two objects of one image."""

_PLACEMENT_TRIES = 30
_ANNOTATION_FILES = {"coco": "annotations.json", "labelstudio": "tasks.json"}


@dataclass(frozen=True)
class DetectionDemo:
    """Generated detection images and their exact boxes.

    Attributes:
        images: (n_images, 1, height, width), float32 in [0, 1].
        boxes: One (m_i, 4) float64 array per image: ``x, y, width, height``
            in pixels, tight around each digit's ink.
        labels: One (m_i,) int64 array per image: indices into ``classes``.
        classes: The class names (digits) in index order.
    """

    images: NDArray[np.float32]
    boxes: list[NDArray[np.float64]]
    labels: list[NDArray[np.int64]]
    classes: tuple[str, ...]


def _iou(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """IoU of two ``x, y, width, height`` boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return float(inter / (a[2] * a[3] + b[2] * b[3] - inter))


def _scaled(digit: NDArray[np.float32], size: int) -> NDArray[np.float32]:
    """An (8, 8) digit resized to (size, size) with bilinear interpolation, in [0, 1]."""
    image = Image.fromarray(np.ascontiguousarray(digit, dtype=np.float32))
    resized = np.asarray(image.resize((size, size), Image.Resampling.BILINEAR), np.float32)
    return np.clip(resized, 0.0, 1.0)


def _ink_box(patch: NDArray[np.float32]) -> tuple[int, int, int, int]:
    """``(left, top, width, height)`` of the pixels above the ink threshold."""
    rows = np.flatnonzero((patch > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((patch > INK_THRESHOLD).any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def _clutter(
    canvas: NDArray[np.float32], rng: np.random.Generator, digits: NDArray[np.float32]
) -> None:
    """Draws noise, a line, a blob and a digit fragment onto ``canvas`` in place."""
    height, width = canvas.shape
    canvas += rng.uniform(0.0, 0.08, size=canvas.shape).astype(np.float32)
    if rng.random() < 0.7:
        x0, x1 = rng.uniform(0, width, size=2)
        y0, y1 = rng.uniform(0, height, size=2)
        steps = np.linspace(0.0, 1.0, num=2 * (width + height))
        xs = np.clip(np.rint(x0 + (x1 - x0) * steps), 0, width - 1).astype(int)
        ys = np.clip(np.rint(y0 + (y1 - y0) * steps), 0, height - 1).astype(int)
        canvas[ys, xs] = np.maximum(canvas[ys, xs], rng.uniform(0.3, 0.7))
    if rng.random() < 0.5:
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        sigma = rng.uniform(1.5, 4.0)
        yy, xx = np.mgrid[0:height, 0:width]
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2)) * rng.uniform(0.3, 0.6)
        np.maximum(canvas, blob.astype(np.float32), out=canvas)
    if rng.random() < 0.5:
        size = int(rng.integers(12, min(28, height, width) + 1))
        patch = _scaled(digits[rng.integers(len(digits))], size)
        piece = patch[: size // 3, : size // 3]
        top = int(rng.integers(0, height - piece.shape[0] + 1))
        left = int(rng.integers(0, width - piece.shape[1] + 1))
        region = canvas[top : top + piece.shape[0], left : left + piece.shape[1]]
        np.maximum(region, piece, out=region)


def _place(
    canvas: NDArray[np.float32],
    patch: NDArray[np.float32],
    rng: np.random.Generator,
    placed: list[NDArray[np.float64]],
) -> NDArray[np.float64] | None:
    """Pastes ``patch`` where its ink box overlaps no placed box above :data:`MAX_IOU`."""
    height, width = canvas.shape
    left, top, box_w, box_h = _ink_box(patch)
    for _ in range(_PLACEMENT_TRIES):
        y = int(rng.integers(0, height - patch.shape[0] + 1))
        x = int(rng.integers(0, width - patch.shape[1] + 1))
        box = np.array([x + left, y + top, box_w, box_h], dtype=np.float64)
        if all(_iou(box, other) <= MAX_IOU for other in placed):
            region = canvas[y : y + patch.shape[0], x : x + patch.shape[1]]
            np.maximum(region, patch, out=region)
            return box
    return None


def _check_arguments(
    n_images: int, canvas: int, classes: Sequence[str], max_objects: int, scale: tuple[int, int]
) -> None:
    unknown = [name for name in classes if name not in DIGITS_CLASSES]
    if not classes or unknown or len(set(classes)) != len(classes):
        raise ValueError(
            f"classes must be distinct digit names from {list(DIGITS_CLASSES)}, got "
            f"{list(classes)}."
        )
    if n_images < 0 or max_objects < 0:
        raise ValueError(
            f"n_images and max_objects must be at least 0, got {n_images} and {max_objects}."
        )
    low, high = scale
    if not 8 <= low <= high <= canvas:
        raise ValueError(
            f"scale must be (low, high) with 8 <= low <= high <= canvas ({canvas}), got {scale}."
        )


class DemoOptions(TypedDict, total=False):
    """How the demo is generated beyond its size: :func:`detection_demo_arrays`'s keywords."""

    canvas: int
    classes: Sequence[str]
    max_objects: int
    scale: tuple[int, int]
    clutter: bool
    seed: int


def detection_demo_arrays(
    n_images: int = 400,
    *,
    canvas: int = 64,
    classes: Sequence[str] = DIGITS_CLASSES,
    max_objects: int = 3,
    scale: tuple[int, int] = (12, 28),
    clutter: bool = True,
    seed: int = 0,
) -> DetectionDemo:
    """Generates the detection demo dataset in memory (see the module docstring).

    Args:
        n_images: How many images.
        canvas: Side of the square canvas in pixels.
        classes: The digits to use as classes, e.g. ``("0", "1", "2")``;
            label ``i`` is ``classes[i]``.
        max_objects: Each image gets 0 to ``max_objects`` digits, uniformly (a
            digit that finds no place within the overlap limit is left out).
        scale: Smallest and largest side, in pixels, of a pasted digit.
        clutter: Whether to draw the distracting background.
        seed: Seed of the generator; equal seeds give equal datasets.

    Returns:
        The images, boxes, labels and class names.

    Raises:
        ValueError: A class is not a digit, or a size or count is out of range.
    """
    classes = tuple(classes)
    _check_arguments(n_images, canvas, classes, max_objects, scale)
    X, y = digits_arrays()
    digits = X[:, 0]
    wanted = [DIGITS_CLASSES.index(name) for name in classes]
    pools = [np.flatnonzero(y == digit) for digit in wanted]
    rng = np.random.default_rng(seed)
    images = np.zeros((n_images, 1, canvas, canvas), dtype=np.float32)
    all_boxes: list[NDArray[np.float64]] = []
    all_labels: list[NDArray[np.int64]] = []
    for image in images:
        if clutter:
            _clutter(image[0], rng, digits)
        placed: list[NDArray[np.float64]] = []
        labels: list[int] = []
        for _ in range(int(rng.integers(0, max_objects + 1))):
            label = int(rng.integers(len(classes)))
            digit = digits[rng.choice(pools[label])]
            patch = _scaled(digit, int(rng.integers(scale[0], scale[1] + 1)))
            box = _place(image[0], patch, rng, placed)
            if box is not None:
                placed.append(box)
                labels.append(label)
        np.clip(image, 0.0, 1.0, out=image)
        all_boxes.append(np.array(placed, dtype=np.float64).reshape(-1, 4))
        all_labels.append(np.array(labels, dtype=np.int64))
    return DetectionDemo(images, all_boxes, all_labels, classes)


def demo_records(demo: DetectionDemo) -> list[DetectionRecord]:
    """The demo's labels as detection records named ``img_<index:05d>.png``.

    Args:
        demo: A generated dataset.

    Returns:
        One labeled record per image.
    """
    height, width = demo.images.shape[2:]
    return [
        DetectionRecord(
            f"img_{index:05d}.png",
            width,
            height,
            tuple(
                Box(x=x, y=y, width=w, height=h, label=demo.classes[label])
                for (x, y, w, h), label in zip(boxes.tolist(), labels.tolist(), strict=True)
            ),
        )
        for index, (boxes, labels) in enumerate(zip(demo.boxes, demo.labels, strict=True))
    ]


def write_detection_demo(
    dest: Path,
    n_images: int = 200,
    *,
    format: FormatName = "coco",
    **options: Unpack[DemoOptions],
) -> Path:
    """Writes the detection demo as PNG files plus annotations in one format.

    Images are ``dest/images/img_<index:05d>.png`` (pixel values
    ``round(v * 255)``) for every format. Annotations: COCO
    ``dest/annotations.json``, Label Studio ``dest/tasks.json``, VOC
    ``dest/Annotations/`` (plus ``classes.txt``), YOLO ``dest/labels/`` (plus
    ``data.yaml``, ``classes.txt``). Read them back with
    ``read_detections(format, <returned path>, image_root=dest / "images")``.

    Args:
        dest: The folder to write; created if missing.
        n_images: How many images.
        format: The annotation format.
        **options: How to generate them, as :func:`detection_demo_arrays`
            (``canvas``, ``classes``, ``max_objects``, ``scale``, ``clutter``,
            ``seed``), with the same defaults.

    Returns:
        The annotation path to pass to ``read_detections``: the JSON file
        for COCO and Label Studio, ``dest`` for VOC and YOLO.

    Raises:
        ValueError: As :func:`detection_demo_arrays`.
    """
    dest = Path(dest)
    demo = detection_demo_arrays(n_images, **options)
    records = demo_records(demo)
    folder = dest / IMAGE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for record, image in zip(records, demo.images, strict=True):
        pixels = np.rint(image[0] * 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / record.file_name, format="PNG")
    annotations = dest / _ANNOTATION_FILES[format] if format in _ANNOTATION_FILES else dest
    write_detections(format, records, demo.classes, annotations)
    return annotations
