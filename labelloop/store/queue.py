"""The work queue: leases on items, serving the next one, answers against a lease.

An annotator is served the top of the latest round's ranking that is still
unlabeled and that nobody holds; the lease keeps everyone else off it until it
is answered, skipped or expires. A reviewer is served auto-labeled items, the
least confident first (writing those labels, and counting how review answered
them, is :mod:`labelloop.store.auto_labels`, reached through this object too).
An answer names its lease: if the lease has expired or was closed, or the
item's label moved on since it was served, the answer is refused and nothing
is written.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, and_, case, cast, exists, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labelloop.store._events import (
    answer_action,
    append_event,
    aware,
    head_event,
    item_row,
    latest_round_id,
    project_schema,
    to_event,
    to_item,
    to_record,
)
from labelloop.store.auto_labels import AutoLabels
from labelloop.store.records import LabelEvent, Lease, LeaseConflictError, LeaseKind, Served
from labelloop.store.schema import (
    ItemFlagRow,
    ItemRow,
    LabelEventRow,
    LeaseRow,
    QueueEntryRow,
    utcnow,
)

__all__ = ["Lease", "LeaseConflictError", "LeaseKind", "Queue", "Served"]


def _new_lease(
    s: Session, item: ItemRow, user_id: int, kind: LeaseKind, now: datetime, ttl: timedelta
) -> LeaseRow:
    """A lease of ``item`` to ``user_id`` from ``now`` for ``ttl``, at the item's current event."""
    lease = LeaseRow(
        project_id=item.project_id,
        item_id=item.id,
        user_id=user_id,
        kind=kind,
        head_event_id=item.head_event_id,
        created_at=now,
        expires_at=now + ttl,
    )
    s.add(lease)
    s.flush()
    return lease


class _StaleChoiceError(Exception):
    """The chosen item changed before its lease was in: roll back and choose again."""


def _held(now: datetime) -> Any:
    """SQL: the item has an open lease that has not expired."""
    return exists().where(
        LeaseRow.item_id == ItemRow.id, LeaseRow.closed_at.is_(None), LeaseRow.expires_at > now
    )


class Queue(AutoLabels):
    """Serving and answering, on the store's session factories.

    The auto labels that reviewers are served are written through it too:
    ``record_auto_labels`` and ``review_outcomes`` are :class:`AutoLabels`'
    methods, inherited so that callers keep one object for the queue.
    """

    # serving ----------------------------------------------------------------

    def serve(
        self, project_id: int, user_id: int, *, kind: LeaseKind = "label", ttl: timedelta
    ) -> Served | None:
        """Lease the next item to ``user_id``; None when there is nothing left to do.

        A user who already holds an unexpired lease of this kind gets the same
        item again, so reloading the page does not burn through the queue.
        """
        for _ in range(5):
            try:
                with self._db.write() as s:
                    return self._serve(s, project_id, user_id, kind, ttl)
            except (IntegrityError, _StaleChoiceError):
                continue  # another server leased (or labeled) the same item first; choose again
        raise LeaseConflictError(
            "could not lease an item: the queue is contended, try again",
            item_id=None,
            current_event_id=None,
        )

    def serve_item(self, project_id: int, item_id: int, user_id: int, *, ttl: timedelta) -> Served:
        """Lease one given unlabeled item to ``user_id`` to label now (after an undo).

        The user's other open label lease is handed back (its item returns to
        the queue where it was, not as a skip).

        Raises:
            UnknownItemError: no such item in the project.
            LeaseConflictError: the item has a label, or someone else holds it.
        """
        try:
            with self._db.write() as s:
                now = utcnow()
                item = item_row(s, project_id, item_id)
                if item.labeled:
                    raise LeaseConflictError(
                        f"item {item_id} has a label; only unlabeled items are served",
                        item_id=item_id,
                        current_event_id=item.head_event_id,
                    )
                held = s.scalar(
                    select(LeaseRow.user_id).where(
                        LeaseRow.item_id == item_id,
                        LeaseRow.closed_at.is_(None),
                        LeaseRow.expires_at > now,
                    )
                )
                if held is not None and held != user_id:
                    raise LeaseConflictError(
                        f"item {item_id} is being labeled by someone else",
                        item_id=item_id,
                        current_event_id=item.head_event_id,
                    )
                s.execute(
                    update(LeaseRow)
                    .where(
                        LeaseRow.project_id == project_id,
                        LeaseRow.user_id == user_id,
                        LeaseRow.kind == "label",
                        LeaseRow.closed_at.is_(None),
                    )
                    .values(closed_at=now, outcome="returned")
                )
                s.execute(
                    update(LeaseRow)
                    .where(LeaseRow.item_id == item_id, LeaseRow.closed_at.is_(None))
                    .values(closed_at=now, outcome="expired")
                )
                lease = _new_lease(s, item, user_id, "label", now, ttl)
                return self._served(s, lease, item)
        except IntegrityError:
            raise LeaseConflictError(
                f"item {item_id} was just leased to someone else",
                item_id=item_id,
                current_event_id=None,
            ) from None

    def _serve(
        self, s: Session, project_id: int, user_id: int, kind: LeaseKind, ttl: timedelta
    ) -> Served | None:
        now = utcnow()
        mine = s.scalars(
            select(LeaseRow)
            .where(
                LeaseRow.project_id == project_id,
                LeaseRow.user_id == user_id,
                LeaseRow.kind == kind,
                LeaseRow.closed_at.is_(None),
                LeaseRow.expires_at > now,
            )
            .order_by(LeaseRow.id.desc())
            .limit(1)
        ).one_or_none()
        if mine is not None:
            item = s.get(ItemRow, mine.item_id)
            if item is not None and item.head_event_id == mine.head_event_id:
                return self._served(s, mine, item)
            mine.closed_at, mine.outcome = now, "stale"
        item = (
            self._next_to_label(s, project_id, user_id, now)
            if kind == "label"
            else self._next_to_review(s, project_id, now)
        )
        if item is None:
            return None
        # Close the item's expired lease, if any. A live one (another server
        # leased the item since it was chosen) stays: the insert below then
        # collides on the open-lease index and the caller chooses again.
        s.execute(
            update(LeaseRow)
            .where(
                LeaseRow.item_id == item.id,
                LeaseRow.closed_at.is_(None),
                LeaseRow.expires_at <= now,
            )
            .values(closed_at=now, outcome="expired")
        )
        chosen_head = item.head_event_id
        lease = _new_lease(s, item, user_id, kind, now, ttl)
        # Read the item again now that the lease is in: on PostgreSQL another
        # process may have leased, labeled and released it after this
        # transaction chose it (its closed lease no longer collides). Then
        # choose again rather than hand out an item that changed.
        s.refresh(item)
        if item.head_event_id != chosen_head or (kind == "label" and item.labeled):
            raise _StaleChoiceError
        return self._served(s, lease, item)

    def _next_to_label(
        self, s: Session, project_id: int, user_id: int, now: datetime
    ) -> ItemRow | None:
        # On PostgreSQL, an item another transaction is leasing right now is
        # locked (FOR UPDATE ... SKIP LOCKED): concurrent annotators take the
        # next items instead of all choosing the top one and colliding. SQLite
        # has one writer at a time and ignores the clause.
        free = and_(ItemRow.project_id == project_id, ItemRow.labeled.is_(False), ~_held(now))
        skipped = exists().where(
            LeaseRow.item_id == ItemRow.id,
            LeaseRow.user_id == user_id,
            LeaseRow.outcome == "skipped",
        )
        round_id = latest_round_id(s, project_id)
        for condition in (and_(free, ~skipped), free):
            if round_id is not None:
                ranked = s.scalars(
                    select(ItemRow)
                    .join(
                        QueueEntryRow,
                        and_(
                            QueueEntryRow.item_id == ItemRow.id, QueueEntryRow.round_id == round_id
                        ),
                    )
                    .where(condition)
                    .order_by(QueueEntryRow.rank)
                    .limit(1)
                    .with_for_update(of=ItemRow, skip_locked=True)
                ).one_or_none()
                if ranked is not None:
                    return ranked
            # Items no ranking covers (before the first round, or imported
            # since) come in a fixed pseudo-random order: a multiplicative hash
            # of the id, so the cold-start queue is not the import order.
            rest = s.scalars(
                select(ItemRow)
                .where(condition)
                .order_by(
                    (cast(ItemRow.id, BigInteger) * literal(2654435761, BigInteger))
                    % literal(4294967311, BigInteger),
                    ItemRow.id,
                )
                .limit(1)
                .with_for_update(of=ItemRow, skip_locked=True)
            ).one_or_none()
            if rest is not None:
                return rest
        return None

    @staticmethod
    def _next_to_review(s: Session, project_id: int, now: datetime) -> ItemRow | None:
        # Flagged items come first: auto labels made before a concept drift,
        # then labels the monitor thinks are wrong (the relabel queue, which
        # holds people's labels too); then the rest of the auto labels, least
        # confident first.
        def flagged(kind: str) -> Any:
            return exists().where(
                ItemFlagRow.item_id == ItemRow.id,
                ItemFlagRow.kind == kind,
                ItemFlagRow.resolved_at.is_(None),
            )

        drifted, suspect = flagged("concept_drift"), flagged("label_error")
        # Among suspect labels, the one that most needs another look first
        # (the flag's score: 1 - label quality, or 1 - ActiveLab score).
        need = (
            select(func.max(ItemFlagRow.score))
            .where(
                ItemFlagRow.item_id == ItemRow.id,
                ItemFlagRow.kind == "label_error",
                ItemFlagRow.resolved_at.is_(None),
            )
            .scalar_subquery()
        )
        return s.scalars(
            select(ItemRow)
            .join(LabelEventRow, LabelEventRow.id == ItemRow.head_event_id)
            .where(
                ItemRow.project_id == project_id,
                ItemRow.labeled.is_(True),
                or_(LabelEventRow.source == "auto", suspect),
                ~_held(now),
            )
            .order_by(
                case((drifted, 0), (suspect, 1), else_=2),
                func.coalesce(need, -1.0).desc(),
                LabelEventRow.confidence,
                ItemRow.id,
            )
            .limit(1)
        ).one_or_none()

    def _served(self, s: Session, lease: LeaseRow, item: ItemRow) -> Served:
        head = head_event(s, item)
        entry = None
        round_id = latest_round_id(s, item.project_id)
        if round_id is not None:
            entry = s.get(QueueEntryRow, (round_id, item.id))
        return Served(
            lease=to_record(Lease, lease),
            item=to_item(item),
            current=None if head is None else to_event(head),
            predicted=None if entry is None else entry.predicted,
            confidence=None if entry is None else entry.confidence,
            score=None if entry is None else entry.score,
            rank=None if entry is None else entry.rank,
        )

    # answering --------------------------------------------------------------

    @staticmethod
    def _open_lease(
        s: Session, project_id: int, lease_id: int, user_id: int, now: datetime
    ) -> LeaseRow:
        lease = s.get(LeaseRow, lease_id)

        def refuse(why: str) -> LeaseConflictError:
            return LeaseConflictError(
                f"lease {lease_id} {why}; ask for the next item again",
                item_id=None if lease is None else lease.item_id,
                current_event_id=None,
            )

        if lease is None or lease.project_id != project_id:
            raise refuse("does not exist")
        if lease.user_id != user_id:
            raise refuse("belongs to another user")
        if lease.closed_at is not None:
            raise refuse(f"was already closed ({lease.outcome})")
        if aware(lease.expires_at) <= now:
            raise refuse("has expired")
        return lease

    def submit(
        self,
        project_id: int,
        lease_id: int,
        *,
        user_id: int,
        annotator: str,
        value: Any,
    ) -> LabelEvent:
        """Record a human answer to a lease and close it, in one transaction.

        Raises:
            LeaseConflictError: the lease expired, was closed, is someone
                else's, or the item's label changed since it was served.
            UnknownClassError, InvalidLabelError: the value is not allowed.
        """
        try:
            with self._db.write() as s:
                now = utcnow()
                lease = self._open_lease(s, project_id, lease_id, user_id, now)
                schema, val_fraction = project_schema(s, project_id)
                canonical = schema.validate_value(value)
                item = item_row(s, project_id, lease.item_id)
                head = head_event(s, item)
                if item.head_event_id != lease.head_event_id:
                    raise LeaseConflictError(
                        f"item {item.id} changed since it was served (label event "
                        f"{item.head_event_id}, served at {lease.head_event_id}); "
                        "ask for the next item again",
                        item_id=item.id,
                        current_event_id=item.head_event_id,
                    )
                action = answer_action(head, canonical, "human")
                row = append_event(
                    s,
                    item,
                    canonical,
                    source="human",
                    action=action,
                    annotator=annotator,
                    user_id=user_id,
                    lease_id=lease.id,
                    val_fraction=val_fraction,
                    head=head,
                )
                lease.closed_at, lease.outcome = now, "answered"
                # A person has now looked at the item: the monitor's reasons
                # to send it back to one are settled.
                s.execute(
                    update(ItemFlagRow)
                    .where(
                        ItemFlagRow.item_id == item.id,
                        ItemFlagRow.kind.in_(("concept_drift", "label_error")),
                        ItemFlagRow.resolved_at.is_(None),
                    )
                    .values(resolved_at=now, resolution=action)
                )
                return to_event(row)
        except IntegrityError as exc:
            raise LeaseConflictError(
                "another writer labeled the item at the same moment; ask for the next item",
                item_id=None,
                current_event_id=None,
            ) from exc

    def holder(self, project_id: int, item_id: int) -> int | None:
        """The user id holding an open, unexpired lease on the item, if anyone does."""
        with self._db.read() as s:
            found: int | None = s.scalar(
                select(LeaseRow.user_id).where(
                    LeaseRow.project_id == project_id,
                    LeaseRow.item_id == item_id,
                    LeaseRow.closed_at.is_(None),
                    LeaseRow.expires_at > utcnow(),
                )
            )
            return found

    def skip(self, project_id: int, lease_id: int, *, user_id: int) -> None:
        """Give a leased item back; this user is served it again only when nothing else is left."""
        with self._db.write() as s:
            lease = self._open_lease(s, project_id, lease_id, user_id, utcnow())
            lease.closed_at, lease.outcome = utcnow(), "skipped"
