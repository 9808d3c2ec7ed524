"""Row-level helpers shared by the store's modules: converting rows, appending events."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelloop.data.labels import LabelSchema
from labelloop.data.split import next_split
from labelloop.store.records import (
    Item,
    LabelEvent,
    ProjectNotFoundError,
    UnknownItemError,
)
from labelloop.store.schema import (
    ConfigChangeRow,
    ItemRow,
    LabelEventRow,
    ProjectRow,
    RoundRow,
    SnapshotRow,
)

__all__ = [
    "append_event",
    "aware",
    "content_hash",
    "head_event",
    "item_row",
    "label_heads",
    "latest_round_id",
    "project_rows",
    "project_schema",
    "to_event",
    "to_item",
    "to_record",
    "undo_event",
]


def aware(moment: datetime) -> datetime:
    """``moment`` with its zone: SQLite hands back naive datetimes, written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def latest_round_id(s: Session, project_id: int) -> int | None:
    """The id of the project's latest round whose ranking is fully written, if any."""
    return s.scalar(
        select(func.max(RoundRow.id)).where(
            RoundRow.project_id == project_id, RoundRow.ready.is_(True)
        )
    )


_Row = TypeVar("_Row", ItemRow, ConfigChangeRow, SnapshotRow)


def project_rows(s: Session, table: type[_Row], project_id: int) -> list[_Row]:
    """Every row of one project in ``table``, oldest (lowest id) first."""
    return list(s.scalars(select(table).where(table.project_id == project_id).order_by(table.id)))


_Record = TypeVar("_Record")
_FIELDS: dict[type, tuple[str, ...]] = {}
"""The field names of each record class, read once."""


def _field_names(kind: type) -> tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(f.name for f in fields(kind))
    return names


def to_record(kind: type[_Record], row: object, **given: Any) -> _Record:
    """The frozen record ``kind`` of an ORM row.

    Each of the record's fields is the row's attribute of the same name (a
    datetime given its zone), unless ``given`` holds it.
    """
    values: dict[str, Any] = {}
    for name in _field_names(kind):
        value = given[name] if name in given else getattr(row, name)
        values[name] = aware(value) if isinstance(value, datetime) else value
    return kind(**values)


def to_item(row: ItemRow) -> Item:
    """The plain record of an item row."""
    return to_record(Item, row)


def to_event(row: LabelEventRow) -> LabelEvent:
    """The plain record of a label event row."""
    return to_record(LabelEvent, row)


def project_schema(s: Session, project_id: int) -> tuple[LabelSchema, float]:
    """The project's label schema and validation fraction."""
    row = s.get(ProjectRow, project_id)
    if row is None:
        raise ProjectNotFoundError(f"no project with id {project_id}")
    schema = LabelSchema(task=row.config["task"], classes=tuple(row.config["classes"]))
    return schema, float(row.config.get("val_fraction", 0.2))


def item_row(s: Session, project_id: int, item_id: int) -> ItemRow:
    """The item's row; :class:`UnknownItemError` unless it is in the project."""
    row = s.get(ItemRow, item_id)
    if row is None or row.project_id != project_id:
        raise UnknownItemError(f"project has no item with id {item_id}")
    return row


def head_event(s: Session, item: ItemRow) -> LabelEventRow | None:
    """The item's last label event, or None if it never had one."""
    return None if item.head_event_id is None else s.get(LabelEventRow, item.head_event_id)


def label_heads(s: Session, project_id: int) -> list[tuple[LabelEventRow, ItemRow]]:
    """Each labeled item of the project with its current event, by item id."""
    query = (
        select(LabelEventRow, ItemRow)
        .join(ItemRow, ItemRow.head_event_id == LabelEventRow.id)
        .where(ItemRow.project_id == project_id, ItemRow.labeled.is_(True))
        .order_by(ItemRow.id)
    )
    return [(e, i) for e, i in s.execute(query)]


def answer_action(head: LabelEventRow | None, value: Any, source: str) -> str:
    """What a new label does to the item: ``label`` a blank item, ``accept`` what
    was there (a person giving the same value: reviewing an auto label, or
    confirming a label the monitor doubted), or ``correct`` it."""
    if head is None or head.value is None:
        return "label"
    if source == "human" and head.value == value:
        return "accept"
    return "correct"


def _stratum(value: Any) -> str:
    """The class an item is stratified by when it is given its split."""
    if isinstance(value, str):
        return value
    labels = sorted({str(box["label"]) for box in value})
    return labels[0] if labels else "__empty__"


def append_event(
    s: Session,
    item: ItemRow,
    value: Any,
    *,
    source: str,
    action: str,
    val_fraction: float,
    head: LabelEventRow | None,
    annotator: str | None = None,
    user_id: int | None = None,
    lease_id: int | None = None,
    model_version: str | None = None,
    confidence: float | None = None,
) -> LabelEventRow:
    """Append the next event of ``item``'s chain, superseding ``head``.

    The ``(item_id, seq)`` uniqueness turns a concurrent writer that read the
    same head into an integrity error instead of a forked history. The item's
    first label also fixes its train/validation side, for good.
    """
    row = LabelEventRow(
        project_id=item.project_id,
        item_id=item.id,
        seq=1 if head is None else head.seq + 1,
        value=value,
        source=source,
        action=action,
        annotator=annotator,
        user_id=user_id,
        lease_id=lease_id,
        model_version=model_version,
        confidence=confidence,
        supersedes_id=None if head is None else head.id,
    )
    s.add(row)
    s.flush()
    item.head_event_id = row.id
    item.labeled = value is not None
    if item.split is None and value is not None:
        stratum = _stratum(value)
        counts = {
            split: n
            for split, n in s.execute(
                select(ItemRow.split, func.count())
                .where(ItemRow.project_id == item.project_id, ItemRow.split_class == stratum)
                .group_by(ItemRow.split)
            )
        }
        item.split = next_split(counts.get("train", 0), counts.get("val", 0), val_fraction)
        item.split_class = stratum
    s.flush()
    return row


def undo_event(
    s: Session,
    item: ItemRow,
    head: LabelEventRow,
    *,
    annotator: str | None,
    user_id: int | None,
    val_fraction: float,
) -> LabelEventRow:
    """Append an event restoring the value ``head`` replaced.

    The restored value keeps its origin (the person who undid it is the
    annotator): undoing a review puts the auto label, with its model and
    confidence, back up for review.
    """
    previous = s.get(LabelEventRow, head.supersedes_id) if head.supersedes_id else None
    return append_event(
        s,
        item,
        None if previous is None else previous.value,
        source="human" if previous is None else previous.source,
        action="undo",
        annotator=annotator,
        user_id=user_id,
        model_version=previous.model_version if previous is not None else None,
        confidence=previous.confidence if previous is not None else None,
        val_fraction=val_fraction,
        head=head,
    )


def content_hash(rows: Iterable[tuple[str, Any, str | None]]) -> str:
    """SHA-256 over (content hash, label value, split) triples, in content-hash order."""
    digest = hashlib.sha256()
    for sha, value, split in sorted(rows, key=lambda r: r[0]):
        digest.update(f"{sha}\t{json.dumps(value, sort_keys=True)}\t{split}\n".encode())
    return digest.hexdigest()
