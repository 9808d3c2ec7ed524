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

from labelloop.store._events import aware, latest_round_id, to_item
from labelloop.store.database import StorePart
from labelloop.store.monitoring import FlagKind
from labelloop.store.records import Item
from labelloop.store.schema import ItemFlagRow, ItemRow, LabelEventRow, QueueEntryRow

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


def _origin_is(origin: Origin) -> ColumnElement[bool]:
    """``origin`` as a condition that joins the previous event only where it must."""
    if origin == "unlabeled":
        return ItemRow.labeled.is_(False)
    labeled = ItemRow.labeled.is_(True)
    if origin == "reviewed":
        return and_(labeled, _Head.source == "human", _Prev.source == "auto")
    if origin == "human":
        return and_(
            labeled,
            _Head.source.in_(("human", "oracle")),
            or_(_Prev.source.is_(None), _Prev.source != "auto"),
        )
    return and_(labeled, _Head.source == origin)


@dataclass
class _Plan:
    """The conditions of a query and the joins they (and the sort) need."""

    conditions: list[ColumnElement[bool]]
    head: bool = False
    prev: bool = False
    rank: bool = False

    def joined(self, statement: Any, latest: int | None) -> Any:
        if self.head or self.prev:
            statement = statement.outerjoin(_Head, _Head.id == ItemRow.head_event_id)
        if self.prev:
            statement = statement.outerjoin(_Prev, _Prev.id == _Head.supersedes_id)
        if self.rank:
            statement = statement.outerjoin(
                _Ranked, and_(_Ranked.round_id == latest, _Ranked.item_id == ItemRow.id)
            )
        return statement.where(*self.conditions)


_confidence = func.coalesce(_Ranked.confidence, _Head.confidence)
_updated = func.coalesce(_Head.created_at, ItemRow.created_at)
_label_text = cast(_Head.value, Text)
# Each sort key, and the joins it needs (head, prev, rank).
_SORTS: dict[str, tuple[Any, tuple[bool, bool, bool]]] = {
    "id": (ItemRow.id, (False, False, False)),
    "name": (ItemRow.name, (False, False, False)),
    "updated": (_updated, (True, False, False)),
    "label": (_label_text, (True, False, False)),
    "origin": (_origin(), (True, True, False)),
    "annotator": (_Head.annotator, (True, False, False)),
    "split": (ItemRow.split, (False, False, False)),
    "confidence": (_confidence, (True, False, True)),
    "uncertainty": (_Ranked.score, (False, False, True)),
}


def _plan(project_id: int, query: ItemQuery) -> _Plan:
    plan = _Plan([ItemRow.project_id == project_id])
    add = plan.conditions.append
    if query.label is not None:
        quoted = json.dumps(query.label)
        plan.head = True
        add(ItemRow.labeled.is_(True))
        add(
            or_(
                _label_text == quoted,
                _label_text.like(f'%"label": {_like_escaped(quoted)}%', escape="\\"),
            )
        )
    if query.origin is not None:
        plan.head = plan.head or query.origin != "unlabeled"
        plan.prev = plan.prev or query.origin in ("human", "reviewed")
        add(_origin_is(query.origin))
    if query.annotator is not None:
        plan.head = True
        add(ItemRow.labeled.is_(True))
        add(_Head.annotator == query.annotator)
    if query.split is not None:
        add(ItemRow.split.is_(None) if query.split == "none" else ItemRow.split == query.split)
    if query.flag is not None:
        add(
            exists().where(
                ItemFlagRow.item_id == ItemRow.id,
                ItemFlagRow.kind == query.flag,
                ItemFlagRow.resolved_at.is_(None),
            )
        )
    if query.min_confidence is not None or query.max_confidence is not None:
        plan.head = plan.rank = True
        if query.min_confidence is not None:
            add(_confidence >= query.min_confidence)
        if query.max_confidence is not None:
            add(_confidence <= query.max_confidence)
    if query.since is not None or query.until is not None:
        plan.head = True
        if query.since is not None:
            add(_updated >= query.since)
        if query.until is not None:
            add(_updated < query.until)
    if query.name:
        pattern = f"%{_like_escaped(query.name.lower())}%"
        add(func.lower(ItemRow.name).like(pattern, escape="\\"))
    return plan


def _ordered(plan: _Plan, query: ItemQuery, latest: int | None, offset: int | None = None) -> Any:
    """Ids of the matching items in the query's order, one page of them."""
    key, (head, prev, rank) = _SORTS[query.sort]
    ordered = _Plan(plan.conditions, plan.head or head, plan.prev or prev, plan.rank or rank)
    # Items without the value (unranked, unlabeled) go last either way.
    keys = [(key.desc() if query.descending else key.asc()).nulls_last()]
    if query.sort != "id":
        keys.append(ItemRow.id.desc() if query.descending else ItemRow.id.asc())
    return (
        ordered.joined(select(ItemRow.id).select_from(ItemRow), latest)
        .order_by(*keys)
        .offset(query.offset if offset is None else offset)
        .limit(query.limit)
    )


def _ranked_first(s: Any, plan: _Plan, query: ItemQuery, latest: int) -> list[int]:
    """A page in ranking-score or confidence order without sorting the whole pool.

    The latest ranking's items are read in the order of its
    ``(round_id, score|confidence, item_id)`` index, which stops after
    ``offset + limit`` rows however large the pool; items outside the ranking
    whose auto label carries a confidence are merged in by value; items
    without a value come last, by id, as the plain sort puts them.
    """
    column = _Ranked.score if query.sort == "uncertainty" else _Ranked.confidence
    fallback = None if query.sort == "uncertainty" else _Head.confidence
    want = query.offset + query.limit

    def direction(c: Any) -> Any:
        return c.desc() if query.descending else c.asc()

    ranked = _Plan(plan.conditions, plan.head, plan.prev, rank=False)

    def in_ranking(*columns: Any) -> Any:
        return ranked.joined(
            select(*columns)
            .select_from(_Ranked)
            .join(ItemRow, ItemRow.id == _Ranked.item_id)
            .where(_Ranked.round_id == latest, column.is_not(None)),
            latest,
        )

    first = s.execute(
        in_ranking(ItemRow.id, column)
        .order_by(direction(column), direction(_Ranked.item_id))
        .limit(want)
    ).all()
    others = or_(_Ranked.item_id.is_(None), column.is_(None))
    valued = (
        None
        if fallback is None
        else _Plan([*plan.conditions, others, fallback.is_not(None)], True, plan.prev, True)
    )
    second: list[Any] = []
    if valued is not None and fallback is not None:
        second = s.execute(
            valued.joined(select(ItemRow.id, fallback).select_from(ItemRow), latest)
            .order_by(direction(fallback), direction(ItemRow.id))
            .limit(want)
        ).all()
    merged = sorted([(float(v), int(i)) for i, v in [*first, *second]], reverse=query.descending)
    page = [item_id for _, item_id in merged[query.offset : want]]
    if len(page) == query.limit:
        return page
    # The page reaches past the items with a value: count them to place the rest.
    n_valued = len(first) + len(second)
    if len(first) == want or len(second) == want:
        n_valued = (s.scalar(in_ranking(func.count())) or 0) + (
            0
            if valued is None
            else s.scalar(valued.joined(select(func.count()).select_from(ItemRow), latest)) or 0
        )
    rest = _Plan(
        [*plan.conditions, others, *([] if fallback is None else [fallback.is_(None)])],
        plan.head or fallback is not None,
        plan.prev,
        rank=True,
    )
    tail = (
        rest.joined(select(ItemRow.id).select_from(ItemRow), latest)
        .order_by(direction(ItemRow.id))
        .offset(max(0, query.offset - n_valued))
        .limit(query.limit - len(page))
    )
    return page + list(s.scalars(tail))


class Catalog(StorePart):
    """Pages of a project's items for the data browser, on the store's reader sessions."""

    def page(self, project_id: int, query: ItemQuery) -> CatalogPage:
        """The items matching ``query``, one page of them, and their number.

        Two steps keep a page cheap on a large pool: the filter and the sort
        run over item ids with only the joins they need, then the page's rows
        (at most ``limit``) are read whole.
        """
        with self._db.read() as s:
            latest = latest_round_id(s, project_id)
            plan = _plan(project_id, query)
            total = s.scalar(plan.joined(select(func.count()).select_from(ItemRow), latest)) or 0
            if query.sort in ("uncertainty", "confidence") and latest is not None:
                ids = _ranked_first(s, plan, query, latest)
            else:
                ids = list(s.scalars(_ordered(plan, query, latest)))
            rows = _Plan([ItemRow.id.in_(ids)], True, True, True).joined(
                select(
                    ItemRow,
                    _Head.value,
                    _origin(),
                    _Head.annotator,
                    _updated,
                    _confidence,
                    _Ranked.score,
                ).select_from(ItemRow),
                latest,
            )
            found = {row[0].id: row for row in s.execute(rows).all()} if ids else {}
            flags: dict[int, list[str]] = {}
            if ids:
                for item_id, kind in s.execute(
                    select(ItemFlagRow.item_id, ItemFlagRow.kind)
                    .where(ItemFlagRow.item_id.in_(ids), ItemFlagRow.resolved_at.is_(None))
                    .order_by(ItemFlagRow.kind)
                ):
                    flags.setdefault(item_id, []).append(kind)
            page = []
            for item_id in ids:
                item, value, row_origin, annotator, changed, conf, score = found[item_id]
                page.append(
                    CatalogRow(
                        item=to_item(item),
                        value=value if item.labeled else None,
                        origin=row_origin,
                        annotator=annotator if item.labeled else None,
                        updated_at=aware(changed),
                        confidence=conf,
                        uncertainty=score,
                        flags=tuple(flags.get(item_id, ())),
                    )
                )
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
