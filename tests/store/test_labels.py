"""Label events (labelloop.store.labels): supersession, undo, conflicts, current labels."""

from __future__ import annotations

import threading

import pytest

from labelloop.data.labels import UnknownClassError
from labelloop.store import LabelConflictError, LabelInput, Store, UnknownItemError
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


def test_an_undo_naming_a_superseded_event_is_a_conflict(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    first = store.record_label(project_id, item_ids[0], "cat")
    second = store.record_label(project_id, item_ids[0], "dog")
    with pytest.raises(LabelConflictError) as info:
        store.undo(project_id, item_ids[0], expected_event_id=first.id)
    assert info.value.current_event_id == second.id
    assert store.undo(project_id, item_ids[0], expected_event_id=second.id).value == "cat"


def test_source_counts_count_current_labels_only(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    store.record_label(project_id, item_ids[0], "cat", source="auto", model_version="m1")
    store.record_label(project_id, item_ids[0], "dog")
    store.record_label(project_id, item_ids[1], "cat", source="auto", model_version="m1")
    store.record_label(project_id, item_ids[2], "bird", source="oracle")
    store.undo(project_id, item_ids[2])
    assert store.source_counts(project_id) == {"human": 1, "auto": 1}
