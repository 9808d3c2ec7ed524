"""Snapshots (labelloop.store.snapshots): exact rebuilds, content hashes, integrity."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from labelloop.store import SnapshotIntegrityError, Store, UnknownSnapshotError


def test_snapshot_rebuilds_exactly_after_later_changes(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    store.record_label(project_id, item_ids[0], "cat")
    store.record_label(project_id, item_ids[1], "dog")
    snap = store.create_snapshot(project_id)
    before = [(i.id, e.value) for i, e in store.snapshot_labels(project_id, snap.id)]
    store.record_label(project_id, item_ids[0], "bird")
    store.undo(project_id, item_ids[1])
    store.record_label(project_id, item_ids[2], "cat")
    after = [(i.id, e.value) for i, e in store.snapshot_labels(project_id, snap.id)]
    assert before == after == [(item_ids[0], "cat"), (item_ids[1], "dog")]
    later = store.create_snapshot(project_id)
    assert later.content_hash != snap.content_hash
    assert [(i.id, e.value) for i, e in store.snapshot_labels(project_id, later.id)] == [
        (item_ids[0], "bird"),
        (item_ids[2], "cat"),
    ]


def test_snapshot_hash_depends_on_content_only(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    store.record_label(project_id, item_ids[0], "cat")
    a = store.create_snapshot(project_id)
    store.record_label(project_id, item_ids[0], "dog")
    store.record_label(project_id, item_ids[0], "cat")
    b = store.create_snapshot(project_id)
    assert a.id != b.id and a.content_hash == b.content_hash


def test_tampered_snapshot_is_detected(
    store: Store, project_id: int, item_ids: list[int], tmp_path: Path
) -> None:
    event = store.record_label(project_id, item_ids[0], "cat")
    snap = store.create_snapshot(project_id)
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE label_events SET value = '\"dog\"' WHERE id = :i"), {"i": event.id}
        )
    with pytest.raises(SnapshotIntegrityError):
        store.snapshot_labels(project_id, snap.id)


def test_an_unknown_snapshot_names_the_latest_ones(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    made = [store.create_snapshot(project_id, note=f"s{n}") for n in range(3)]
    assert [(s.id, s.note) for s in store.snapshots(project_id)] == [(s.id, s.note) for s in made]
    listed = ", ".join(str(s.id) for s in made)
    with pytest.raises(UnknownSnapshotError, match=f"the latest are: {listed} "):
        store.snapshot_labels(project_id, made[-1].id + 100)
    other = store.create_project("q", {"task": "classification", "classes": ["x"]}).id
    with pytest.raises(UnknownSnapshotError, match="none yet"):
        store.snapshot_labels(other, made[0].id)
