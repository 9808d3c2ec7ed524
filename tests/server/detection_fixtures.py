"""A tiny detection project for server tests: generated PNGs, three classes, model proposals."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from labelloop.config import ProjectConfig
from labelloop.loop import Workspace
from labelloop.server.security import hash_password
from labelloop.store import RankedItem
from tests.server.conftest import PASSWORD, USERS

CLASSES = ("cat", "dog", "bird")
WIDTH, HEIGHT = 96, 64


def make_detection_project(root: Path, *, n_items: int = 4, **settings: object) -> Path:
    """A detection project of ``n_items`` unlabeled 96x64 PNGs, with the USERS accounts.

    Each image is a grey field with a coloured rectangle, different per image,
    so that no two are duplicates.
    """
    folder = root.parent / f"{root.name}-images"
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(n_items):
        image = Image.new("RGB", (WIDTH, HEIGHT), (200, 200, 200))
        image.paste((40 * n % 256, 120, 255 - 30 * n % 256), (8 + n, 8, 40 + n, 40))
        image.save(folder / f"scene_{n:02d}.png")
    config = ProjectConfig(
        name=root.name,
        task="detection",
        classes=CLASSES,
        retrain_every=1000,
        **settings,
    )
    ws = Workspace.init(root, config)
    ws.import_folder(folder, with_labels=False)
    for name, role in USERS.items():
        ws.store.people.create_user(name, hash_password(PASSWORD), role)  # type: ignore[arg-type]
    ws.close()
    return root


def item_ids(root: Path) -> list[int]:
    """The project's item ids, in import order."""
    ws = Workspace.open(root)
    try:
        return [item.id for item in ws.store.items(ws.project.id)]
    finally:
        ws.close()


def _least_score(boxes: Sequence[Mapping[str, Any]]) -> float | None:
    return min((float(b["score"]) for b in boxes), default=None)


def add_proposals(root: Path, proposals: Mapping[int, Sequence[Mapping[str, Any]] | str]) -> None:
    """Record a round whose ranking holds these items, in this order, with these proposals.

    A value is the boxes (with ``score``) the model proposes for the item, or a
    raw string stored as is (to plant a corrupt proposal).
    """
    ranking = []
    for n, (item_id, boxes) in enumerate(proposals.items()):
        if isinstance(boxes, str):
            ranking.append(RankedItem(item_id, 1.0 - n / 10, boxes, None))
        else:
            ranking.append(
                RankedItem(item_id, 1.0 - n / 10, json.dumps(boxes), _least_score(boxes))
            )
    ws = Workspace.open(root)
    try:
        snapshot = ws.store.create_snapshot(ws.project.id)
        ws.store.add_round(
            ws.project.id,
            snapshot_id=snapshot.id,
            model_id=None,
            strategy="proposals-fixture",
            ranking=ranking,
            batch_size=len(ranking),
            metrics={},
        )
    finally:
        ws.close()


def add_auto_labels(root: Path, labels: Mapping[int, Sequence[Mapping[str, Any]]]) -> None:
    """Auto-label items with these boxes (with ``score``), as the loop does for detection."""
    predictions = []
    for item_id, boxes in labels.items():
        value = [{k: v for k, v in box.items() if k not in ("score", "classes")} for box in boxes]
        least = _least_score(boxes)
        predictions.append((item_id, value, 1.0 if least is None else least))
    ws = Workspace.open(root)
    try:
        ws.store.leases.record_auto_labels(
            ws.project.id, model_version="m-test", predictions=predictions, threshold=0.0
        )
    finally:
        ws.close()
