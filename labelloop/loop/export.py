"""Exporting labels, current or at a snapshot: CSV, JSON, and an ImageFolder tree."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import IO, Any, Literal

from labelloop.loop.workspace import Workspace
from labelloop.store import Item, LabelEvent

__all__ = ["ExportFormat", "export_bytes", "label_rows", "labeled_pairs", "write_imagefolder"]

ExportFormat = Literal["csv", "json", "imagefolder"]


def labeled_pairs(ws: Workspace, snapshot: int | None) -> list[tuple[Item, LabelEvent]]:
    """Items with their label events: current labels, or exactly those of a snapshot."""
    pid = ws.project.id
    if snapshot is not None:
        return ws.store.snapshot_labels(pid, snapshot)
    items = {item.id: item for item in ws.store.items(pid)}
    return [(items[i], e) for i, e in sorted(ws.store.current_labels(pid).items())]


def label_rows(pairs: list[tuple[Item, LabelEvent]]) -> list[dict[str, Any]]:
    """One flat record per labeled item."""
    return [
        {
            "item": item.id,
            "name": item.name,
            "sha256": item.sha256,
            "label": event.value,
            "split": item.split,
            "source": event.source,
            "annotator": event.annotator,
            "model_version": event.model_version,
            "event": event.id,
        }
        for item, event in pairs
    ]


def _safe(part: str) -> str:
    """One path component safe to unpack anywhere: no separators, no ``..``, no control
    characters (a class named ``../x`` would otherwise escape the extraction folder)."""
    cleaned = "".join("_" if c in "/\\:" or ord(c) < 32 else c for c in part).strip()
    return "_" if cleaned in ("", ".", "..") else cleaned


def write_imagefolder(ws: Workspace, pairs: list[tuple[Item, LabelEvent]], out: IO[bytes]) -> int:
    """Write a zip of ``<split>/<class>/<item id>_<name>``; returns the number of images.

    Only classification labels fit this layout; auto labels are left out unless a
    person accepted them, since the tree is meant for training.
    """
    written = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for item, event in pairs:
            if not isinstance(event.value, str) or event.source == "auto":
                continue
            name = _safe(Path(item.name).name)
            folder = _safe(event.value)
            zf.write(ws.image_path(item), f"{item.split or 'train'}/{folder}/{item.id}_{name}")
            written += 1
    return written


def export_bytes(
    ws: Workspace, fmt: ExportFormat, snapshot: int | None, *, include_auto: bool = False
) -> bytes:
    """The export as bytes, ready to write to a file or send over HTTP.

    Every export holds the labels people made or checked; auto labels no
    person has checked come along only with ``include_auto`` (the same rule
    as the detection formats). An ImageFolder tree, meant for training,
    never holds them.
    """
    pairs = [
        (item, event)
        for item, event in labeled_pairs(ws, snapshot)
        if include_auto or event.source != "auto"
    ]
    if fmt == "imagefolder":
        buffer = io.BytesIO()
        write_imagefolder(ws, pairs, buffer)
        return buffer.getvalue()
    rows = label_rows(pairs)
    if fmt == "json":
        return json.dumps({"snapshot": snapshot, "labels": rows}, indent=2).encode()
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]) if rows else ["item", "label"])
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, list) else v for k, v in row.items()})
    return text.getvalue().encode()
