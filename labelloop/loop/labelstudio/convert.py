"""Label Studio results and labelloop label values, one into the other.

Boxes are ``rectanglelabels`` in percent of the image (top-left corner);
labelloop keeps pixels of the upright image, the size Label Studio shows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from labelloop.loop.labelstudio.config import LabelConfig
from labelloop.loop.labelstudio.errors import LabelStudioError

__all__ = ["annotation_digest", "results_to_value", "value_to_results"]

_RESULT_TYPES = {"classification": "choices", "detection": "rectanglelabels"}


def results_to_value(
    results: Any, config: LabelConfig, width: int, height: int
) -> str | list[dict[str, object]] | None:
    """A Label Studio annotation's result as a labelloop label value.

    Only results of the config's control tag count. Classification: the one
    chosen class (None when nothing is chosen). Detection: the boxes in
    pixels of the ``width`` x ``height`` image (an empty list: no objects).

    Raises:
        LabelStudioError: several choices, a rotated box, or numbers missing.
    """
    if not isinstance(results, list):
        raise LabelStudioError("the annotation's result is not a list")
    mine = [
        r
        for r in results
        if isinstance(r, dict)
        and r.get("from_name") == config.from_name
        and r.get("type") == _RESULT_TYPES[config.task]
    ]
    if config.task == "classification":
        chosen = [c for r in mine for c in (r.get("value") or {}).get("choices") or []]
        if not chosen:
            return None
        if len(chosen) > 1 or not isinstance(chosen[0], str):
            raise LabelStudioError(
                f"an image takes one class, the annotation chose {chosen!r}; "
                "set choice='single' on the <Choices> tag"
            )
        return chosen[0]
    boxes: list[dict[str, object]] = []
    for r in mine:
        value = r.get("value") or {}
        names = value.get("rectanglelabels") or []
        numbers = [value.get(k) for k in ("x", "y", "width", "height")]
        if len(names) != 1 or not all(isinstance(n, int | float) for n in numbers):
            raise LabelStudioError(
                f"a rectangle needs x, y, width, height and one label, got {value!r}"
            )
        if value.get("rotation") not in (None, 0, 0.0):
            raise LabelStudioError(
                "a rectangle is rotated; labelloop boxes are axis-aligned: unrotate it"
            )
        x, y, w, h = (float(n) for n in numbers if isinstance(n, int | float))
        # Label Studio lets a box's edge reach a hair past the image; keep it inside.
        left, top = max(0.0, x / 100 * width), max(0.0, y / 100 * height)
        right, bottom = min(width, (x + w) / 100 * width), min(height, (y + h) / 100 * height)
        if right <= left or bottom <= top:
            raise LabelStudioError(f"a rectangle lies outside the image: {value!r}")
        boxes.append(
            {"x": left, "y": top, "width": right - left, "height": bottom - top, "label": names[0]}
        )
    return boxes


def value_to_results(
    value: Any, config: LabelConfig, width: int, height: int
) -> list[dict[str, object]]:
    """A labelloop label value (or a model's guess) as Label Studio results.

    Boxes may carry a ``score`` (the model's confidence in each), kept per region.
    """
    base = {"from_name": config.from_name, "to_name": config.to_name}
    if config.task == "classification":
        if not isinstance(value, str):
            return []
        return [base | {"type": "choices", "value": {"choices": [value]}}]
    results: list[dict[str, object]] = []
    for number, box in enumerate(value or []):
        result: dict[str, object] = base | {
            "id": f"b{number}",
            "type": "rectanglelabels",
            "original_width": width,
            "original_height": height,
            "image_rotation": 0,
            "value": {
                "x": float(box["x"]) / width * 100,
                "y": float(box["y"]) / height * 100,
                "width": float(box["width"]) / width * 100,
                "height": float(box["height"]) / height * 100,
                "rotation": 0,
                "rectanglelabels": [box["label"]],
            },
        }
        if "score" in box:
            result["score"] = float(box["score"])
        results.append(result)
    return results


def annotation_digest(annotation: Mapping[str, Any]) -> str:
    """A hash of what an annotation says (its result and whether it was skipped)."""
    content = {
        "result": annotation.get("result"),
        "cancelled": bool(annotation.get("was_cancelled")),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
