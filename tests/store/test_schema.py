"""The database rules declared in labelloop.store.schema, enforced by SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labelloop.store import Store
from labelloop.store.schema import (
    Base,
    ExternalTaskRow,
    ItemFlagRow,
    ItemRow,
    LabelEventRow,
    LeaseRow,
    MetadataValueRow,
    RoundRow,
    utcnow,
)
from tests.store.conftest import new_item


def _add(store: Store, *rows: Base) -> None:
    with Session(store.engine, expire_on_commit=False) as s, s.begin():
        s.add_all(rows)


def _refused(store: Store, row: Base) -> None:
    with pytest.raises(IntegrityError):
        _add(store, row)


def _event(project_id: int, item_id: int, seq: int, supersedes: int | None = None) -> LabelEventRow:
    return LabelEventRow(
        project_id=project_id,
        item_id=item_id,
        seq=seq,
        value="cat",
        source="human",
        action="label",
        supersedes_id=supersedes,
    )


def test_utcnow_is_zoned_in_utc() -> None:
    now = utcnow()
    assert now.tzinfo is UTC


def test_an_image_is_stored_once_per_project(store: Store, project_id: int) -> None:
    def row(project: int) -> ItemRow:
        item = new_item(1)
        return ItemRow(
            project_id=project,
            sha256=item.sha256,
            name=item.name,
            uri=item.uri,
            width=8,
            height=8,
            mode="L",
            format="PNG",
            size_bytes=1,
        )

    _add(store, row(project_id))
    _refused(store, row(project_id))
    other = store.create_project("q", {"task": "classification", "classes": ["x"]}).id
    _add(store, row(other))


def test_two_writers_cannot_fork_an_items_history(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    item = item_ids[0]
    first = _event(project_id, item, 1)
    _add(store, first)
    _add(store, _event(project_id, item, 2, supersedes=first.id))
    # Same sequence number, or a second event superseding the same one: refused.
    _refused(store, _event(project_id, item, 2, supersedes=None))
    _refused(store, _event(project_id, item, 3, supersedes=first.id))
    _add(store, _event(project_id, item_ids[1], 1))


def _lease(project_id: int, item_id: int, user_id: int, *, closed: bool = False) -> LeaseRow:
    now = utcnow()
    return LeaseRow(
        project_id=project_id,
        item_id=item_id,
        user_id=user_id,
        kind="label",
        expires_at=now + timedelta(minutes=5),
        closed_at=now if closed else None,
        outcome="skipped" if closed else None,
    )


def test_an_item_has_at_most_one_open_lease(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    ann = store.people.create_user("ann", "x", "annotator").id
    bob = store.people.create_user("bob", "x", "annotator").id
    _add(store, _lease(project_id, item_ids[0], ann, closed=True))
    _add(store, _lease(project_id, item_ids[0], ann))
    _refused(store, _lease(project_id, item_ids[0], bob))
    _add(store, _lease(project_id, item_ids[1], bob))


def _flag(project_id: int, item_id: int, kind: str, *, resolved: bool = False) -> ItemFlagRow:
    return ItemFlagRow(
        project_id=project_id,
        item_id=item_id,
        kind=kind,
        resolved_at=utcnow() if resolved else None,
        resolution="dismissed" if resolved else None,
    )


def test_an_item_has_at_most_one_open_flag_per_kind(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    item = item_ids[0]
    _add(store, _flag(project_id, item, "outlier", resolved=True))
    _add(store, _flag(project_id, item, "outlier"))
    _refused(store, _flag(project_id, item, "outlier"))
    _add(store, _flag(project_id, item, "label_error"))


def test_one_metadata_value_per_item_and_column(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    def value(column: str) -> MetadataValueRow:
        return MetadataValueRow(
            project_id=project_id, item_id=item_ids[0], column=column, original=1.0
        )

    _add(store, value("depth"))
    _refused(store, value("depth"))
    _add(store, value("temperature"))


def test_round_numbers_and_outside_task_ids_are_unique_per_project(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    snapshot = store.create_snapshot(project_id).id

    def round_(number: int) -> RoundRow:
        return RoundRow(project_id=project_id, number=number, snapshot_id=snapshot, strategy="m")

    _add(store, round_(1))
    _refused(store, round_(1))

    def task(external_project: str) -> ExternalTaskRow:
        return ExternalTaskRow(
            project_id=project_id,
            system="labelstudio",
            external_project=external_project,
            task_id=5,
            item_id=item_ids[0],
        )

    _add(store, task("a"))
    _refused(store, task("a"))
    _add(store, task("b"))


def test_rows_get_their_defaults_when_written(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    event = _event(project_id, item_ids[0], 1)
    before = utcnow()
    _add(store, event)
    with Session(store.engine) as s:
        row = s.get(LabelEventRow, event.id)
        item = s.get(ItemRow, item_ids[0])
        assert row is not None and item is not None
        created = row.created_at
        if created.tzinfo is None:  # SQLite returns the UTC time without its zone
            created = created.replace(tzinfo=UTC)
        assert before <= created <= utcnow()
        assert (row.annotator, row.confidence, row.user_id) == (None, None, None)
        assert (item.labeled, item.split, item.head_event_id) == (False, None, None)
