"""Counts for the dashboard: labels over time, class balance, annotator activity."""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, func, select

from labelloop.store._events import aware
from labelloop.store.database import StorePart, Transactions
from labelloop.store.schema import ItemRow, LabelEventRow, LeaseRow

__all__ = ["Stats"]

_ANSWERS = ("label", "correct", "accept")
_SIZE_TTL = 10.0
"""Seconds a project's item count is trusted without recounting (see ``Stats._pool_size``)."""


class Stats(StorePart):
    """Read-only aggregates over a project's events, on the store's reader sessions."""

    def __init__(self, db: Transactions) -> None:
        super().__init__(db)
        # project id -> (its largest item id, its item count, when counted)
        self._sizes: dict[int, tuple[int | None, int, float]] = {}
        self._sizes_lock = threading.Lock()

    def _pool_size(self, s: Any, project_id: int) -> int:
        """The project's item count, counted again only when an item was added.

        Items are never deleted and ids only grow, so the largest id (one
        index lookup) says whether the count (a scan of the project's index,
        3 ms at 100,000 items, asked on every answer) can be reused. An insert
        committed out of id order (two concurrent imports on PostgreSQL)
        could hide behind a larger id; the count is redone every
        :data:`_SIZE_TTL` seconds regardless.
        """
        largest = s.scalar(select(func.max(ItemRow.id)).where(ItemRow.project_id == project_id))
        now = time.monotonic()
        with self._sizes_lock:
            known = self._sizes.get(project_id)
        if known is not None and known[0] == largest and now - known[2] < _SIZE_TTL:
            return known[1]
        total = s.scalar(select(func.count()).where(ItemRow.project_id == project_id)) or 0
        with self._sizes_lock:
            self._sizes[project_id] = (largest, total, now)
        return total

    def progress(self, project_id: int) -> dict[str, int]:
        """Items in the pool, and how many are labeled by a person, auto-labeled, or not at all."""
        with self._db.read() as s:
            total = self._pool_size(s, project_id)
            rows = s.execute(
                select(LabelEventRow.source, func.count())
                .join(ItemRow, ItemRow.head_event_id == LabelEventRow.id)
                .where(ItemRow.project_id == project_id, ItemRow.labeled.is_(True))
                .group_by(LabelEventRow.source)
            )
            by_source = {source: n for source, n in rows}
        auto = by_source.get("auto", 0)
        people = sum(by_source.values()) - auto
        return {
            "items": total,
            "labeled": people,
            "auto_labeled": auto,
            "unlabeled": total - people - auto,
        }

    def labels_over_time(self, project_id: int) -> list[dict[str, Any]]:
        """Label events per hour and source (undo and withdrawals left out), counted in SQL."""
        with self._db.read() as s:
            if s.get_bind().dialect.name == "sqlite":
                hour: Any = func.strftime("%Y-%m-%dT%H:00:00+00:00", LabelEventRow.created_at)
            else:
                hour = func.date_trunc("hour", LabelEventRow.created_at)
            rows = s.execute(
                select(hour.label("hour"), LabelEventRow.source, func.count())
                .where(
                    LabelEventRow.project_id == project_id,
                    LabelEventRow.action.in_(_ANSWERS),
                )
                .group_by(hour, LabelEventRow.source)
                .order_by(hour, LabelEventRow.source)
            )
            return [
                {
                    "hour": h if isinstance(h, str) else aware(h).isoformat(),
                    "source": source,
                    "count": n,
                }
                for h, source, n in rows
            ]

    def class_balance(self, project_id: int) -> dict[str, dict[str, int]]:
        """Current labels per class and source, grouped in SQL."""
        balance: dict[str, dict[str, int]] = defaultdict(dict)
        with self._db.read() as s:
            value = cast(LabelEventRow.value, Text)
            rows = s.execute(
                select(value, LabelEventRow.source, func.count())
                .join(ItemRow, ItemRow.head_event_id == LabelEventRow.id)
                .where(ItemRow.project_id == project_id, ItemRow.labeled.is_(True))
                .group_by(value, LabelEventRow.source)
            )
            for text, source, n in rows:
                decoded = json.loads(text)
                names = [decoded] if isinstance(decoded, str) else [b["label"] for b in decoded]
                for name in names:
                    balance[name][source] = balance[name].get(source, 0) + n
        return dict(balance)

    def annotators(self, project_id: int) -> list[dict[str, Any]]:
        """Per person: labels made, and the median seconds from being served to answering."""
        with self._db.read() as s:
            rows = s.execute(
                select(LabelEventRow.annotator, LabelEventRow.created_at, LeaseRow.created_at)
                .outerjoin(LeaseRow, LeaseRow.id == LabelEventRow.lease_id)
                .where(
                    LabelEventRow.project_id == project_id,
                    LabelEventRow.source == "human",
                    LabelEventRow.annotator.is_not(None),
                    LabelEventRow.action.in_(_ANSWERS),
                )
            )
            per: dict[str, list[float]] = defaultdict(list)
            counts: Counter[str] = Counter()
            last: dict[str, datetime] = {}
            for name, answered, served in rows:
                who = str(name)
                counts[who] += 1
                answered = aware(answered)
                last[who] = max(last.get(who, answered), answered)
                if served is not None:
                    per[who].append((answered - aware(served)).total_seconds())
        return [
            {
                "annotator": who,
                "labels": counts[who],
                "median_seconds": statistics.median(per[who]) if per[who] else None,
                "last_label_at": last[who].isoformat(),
            }
            for who in sorted(counts)
        ]
