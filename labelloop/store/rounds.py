"""Models, rounds and their rankings: recording a round, swapping in its ranking, reading it.

A round's ranking lists the pool's unlabeled items, most informative first,
with the model's guess for each. The latest round whose ranking is fully
written is the one the queue serves from; a long ranking is written in
chunks under a round that is not ready yet, so that no writer waits for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from labelloop.store._events import content_hash, item_row, latest_round_id, to_item, to_record
from labelloop.store.database import StorePart
from labelloop.store.records import Item, ModelRecord, RoundRecord, UnknownModelError
from labelloop.store.schema import (
    ItemRow,
    ModelRow,
    QueueEntryRow,
    RoundRow,
    SnapshotRow,
    utcnow,
)

__all__ = ["RANKING_CHUNK", "RankedEntry", "RankedItem", "RankingView", "Rounds"]

RANKING_CHUNK = 1000
"""Ranking rows written per transaction: about 20-30 ms of SQLite's write lock."""
_FRESH_STATISTICS_ROWS = 1000
"""A ranking this long has PostgreSQL's planner statistics refreshed at once."""
_CHUNK_PAUSE = 0.005
"""Seconds between two chunks, for the writers that waited to go first."""


@dataclass(frozen=True)
class RankedItem:
    """One unlabeled item in a round's ranking, with the model's view of it."""

    item_id: int
    score: float | None = None
    predicted: str | None = None
    confidence: float | None = None


@dataclass(frozen=True)
class RankedEntry:
    """One item in the latest ranking: its place as a score (lower first) and the guess."""

    score: float
    predicted: str | None
    confidence: float | None


@dataclass(frozen=True)
class RankingView:
    """The latest ranking's round (id and number) and entries for the items asked about."""

    round_id: int | None
    round_number: int | None
    entries: dict[int, RankedEntry]


def _round(row: RoundRow) -> RoundRecord:
    return to_record(RoundRecord, row, selected=list(row.selected), metrics=dict(row.metrics))


def _write_entries(
    s: Session, project_id: int, round_id: int, ranking: Sequence[RankedItem], first: int
) -> None:
    if not ranking:
        return
    s.execute(
        insert(QueueEntryRow),
        [
            {
                "round_id": round_id,
                "item_id": r.item_id,
                "project_id": project_id,
                "rank": first + offset,
                "score": r.score,
                "predicted": r.predicted,
                "confidence": r.confidence,
            }
            for offset, r in enumerate(ranking)
        ],
    )


class Rounds(StorePart):
    """Models, rounds and rankings, on the store's session factories."""

    def add_model(
        self, project_id: int, snapshot_id: int, learner: str, metrics: dict[str, Any]
    ) -> ModelRecord:
        """Register a trained model; its weights path is set with :meth:`set_model_path`."""
        with self._db.write() as s:
            row = ModelRow(
                project_id=project_id, snapshot_id=snapshot_id, learner=learner, metrics=metrics
            )
            s.add(row)
            s.flush()
            return to_record(ModelRecord, row)

    def set_model_path(self, model_id: int, path: str) -> None:
        """Record where a model's weights were written."""
        with self._db.write() as s:
            row = s.get(ModelRow, model_id)
            if row is None:
                raise UnknownModelError(f"no model with id {model_id}")
            row.path = path

    def add_round(
        self,
        project_id: int,
        *,
        snapshot_id: int,
        model_id: int | None,
        strategy: str,
        ranking: Sequence[RankedItem],
        batch_size: int,
        metrics: dict[str, Any],
        chunk_size: int = RANKING_CHUNK,
        on_chunk: Callable[[int, int], None] | None = None,
    ) -> RoundRecord:
        """Record a finished round and swap in its ranking.

        A ranking of at most ``chunk_size`` items is written in one
        transaction. A longer one is written a chunk per transaction under a
        round that is not ready yet, so that no writer (an annotator's label,
        a lease) waits for the whole ranking; the last transaction makes the
        round ready, and readers switch to it at once. A round left unready by
        a crash is never read, and is cleared by the next call.

        Args:
            project_id: the project.
            snapshot_id: the snapshot the round trained on.
            model_id: the model it trained, or None (cold start).
            strategy: the strategy that ranked the pool.
            ranking: unlabeled items, most informative first, with the model's view.
            batch_size: how many of the top items form the round's batch.
            metrics: what the round measured.
            chunk_size: ranking rows written per transaction.
            on_chunk: called with ``(rows written, rows in all)`` after each chunk.
        """
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
        self._clear_unready_rounds(project_id, chunk_size)
        whole = len(ranking) <= chunk_size
        with self._db.write() as s:
            number = (
                s.scalar(select(func.max(RoundRow.number)).where(RoundRow.project_id == project_id))
                or 0
            ) + 1
            row = RoundRow(
                project_id=project_id,
                number=number,
                snapshot_id=snapshot_id,
                model_id=model_id,
                strategy=strategy,
                selected=[r.item_id for r in ranking[:batch_size]],
                metrics=metrics,
                ready=whole,
            )
            s.add(row)
            s.flush()
            round_id = row.id
            record = _round(row)
            if whole:
                _write_entries(s, project_id, round_id, ranking, 0)
        if not whole:
            return self._swap_in_chunks(project_id, round_id, ranking, chunk_size, on_chunk)
        if on_chunk is not None and ranking:
            on_chunk(len(ranking), len(ranking))
        if len(ranking) >= _FRESH_STATISTICS_ROWS:
            self._db.refresh_statistics("queue_entries", "items")
        return record

    def _swap_in_chunks(
        self,
        project_id: int,
        round_id: int,
        ranking: Sequence[RankedItem],
        chunk_size: int,
        on_chunk: Callable[[int, int], None] | None,
    ) -> RoundRecord:
        """Write an unready round's ranking a chunk per transaction, then make it ready."""
        for start in range(0, len(ranking), chunk_size):
            with self._db.write() as s:
                _write_entries(s, project_id, round_id, ranking[start : start + chunk_size], start)
            if on_chunk is not None:
                on_chunk(min(start + chunk_size, len(ranking)), len(ranking))
            # Neither the in-process writer lock nor SQLite's busy handler is
            # first-come first-served: without a pause this loop would take
            # the lock back before a waiting writer woke up.
            time.sleep(_CHUNK_PAUSE)
        with self._db.write() as s:
            finished = s.get_one(RoundRow, round_id)
            finished.ready = True
            finished.created_at = utcnow()
            s.flush()
            record = _round(finished)
        self._db.refresh_statistics("queue_entries", "items")
        return record

    def _clear_unready_rounds(self, project_id: int, chunk_size: int) -> int:
        """Delete rounds a crash left half-written (a chunk per transaction); how many."""
        with self._db.read() as s:
            unready = list(
                s.scalars(
                    select(RoundRow.id).where(
                        RoundRow.project_id == project_id, RoundRow.ready.is_(False)
                    )
                )
            )
        for round_id in unready:
            while True:
                with self._db.write() as s:
                    batch = (
                        select(QueueEntryRow.item_id)
                        .where(QueueEntryRow.round_id == round_id)
                        .limit(chunk_size)
                    )
                    result = s.execute(
                        delete(QueueEntryRow).where(
                            QueueEntryRow.round_id == round_id,
                            QueueEntryRow.item_id.in_(batch.scalar_subquery()),
                        )
                    )
                    gone = int(result.rowcount)  # type: ignore[attr-defined]
                if not gone:
                    break
            with self._db.write() as s:
                s.execute(delete(RoundRow).where(RoundRow.id == round_id))
        return len(unready)

    def rounds(self, project_id: int) -> list[RoundRecord]:
        """Every round of the project, oldest first."""
        with self._db.read() as s:
            rows = s.scalars(
                select(RoundRow)
                .where(RoundRow.project_id == project_id, RoundRow.ready.is_(True))
                .order_by(RoundRow.number)
            )
            return [_round(r) for r in rows]

    def model(self, model_id: int) -> ModelRecord:
        """One model record."""
        with self._db.read() as s:
            row = s.get(ModelRow, model_id)
            if row is None:
                raise UnknownModelError(f"no model with id {model_id}")
            return to_record(ModelRecord, row)

    def enqueue(self, project_id: int, item_id: int, *, score: float | None = None) -> None:
        """Put an item at the head of the current ranking (stream picks, synthesized queries).

        Items enqueued later come before earlier ones. With no round yet, an
        empty round is recorded to hold the queue.
        """
        with self._db.write() as s:
            item_row(s, project_id, item_id)
            latest = latest_round_id(s, project_id)
            if latest is None:
                # Round 0 only holds the queue: the first training round is round 1.
                number = 0
                snapshot = SnapshotRow(
                    project_id=project_id, content_hash=content_hash([]), n_labels=0, note="queue"
                )
                s.add(snapshot)
                s.flush()
                row = RoundRow(
                    project_id=project_id,
                    number=number,
                    snapshot_id=snapshot.id,
                    strategy="queue",
                    selected=[],
                    metrics={},
                )
                s.add(row)
                s.flush()
                latest = row.id
            top = s.scalar(
                select(func.min(QueueEntryRow.rank)).where(QueueEntryRow.round_id == latest)
            )
            head = min(top if top is not None else 0, 0) - 1
            entry = s.get(QueueEntryRow, (latest, item_id))
            if entry is not None:  # already ranked: moved to the head, keeping its prediction
                if entry.rank != top:
                    entry.rank = head
                return
            s.add(
                QueueEntryRow(
                    round_id=latest, item_id=item_id, project_id=project_id, rank=head, score=score
                )
            )

    def prediction(self, project_id: int, item_id: int) -> tuple[str, float] | None:
        """The latest ranking's guess and confidence for an item, if it ranked it."""
        with self._db.read() as s:
            latest = latest_round_id(s, project_id)
            entry = None if latest is None else s.get(QueueEntryRow, (latest, item_id))
            if entry is None or entry.predicted is None or entry.confidence is None:
                return None
            return entry.predicted, entry.confidence

    def ranking_view(self, project_id: int, item_ids: Sequence[int]) -> RankingView:
        """Where the latest ranking puts ``item_ids``, as scores in (0, 1]: lower comes first.

        An item's score is its rank's place between the ranking's first and
        last rank, so sorting by score ascending serves the ranking's order.
        Items the ranking does not hold (added since) are left out.
        """
        with self._db.read() as s:
            latest = latest_round_id(s, project_id)
            if latest is None:
                return RankingView(None, None, {})
            number = s.scalar(select(RoundRow.number).where(RoundRow.id == latest))
            low, high = s.execute(
                select(func.min(QueueEntryRow.rank), func.max(QueueEntryRow.rank)).where(
                    QueueEntryRow.round_id == latest
                )
            ).one()
            entries: dict[int, RankedEntry] = {}
            ids = list(item_ids)
            for start in range(0, len(ids), 500):
                rows = s.execute(
                    select(
                        QueueEntryRow.item_id,
                        QueueEntryRow.rank,
                        QueueEntryRow.predicted,
                        QueueEntryRow.confidence,
                    ).where(
                        QueueEntryRow.round_id == latest,
                        QueueEntryRow.item_id.in_(ids[start : start + 500]),
                    )
                )
                for item_id, rank, predicted, confidence in rows:
                    score = (rank - low + 1) / (high - low + 2)
                    entries[item_id] = RankedEntry(score, predicted, confidence)
            return RankingView(latest, number, entries)

    def queue(self, project_id: int, limit: int | None = None) -> list[tuple[Item, float | None]]:
        """The latest ranking's still-unlabeled items with their scores, in rank order."""
        with self._db.read() as s:
            latest = latest_round_id(s, project_id)
            if latest is None:
                return []
            rows = s.execute(
                select(ItemRow, QueueEntryRow.score)
                .join(QueueEntryRow, QueueEntryRow.item_id == ItemRow.id)
                .where(QueueEntryRow.round_id == latest, ItemRow.labeled.is_(False))
                .order_by(QueueEntryRow.rank)
                .limit(limit)
            )
            return [(to_item(i), sc) for i, sc in rows]
