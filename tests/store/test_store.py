"""The label store: append-only events, supersession, history, snapshots, refusals."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from labelloop.data.labels import UnknownClassError
from labelloop.store import (
    LabelConflictError,
    LabelInput,
    ProjectExistsError,
    ProjectNotFoundError,
    RankedItem,
    SchemaOutOfDateError,
    SnapshotIntegrityError,
    Store,
    UnknownItemError,
    sqlite_url,
)
from tests.store.conftest import new_item


def test_label_then_correction_supersedes(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    item = item_ids[0]
    first = store.record_label(project_id, item, "cat", annotator="ann")
    second = store.record_label(project_id, item, "dog", annotator="bob")
    assert (first.seq, first.supersedes_id, first.action) == (1, None, "label")
    assert (second.seq, second.supersedes_id, second.action) == (2, first.id, "correct")
    assert store.current_labels(project_id)[item].value == "dog"
    history = store.history(project_id, item)
    assert [(e.value, e.annotator) for e in history] == [("cat", "ann"), ("dog", "bob")]


def test_undo_restores_previous_value_then_unlabeled(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    item = item_ids[0]
    store.record_label(project_id, item, "cat")
    store.record_label(project_id, item, "dog")
    undo = store.undo(project_id, item, annotator="ann")
    assert undo.value == "cat" and undo.action == "undo"
    assert store.current_labels(project_id)[item].value == "cat"
    # An undo is itself an event: undoing it brings back what it replaced.
    assert store.undo(project_id, item).value == "dog"
    other = item_ids[1]
    store.record_label(project_id, other, "bird")
    assert store.undo(project_id, other).value is None
    assert other not in store.current_labels(project_id)
    assert len(store.history(project_id, other)) == 2


def test_undo_of_unlabeled_item_is_refused(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    with pytest.raises(UnknownItemError, match="no label to undo"):
        store.undo(project_id, item_ids[0])


def test_unknown_class_refused_and_nothing_written(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    batch = [LabelInput(item_ids[0], "cat"), LabelInput(item_ids[1], "zebra")]
    with pytest.raises(UnknownClassError, match="zebra"):
        store.record_labels(project_id, batch)
    assert store.current_labels(project_id) == {}


def test_unknown_item_refused(store: Store, project_id: int, item_ids: list[int]) -> None:
    with pytest.raises(UnknownItemError, match="9999"):
        store.record_label(project_id, 9999, "cat")
    other = store.create_project("q", {"task": "classification", "classes": ["x"]}).id
    with pytest.raises(UnknownItemError):
        store.record_label(other, item_ids[0], "x")


def test_stale_expected_event_is_a_conflict(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    item = item_ids[0]
    assert store.record_label(project_id, item, "cat", expected_event_id=None).seq == 1
    with pytest.raises(LabelConflictError) as info:
        store.record_label(project_id, item, "dog", expected_event_id=None)
    current = store.current_labels(project_id)[item]
    assert info.value.current_event_id == current.id
    assert store.record_label(project_id, item, "dog", expected_event_id=current.id).seq == 2


def test_duplicate_content_is_stored_once(store: Store, project_id: int) -> None:
    first = store.add_items(project_id, [new_item(1), new_item(2)])
    again = store.add_items(project_id, [new_item(2), new_item(3), new_item(3)])
    assert [i.sha256 for i in again.added] == [new_item(3).sha256]
    by_sha = {i.sha256: i.id for i in first.added + again.added}
    assert sorted(again.duplicates) == sorted(
        [("img_2.png", by_sha[new_item(2).sha256]), ("img_3.png", by_sha[new_item(3).sha256])]
    )
    assert len(store.items(project_id)) == 3


def test_imported_labels_become_events(store: Store, project_id: int) -> None:
    result = store.add_items(project_id, [new_item(1, "cat"), new_item(2)], annotator="folder")
    labels = store.current_labels(project_id)
    assert list(labels) == [result.added[0].id]
    assert (labels[result.added[0].id].source, labels[result.added[0].id].annotator) == (
        "import",
        "folder",
    )


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


def test_split_is_stratified_and_stable(store: Store, project_id: int) -> None:
    ids = [i.id for i in store.add_items(project_id, [new_item(i) for i in range(20)]).added]
    for item in ids[:10]:
        store.record_label(project_id, item, "cat")
    for item in ids[10:]:
        store.record_label(project_id, item, "dog")
    first = {i.id: i.split for i in store.items(project_id)}
    # Relabeling never moves an item to the other side.
    for item in ids[:10]:
        store.record_label(project_id, item, "dog")
    assert {i.id: i.split for i in store.items(project_id)} == first
    for block in (ids[:10], ids[10:]):
        assert [first[i] for i in block].count("val") == 2


def test_project_names_are_unique_and_lookups_fail_clearly(store: Store) -> None:
    store.create_project("a", {"task": "classification", "classes": ["x"]})
    with pytest.raises(ProjectExistsError, match="already exists"):
        store.create_project("a", {"task": "classification", "classes": ["x"]})
    with pytest.raises(ProjectNotFoundError, match=r"'b'.*'a'"):
        store.project("b")


def test_store_refuses_a_database_without_schema(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "empty.db").close()
    with pytest.raises(SchemaOutOfDateError, match="labelloop init"):
        Store(sqlite_url(tmp_path / "empty.db"))


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    store = Store(sqlite_url(tmp_path / "wal.db"), create=True)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


def test_concurrent_writers_never_fork_a_history(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    item = item_ids[0]
    written: list[int] = []
    lock = threading.Lock()

    def writer(name: str) -> None:
        done = 0
        while done < 15:
            try:
                event = store.record_label(project_id, item, "cat", annotator=name)
            except LabelConflictError:
                continue  # another writer won this slot; read again and retry
            with lock:
                written.append(event.id)
            done += 1

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    history = store.history(project_id, item)
    assert sorted(e.id for e in history) == sorted(written)
    assert [e.seq for e in history] == list(range(1, 91))
    assert [e.supersedes_id for e in history] == [None] + [e.id for e in history[:-1]]


def test_undoing_a_review_puts_the_auto_label_back(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    item = item_ids[0]
    auto = store.record_label(
        project_id, item, "cat", source="auto", model_version="m1", confidence=0.9
    )
    store.record_label(project_id, item, "dog", annotator="rita")
    back = store.undo(project_id, item, annotator="rita")
    assert (back.value, back.source, back.model_version, back.confidence) == (
        "cat",
        "auto",
        "m1",
        0.9,
    )
    assert back.annotator == "rita" and back.supersedes_id != auto.id


def test_event_times_carry_their_zone(store: Store, project_id: int, item_ids: list[int]) -> None:
    event = store.record_label(project_id, item_ids[0], "cat")
    stored = store.history(project_id, item_ids[0])[0]
    assert event.created_at.utcoffset() is not None
    assert stored.created_at.utcoffset() is not None
    assert store.create_snapshot(project_id).created_at.utcoffset() is not None


def test_an_item_queued_before_any_round_does_not_make_the_first_round_number_two(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    store.enqueue(project_id, item_ids[0])  # e.g. an outlier put up for review at import
    assert [r.number for r in store.rounds(project_id)] == [0]
    snapshot = store.create_snapshot(project_id, note="round")
    first = store.add_round(
        project_id,
        snapshot_id=snapshot.id,
        model_id=None,
        strategy="random",
        ranking=[RankedItem(item_id=i, score=None) for i in item_ids],
        batch_size=2,
        metrics={},
    )
    assert first.number == 1


def test_a_long_ranking_is_swapped_in_chunks_and_read_only_when_whole(
    store: Store, project_id: int
) -> None:
    ids = [item.id for item in store.add_items(project_id, [new_item(i) for i in range(25)]).added]
    snapshot = store.create_snapshot(project_id)

    def record(ranking: list[RankedItem], **kw: Any) -> Any:
        return store.add_round(
            project_id,
            snapshot_id=snapshot.id,
            model_id=None,
            strategy="margin",
            ranking=ranking,
            batch_size=3,
            metrics={},
            **kw,
        )

    first = record([RankedItem(i, 0.5) for i in ids[:4]])
    seen: list[tuple[int, int, list[int]]] = []

    def peek(done: int, total: int) -> None:
        # Mid-swap, readers still get the previous ranking whole.
        seen.append((done, total, [item.id for item, _ in store.queue(project_id)]))

    second = record(
        [RankedItem(i, 1.0 - n / 25) for n, i in enumerate(ids[::-1])], chunk_size=10, on_chunk=peek
    )
    assert [(d, t) for d, t, _ in seen] == [(10, 25), (20, 25), (25, 25)]
    assert all(queue == ids[:4] for _, _, queue in seen)
    assert [item.id for item, _ in store.queue(project_id)] == ids[::-1]
    assert [r.number for r in store.rounds(project_id)] == [first.number, second.number]

    # A swap that dies half-way is never read, and the next one clears it.
    def die(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        record([RankedItem(i) for i in ids], chunk_size=10, on_chunk=die)
    assert [item.id for item, _ in store.queue(project_id)] == ids[::-1]
    assert [r.number for r in store.rounds(project_id)] == [1, 2]
    third = record([RankedItem(i) for i in ids[:12]], chunk_size=5)
    assert third.number == 3
    assert [item.id for item, _ in store.queue(project_id)] == ids[:12]
    with pytest.raises(ValueError, match="chunk_size"):
        record([], chunk_size=0)
