"""The data browser's reads: one filtered, sorted page of a project's items.

Every filter and sort is done in SQL, and only one page of rows comes back,
so a page of a 100k-item project costs one indexed query plus a count. An
item's *origin* says where its current label came from:

- ``human``: a person labeled it (or a simulated oracle did);
- ``reviewed``: a person accepted or corrected an auto label;
- ``auto``: the model labeled it and nobody has checked it yet;
- ``import``: the label came with the imported files;
- ``synthetic``: a synthesized variant, labeled by construction;
- ``unlabeled``: no current label.

The model's *confidence* in an item is the latest ranking's (its guess for
an unlabeled item; the least certain box's score for detection), else the
auto label's own; *uncertainty* is the latest ranking's score.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import ColumnElement, Text, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import aliased

from labelloop.store._events import aware, to_item
from labelloop.store.database import Transactions
from labelloop.store.monitoring import FlagKind
from labelloop.store.records import Item
from labelloop.store.schema import ItemFlagRow, ItemRow, LabelEventRow, QueueEntryRow, RoundRow

__all__ = [
    "ORIGINS",
    "SORT_KEYS",
    "CatalogPage",
    "CatalogRow",
    "ItemQuery",
    "Origin",
    "SortKey",
]

Origin = Literal["human", "reviewed", "auto", "import", "synthetic", "unlabeled"]
ORIGINS: tuple[Origin, ...] = get_args(Origin)
SortKey = Literal[
    "id", "name", "updated", "label", "origin", "annotator", "split", "confidence", "uncertainty"
]
SORT_KEYS: tuple[SortKey, ...] = get_args(SortKey)
Split = Literal["train", "val", "none"]

_Head = aliased(LabelEventRow, name="head")
_Prev = aliased(LabelEventRow, name="prev")
_Ranked = aliased(QueueEntryRow, name="ranked")


@dataclass(frozen=True)
class ItemQuery:
    """Which items, in which order, which page.

    Attributes:
        label: items whose current label is this class (detection: has a box of it).
        origin: where the current label came from (see the module).
        annotator: who made the current label.
        split: ``train``, ``val``, or ``none`` (not yet split: never labeled).
        flag: items with an open flag of this kind.
        min_confidence: the model's confidence at least this.
        max_confidence: the model's confidence at most this.
        since: last changed (labeled, or imported if never labeled) at or after.
        until: last changed before.
        name: the file name contains this (case-insensitive).
        sort: the column to order by; ties go by item id.
        descending: largest first.
        offset: rows to skip.
        limit: rows to return.
    """

    label: str | None = None
    origin: Origin | None = None
    annotator: str | None = None
    split: Split | None = None
    flag: FlagKind | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    since: datetime | None = None
    until: datetime | None = None
    name: str | None = None
    sort: SortKey = "id"
    descending: bool = False
    offset: int = 0
    limit: int = 100


@dataclass(frozen=True)
class CatalogRow:
    """One item of a page, with what the browser shows of it."""

    item: Item
    value: Any
    origin: Origin
    annotator: str | None
    updated_at: datetime
    confidence: float | None
    uncertainty: float | None
    flags: tuple[str, ...]


@dataclass(frozen=True)
class CatalogPage:
    """A page of items, and how many items match the query in all."""

    rows: list[CatalogRow]
    total: int
    offset: int
    limit: int


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _origin() -> Any:
    """The origin of the current label, as a SQL expression over the head and previous events."""
    return case(
        (ItemRow.labeled.is_(False), "unlabeled"),
        (and_(_Head.source == "human", _Prev.source == "auto"), "reviewed"),
        (_Head.source.in_(("human", "oracle")), "human"),
        else_=_Head.source,
    )


class Catalog:
    """Pages of a project's items for the data browser, on the store's reader sessions."""

    def __init__(self, db: Transactions) -> None:
        self._db = db

    def page(self, project_id: int, query: ItemQuery) -> CatalogPage:
        """The items matching ``query``, one page of them, and their number."""
        with self._db.read() as s:
            latest = s.scalar(
                select(func.max(RoundRow.id)).where(RoundRow.project_id == project_id)
            )
            origin = _origin()
            confidence = func.coalesce(_Ranked.confidence, _Head.confidence)
            updated = func.coalesce(_Head.created_at, ItemRow.created_at)
            label_text = cast(_Head.value, Text)
            conditions: list[ColumnElement[bool]] = [ItemRow.project_id == project_id]
            needs_rank = query.sort in ("confidence", "uncertainty")
            if query.label is not None:
                quoted = json.dumps(query.label)
                conditions += [
                    ItemRow.labeled.is_(True),
                    or_(
                        label_text == quoted,
                        label_text.like(f'%"label": {_like_escaped(quoted)}%', escape="\\"),
                    ),
                ]
            if query.origin is not None:
                conditions.append(origin == query.origin)
            if query.annotator is not None:
                conditions += [ItemRow.labeled.is_(True), _Head.annotator == query.annotator]
            if query.split is not None:
                conditions.append(
                    ItemRow.split.is_(None) if query.split == "none" else ItemRow.split == query.split
                )
            if query.flag is not None:
                conditions.append(
                    exists().where(
                        ItemFlagRow.item_id == ItemRow.id,
                        ItemFlagRow.kind == query.flag,
                        ItemFlagRow.resolved_at.is_(None),
                    )
                )
            if query.min_confidence is not None:
                needs_rank = True
                conditions.append(confidence >= query.min_confidence)
            if query.max_confidence is not None:
                needs_rank = True
                conditions.append(confidence <= query.max_confidence)
            if query.since is not None:
                conditions.append(updated >= query.since)
            if query.until is not None:
                conditions.append(updated < query.until)
            if query.name:
                pattern = f"%{_like_escaped(query.name.lower())}%"
                conditions.append(func.lower(ItemRow.name).like(pattern, escape="\\"))

            def joined(statement: Any, *, rank: bool) -> Any:
                statement = statement.outerjoin(_Head, _Head.id == ItemRow.head_event_id).outerjoin(
                    _Prev, _Prev.id == _Head.supersedes_id
                )
                if rank:
                    statement = statement.outerjoin(
                        _Ranked,
                        and_(_Ranked.round_id == latest, _Ranked.item_id == ItemRow.id),
                    )
                return statement.where(*conditions)

            total = s.scalar(
                joined(select(func.count()).select_from(ItemRow), rank=needs_rank)
            ) or 0
            order = {
                "id": ItemRow.id,
                "name": ItemRow.name,
                "updated": updated,
                "label": label_text,
                "origin": origin,
                "annotator": _Head.annotator,
                "split": ItemRow.split,
                "confidence": confidence,
                "uncertainty": _Ranked.score,
            }[query.sort]
            # Items without the value (unranked, unlabeled) go last either way.
            keys = [(order.desc() if query.descending else order.asc()).nulls_last()]
            if query.sort != "id":
                keys.append(ItemRow.id.desc() if query.descending else ItemRow.id.asc())
            statement = joined(
                select(
                    ItemRow,
                    _Head.value,
                    origin,
                    _Head.annotator,
                    updated,
                    confidence,
                    _Ranked.score,
                ).select_from(ItemRow),
                rank=True,
            )
            rows = s.execute(
                statement.order_by(*keys).offset(query.offset).limit(query.limit)
            ).all()
            ids = [row[0].id for row in rows]
            flags: dict[int, list[str]] = {}
            if ids:
                for item_id, kind in s.execute(
                    select(ItemFlagRow.item_id, ItemFlagRow.kind)
                    .where(ItemFlagRow.item_id.in_(ids), ItemFlagRow.resolved_at.is_(None))
                    .order_by(ItemFlagRow.kind)
                ):
                    flags.setdefault(item_id, []).append(kind)
            page = [
                CatalogRow(
                    item=to_item(item),
                    value=value if item.labeled else None,
                    origin=row_origin,
                    annotator=annotator if item.labeled else None,
                    updated_at=aware(changed),
                    confidence=conf,
                    uncertainty=score,
                    flags=tuple(flags.get(item.id, ())),
                )
                for item, value, row_origin, annotator, changed, conf, score in rows
            ]
        return CatalogPage(rows=page, total=total, offset=query.offset, limit=query.limit)

    def annotators(self, project_id: int) -> list[str]:
        """Everyone who made a current label, for the browser's filter."""
        with self._db.read() as s:
            rows = s.scalars(
                select(_Head.annotator)
                .join(ItemRow, ItemRow.head_event_id == _Head.id)
                .where(
                    ItemRow.project_id == project_id,
                    ItemRow.labeled.is_(True),
                    _Head.annotator.is_not(None),
                )
                .distinct()
            )
            return sorted(str(name) for name in rows)
