"""The row-level helpers of labelloop.store._events, on a real database session."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session

from labelloop.store import (
    Item,
    ProjectNotFoundError,
    RankedItem,
    Store,
    UnknownItemError,
)
from labelloop.store._events import (
    answer_action,
    append_event,
    aware,
    content_hash,
    head_event,
    item_row,
    label_heads,
    latest_round_id,
    project_rows,
    project_schema,
    to_item,
    to_record,
    undo_event,
)
from labelloop.store.database import Transactions
from labelloop.store.schema import ItemRow, LabelEventRow, RoundRow
from tests.store.conftest import new_item, record_round


@pytest.fixture
def session(store: Store) -> Iterator[Session]:
    """One write transaction on the store's database, committed at the end."""
    db = Transactions(store.url)
    with db.write() as s:
        yield s
    db.dispose()


def test_aware_gives_naive_times_utc_and_keeps_a_zone() -> None:
    naive = datetime(2026, 1, 1, 12, 0)
    assert aware(naive) == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    elsewhere = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert aware(elsewhere) is elsewhere


def test_content_hash_ignores_order_and_sees_every_value_and_split() -> None:
    rows = [("b" * 64, "cat", "train"), ("a" * 64, [{"label": "x"}], "val")]
    digest = content_hash(rows)
    assert digest == content_hash(reversed(rows))
    assert digest != content_hash([rows[0], ("a" * 64, [{"label": "y"}], "val")])
    assert digest != content_hash([rows[0], ("a" * 64, [{"label": "x"}], "train")])
    assert content_hash([]) == hashlib.sha256().hexdigest()


@pytest.mark.parametrize(
    ("head_value", "value", "source", "action"),
    [
        (None, "cat", "human", "label"),
        ("cat", "cat", "human", "accept"),
        ("cat", "dog", "human", "correct"),
        ("cat", "cat", "auto", "correct"),
    ],
)
def test_answer_action_names_what_a_label_does(
    head_value: str | None, value: str, source: str, action: str
) -> None:
    head = LabelEventRow(value=head_value)
    assert answer_action(head, value, source) == action
    assert answer_action(None, value, source) == "label"


def _items(store: Store, project_id: int, n: int = 3) -> list[int]:
    return [item.id for item in store.add_items(project_id, [new_item(i) for i in range(n)]).added]


def _append(s: Session, item: ItemRow, value: object, **kw: object) -> LabelEventRow:
    fields: dict[str, object] = {"source": "human", "action": "label", "val_fraction": 0.5}
    fields.update(kw)
    return append_event(s, item, value, head=head_event(s, item), **fields)  # type: ignore[arg-type]


def test_append_event_chains_each_items_events_and_moves_its_head(
    store: Store, project_id: int, item_ids: list[int], session: Session
) -> None:
    item = item_row(session, project_id, item_ids[0])
    first = _append(session, item, "cat")
    second = _append(session, item, None, action="correct")
    assert (first.seq, first.supersedes_id) == (1, None)
    assert (second.seq, second.supersedes_id) == (2, first.id)
    assert head_event(session, item) is second
    assert item.labeled is False


def test_first_labels_fix_a_split_stratified_by_class(
    project_id: int, item_ids: list[int], session: Session
) -> None:
    items = [item_row(session, project_id, i) for i in item_ids[:4]]
    for item, value in zip(items, ["cat", "cat", "dog", "dog"], strict=True):
        _append(session, item, value)
    # val_fraction 0.5: per class, the first goes to train and the second to validation.
    assert [(i.split, i.split_class) for i in items] == [
        ("train", "cat"),
        ("val", "cat"),
        ("train", "dog"),
        ("val", "dog"),
    ]
    # Unlabeled and labeled again, an item keeps its side.
    _append(session, items[1], None)
    _append(session, items[1], "dog")
    assert (items[1].split, items[1].split_class) == ("val", "cat")
    # An item that was never labeled gets no side from an empty value.
    blank = item_row(session, project_id, item_ids[4])
    _append(session, blank, None)
    assert blank.split is None


def test_a_detection_label_is_stratified_by_its_first_class(store: Store) -> None:
    project = store.create_project("boxes", {"task": "detection", "classes": ["car", "tree"]}).id
    ids = _items(store, project)
    db = Transactions(store.url)

    def box(label: str) -> dict[str, object]:
        return {"x": 0.0, "y": 0.0, "width": 1.0, "height": 1.0, "label": label}

    with db.write() as s:
        items = [item_row(s, project, i) for i in ids]
        _append(s, items[0], [box("tree"), box("car")])
        _append(s, items[1], [])
        assert [i.split_class for i in items[:2]] == ["car", "__empty__"]
    db.dispose()


def test_undo_event_restores_the_replaced_value_with_its_origin(
    project_id: int, item_ids: list[int], session: Session
) -> None:
    item = item_row(session, project_id, item_ids[0])
    auto = _append(session, item, "cat", source="auto", model_version="m2", confidence=0.93)
    review = _append(session, item, "dog", action="correct", annotator="ann")
    undone = undo_event(session, item, review, annotator="bob", user_id=None, val_fraction=0.5)
    assert (undone.value, undone.source, undone.action, undone.annotator) == (
        "cat",
        "auto",
        "undo",
        "bob",
    )
    assert (undone.model_version, undone.confidence) == ("m2", auto.confidence)
    # Undoing an item's first label leaves it blank, as a person's act.
    other = item_row(session, project_id, item_ids[1])
    first = _append(session, other, "bird", source="oracle")
    blank = undo_event(session, other, first, annotator="bob", user_id=None, val_fraction=0.5)
    assert (blank.value, blank.source, blank.supersedes_id) == (None, "human", first.id)
    assert other.labeled is False


def test_item_row_refuses_items_of_other_projects(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    other = store.create_project("q", {"task": "classification", "classes": ["x"]}).id
    db = Transactions(store.url)
    with db.read() as s:
        assert item_row(s, project_id, item_ids[0]).id == item_ids[0]
        with pytest.raises(UnknownItemError, match=f"no item with id {item_ids[0]}"):
            item_row(s, other, item_ids[0])
        with pytest.raises(UnknownItemError):
            item_row(s, project_id, 10**6)
    db.dispose()


def test_project_schema_reads_classes_and_validation_fraction(
    store: Store, project_id: int
) -> None:
    custom = store.create_project(
        "q", {"task": "classification", "classes": ["x", "y"], "val_fraction": 0.3}
    ).id
    db = Transactions(store.url)
    with db.read() as s:
        schema, fraction = project_schema(s, project_id)
        assert (schema.task, schema.classes, fraction) == (
            "classification",
            ("cat", "dog", "bird"),
            0.2,
        )
        assert project_schema(s, custom)[0].classes == ("x", "y")
        assert project_schema(s, custom)[1] == pytest.approx(0.3)
        with pytest.raises(ProjectNotFoundError, match="no project with id 999"):
            project_schema(s, 999)
    db.dispose()


def test_label_heads_and_project_rows_list_one_projects_rows_by_id(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    other = store.create_project("q", {"task": "classification", "classes": ["x"]}).id
    elsewhere = _items(store, other, 1)
    store.record_label(other, elsewhere[0], "x")
    store.record_label(project_id, item_ids[3], "cat")
    store.record_label(project_id, item_ids[1], "dog")
    store.record_label(project_id, item_ids[2], "cat")
    store.undo(project_id, item_ids[2])
    db = Transactions(store.url)
    with db.read() as s:
        heads = label_heads(s, project_id)
        assert [(item.id, event.value) for event, item in heads] == [
            (item_ids[1], "dog"),
            (item_ids[3], "cat"),
        ]
        assert [row.id for row in project_rows(s, ItemRow, project_id)] == item_ids
    db.dispose()


def test_latest_round_id_skips_a_ranking_still_being_written(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    db = Transactions(store.url)
    with db.read() as s:
        assert latest_round_id(s, project_id) is None
    done = record_round(store, project_id, [RankedItem(i, 1.0) for i in item_ids])
    with db.write() as s:
        s.add(
            RoundRow(
                project_id=project_id,
                number=done.number + 1,
                snapshot_id=done.snapshot_id,
                strategy="margin",
                ready=False,
            )
        )
    with db.read() as s:
        assert latest_round_id(s, project_id) == done.id
    db.dispose()


@dataclass(frozen=True)
class _Stamp:
    name: str
    at: datetime


def test_to_record_copies_fields_zones_times_and_takes_given_values(
    project_id: int, item_ids: list[int], session: Session
) -> None:
    row = item_row(session, project_id, item_ids[0])
    item = to_item(row)
    assert isinstance(item, Item)
    assert (item.id, item.sha256, item.project_id) == (row.id, row.sha256, project_id)
    naive = datetime(2026, 1, 1)
    stamp = to_record(_Stamp, row, at=naive)
    assert stamp == _Stamp(name=row.name, at=naive.replace(tzinfo=UTC))
