"""The label store: every read and write of a project's data, one transaction each.

Labels are never updated in place. Each item has a chain of label events
numbered by ``seq``; a new label, a correction or an undo appends the next
event, which names the event it supersedes. The item's current label is the
value of its last event, so any earlier state, and any snapshot, can be
rebuilt exactly from the events.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labelloop.data.labels import LabelSchema
from labelloop.store._events import (
    answer_action,
    append_event,
    aware,
    content_hash,
    head_event,
    item_row,
    latest_round_id,
    project_schema,
    to_event,
    to_item,
    undo_event,
)
from labelloop.store.catalog import Catalog
from labelloop.store.database import Transactions, check_schema, migrate
from labelloop.store.external import ExternalLinks
from labelloop.store.monitoring import MonitorRecords
from labelloop.store.people import People
from labelloop.store.queue import Queue
from labelloop.store.records import (
    ConfigChange,
    Item,
    LabelConflictError,
    LabelEvent,
    LabelSource,
    ModelRecord,
    NewItem,
    ProjectExistsError,
    ProjectNotFoundError,
    ProjectRecord,
    RoundRecord,
    Snapshot,
    SnapshotIntegrityError,
    UnknownItemError,
    UnknownModelError,
    UnknownSnapshotError,
)
from labelloop.store.schema import (
    ConfigChangeRow,
    ItemRow,
    LabelEventRow,
    ModelRow,
    ProjectRow,
    QueueEntryRow,
    RoundRow,
    SnapshotEventRow,
    SnapshotRow,
    utcnow,
)
from labelloop.store.stats import Stats
from labelloop.store.training import TrainingRuns

__all__ = ["AddItemsResult", "LabelInput", "RankedItem", "Store"]

_UNSET: Any = object()

RANKING_CHUNK = 1000
"""Ranking rows written per transaction: about 20-30 ms of SQLite's write lock."""
_FRESH_STATISTICS_ROWS = 1000
"""A ranking this long has PostgreSQL's planner statistics refreshed at once."""
_CHUNK_PAUSE = 0.005
"""Seconds between two chunks, for the writers that waited to go first."""


@dataclass(frozen=True)
class LabelInput:
    """One label to record; ``expected_event_id`` guards against lost updates.

    When ``expected_event_id`` is given (None meaning "the item was unlabeled"),
    the write is refused with :class:`LabelConflictError` unless it still is
    the item's current event.
    """

    item_id: int
    value: Any
    source: LabelSource = "human"
    annotator: str | None = None
    user_id: int | None = None
    model_version: str | None = None
    confidence: float | None = None
    expected_event_id: Any = _UNSET


@dataclass(frozen=True)
class RankedItem:
    """One unlabeled item in a round's ranking, with the model's view of it."""

    item_id: int
    score: float | None = None
    predicted: str | None = None
    confidence: float | None = None


@dataclass(frozen=True)
class AddItemsResult:
    """What :meth:`Store.add_items` did: items added, how many labeled, duplicates skipped."""

    added: list[Item]
    duplicates: list[tuple[str, int]]
    labeled: int = 0


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


class Store:
    """All persistent state of labelloop projects behind one SQLAlchemy engine.

    Args:
        url: SQLAlchemy database URL.
        create: run migrations to create or upgrade the schema; otherwise the
            schema must already be current.
    """

    def __init__(self, url: str, *, create: bool = False) -> None:
        self.url = url
        self._db = Transactions(url)
        self.engine = self._db.engine
        if create:
            migrate(self.engine)
        else:
            check_schema(self.engine)
        self.people = People(self._db)
        self.leases = Queue(self._db)
        self.training = TrainingRuns(self._db)
        self.stats = Stats(self._db)
        self.monitor = MonitorRecords(self._db)
        self.external = ExternalLinks(self._db)
        self.catalog = Catalog(self._db)

    def close(self) -> None:
        """Release every pooled connection."""
        self._db.dispose()

    def _tx(self) -> Any:
        return self._db.write()

    def _read(self) -> Any:
        return self._db.read()

    # projects -------------------------------------------------------------

    def create_project(self, name: str, config: dict[str, Any]) -> ProjectRecord:
        """Create a project; ``config`` must hold at least ``task`` and ``classes``."""
        LabelSchema(task=config["task"], classes=tuple(config["classes"]))
        try:
            with self._tx() as s:
                row = ProjectRow(name=name, config=config)
                s.add(row)
                s.flush()
                return ProjectRecord(row.id, row.name, row.config, aware(row.created_at))
        except IntegrityError as exc:
            raise ProjectExistsError(
                f"a project named {name!r} already exists; choose another name"
            ) from exc

    def project(self, name: str) -> ProjectRecord:
        """The project called ``name``."""
        with self._read() as s:
            row = s.scalars(select(ProjectRow).where(ProjectRow.name == name)).one_or_none()
            if row is None:
                names = s.scalars(select(ProjectRow.name)).all()
                raise ProjectNotFoundError(f"no project named {name!r}; projects: {list(names)}")
            return ProjectRecord(row.id, row.name, row.config, aware(row.created_at))

    def update_config(
        self,
        project_id: int,
        config: dict[str, Any],
        *,
        changes: Sequence[tuple[str, Any, Any]] = (),
        who: str = "",
        note: str = "",
    ) -> None:
        """Replace a project's configuration (validated by the caller) and record the changes.

        Args:
            project_id: the project.
            config: the whole new configuration mapping.
            changes: ``(dotted key, old value, new value)`` per changed setting,
                recorded in the same transaction.
            who: who changed them (a user name, ``cli:<login>``, ``labelloop``).
            note: why, when the change was not a person's (e.g. decided from data).
        """
        LabelSchema(task=config["task"], classes=tuple(config["classes"]))
        with self._tx() as s:
            row = s.get(ProjectRow, project_id)
            if row is None:
                raise ProjectNotFoundError(f"no project with id {project_id}")
            row.config = config
            for key, old, new in changes:
                s.add(
                    ConfigChangeRow(
                        project_id=project_id,
                        key=key,
                        old={"value": old},
                        new={"value": new},
                        who=who,
                        note=note,
                    )
                )

    def config_history(self, project_id: int) -> list[ConfigChange]:
        """Every recorded settings change of a project, oldest first."""
        with self._tx() as s:
            rows = s.scalars(
                select(ConfigChangeRow)
                .where(ConfigChangeRow.project_id == project_id)
                .order_by(ConfigChangeRow.id)
            ).all()
            return [
                ConfigChange(
                    id=r.id,
                    key=r.key,
                    old=r.old.get("value"),
                    new=r.new.get("value"),
                    who=r.who,
                    note=r.note,
                    created_at=aware(r.created_at),
                )
                for r in rows
            ]

    # items ----------------------------------------------------------------

    def add_items(
        self,
        project_id: int,
        items: Sequence[NewItem],
        *,
        source: LabelSource = "import",
        annotator: str | None = None,
    ) -> AddItemsResult:
        """Add images to the pool in one transaction, skipping known content.

        Items carrying a ``label`` get a first label event with ``source``.
        Every label is validated before anything is written, so an unknown
        class leaves the database untouched.
        """
        with self._tx() as s:
            schema, val_fraction = project_schema(s, project_id)
            values = [None if it.label is None else schema.validate_value(it.label) for it in items]
            shas = [it.sha256 for it in items]
            known = {
                sha: item_id
                for sha, item_id in s.execute(
                    select(ItemRow.sha256, ItemRow.id).where(
                        ItemRow.project_id == project_id, ItemRow.sha256.in_(shas)
                    )
                )
            }
            added: list[ItemRow] = []
            duplicate_of: list[tuple[str, str]] = []
            pending: list[tuple[ItemRow, Any]] = []
            batch: dict[str, ItemRow] = {}
            for new, value in zip(items, values, strict=True):
                if new.sha256 in known or new.sha256 in batch:
                    duplicate_of.append((new.name, new.sha256))
                    continue
                row = ItemRow(
                    project_id=project_id,
                    sha256=new.sha256,
                    name=new.name,
                    uri=new.uri,
                    width=new.width,
                    height=new.height,
                    mode=new.mode,
                    format=new.format,
                    size_bytes=new.size_bytes,
                    provenance=new.provenance,
                    meta=new.meta,
                )
                s.add(row)
                added.append(row)
                batch[new.sha256] = row
                if value is not None:
                    pending.append((row, value))
            s.flush()
            for row, value in pending:
                append_event(
                    s,
                    row,
                    value,
                    source=source,
                    action="label",
                    annotator=annotator,
                    val_fraction=val_fraction,
                    head=None,
                )
            known.update((sha, row.id) for sha, row in batch.items())
            duplicates = [(name, known[sha]) for name, sha in duplicate_of]
            return AddItemsResult([to_item(r) for r in added], duplicates, len(pending))

    def image_kinds(self, project_id: int) -> list[tuple[str, int, int]]:
        """The distinct ``(mode, height, width)`` of the project's images (one query)."""
        with self._read() as s:
            rows = s.execute(
                select(ItemRow.mode, ItemRow.height, ItemRow.width)
                .where(ItemRow.project_id == project_id)
                .distinct()
            ).all()
            return sorted((str(m), int(h), int(w)) for m, h, w in rows)

    def items(self, project_id: int) -> list[Item]:
        """Every item of the project, by id."""
        with self._read() as s:
            rows = s.scalars(
                select(ItemRow).where(ItemRow.project_id == project_id).order_by(ItemRow.id)
            )
            return [to_item(r) for r in rows]

    def item(self, project_id: int, item_id: int) -> Item:
        """One item; :class:`UnknownItemError` if the project has no such item."""
        with self._read() as s:
            return to_item(item_row(s, project_id, item_id))

    def find_items(self, project_id: int, key: str) -> list[Item]:
        """Items whose id, content hash or import name equals ``key``."""
        with self._read() as s:
            query = select(ItemRow).where(ItemRow.project_id == project_id)
            cond = (ItemRow.sha256 == key) | (ItemRow.name == key)
            if key.isdigit() and int(key) < 2**63:  # the databases' integer range
                cond = cond | (ItemRow.id == int(key))
            return [to_item(r) for r in s.scalars(query.where(cond).order_by(ItemRow.id))]

    # labels ---------------------------------------------------------------

    def record_labels(self, project_id: int, labels: Sequence[LabelInput]) -> list[LabelEvent]:
        """Record labels in one transaction: all are written, or none.

        Raises:
            UnknownItemError: an item id is not in the project.
            UnknownClassError, InvalidLabelError: a value does not fit the project's classes.
            LabelConflictError: an ``expected_event_id`` is no longer current, or
                another writer labeled the item at the same moment.
        """
        try:
            with self._tx() as s:
                schema, val_fraction = project_schema(s, project_id)
                written = []
                for lab in labels:
                    item = item_row(s, project_id, lab.item_id)
                    value = schema.validate_value(lab.value)
                    head = head_event(s, item)
                    self._check_expected(lab, head)
                    action = answer_action(head, value, lab.source)
                    written.append(
                        append_event(
                            s,
                            item,
                            value,
                            source=lab.source,
                            action=action,
                            annotator=lab.annotator,
                            user_id=lab.user_id,
                            val_fraction=val_fraction,
                            model_version=lab.model_version,
                            confidence=lab.confidence,
                            head=head,
                        )
                    )
                return [to_event(r) for r in written]
        except IntegrityError as exc:
            raise LabelConflictError(
                "another writer labeled the same item at the same moment; read it again",
                item_id=labels[0].item_id if len(labels) == 1 else None,
                current_event_id=None,
            ) from exc

    @staticmethod
    def _check_expected(lab: LabelInput, head: LabelEventRow | None) -> None:
        if lab.expected_event_id is _UNSET:
            return
        current = None if head is None else head.id
        if current != lab.expected_event_id:
            raise LabelConflictError(
                f"item {lab.item_id} changed since it was read: its current label event is "
                f"{current}, not {lab.expected_event_id}",
                item_id=lab.item_id,
                current_event_id=current,
            )

    def record_label(self, project_id: int, item_id: int, value: Any, **kw: Any) -> LabelEvent:
        """Record one label; keyword arguments as in :class:`LabelInput`."""
        return self.record_labels(project_id, [LabelInput(item_id, value, **kw)])[0]

    def undo(
        self,
        project_id: int,
        item_id: int,
        *,
        annotator: str | None = None,
        user_id: int | None = None,
        expected_event_id: int | None = None,
    ) -> LabelEvent:
        """Append an event restoring the value the item's last event replaced.

        With ``expected_event_id``, refuse (:class:`LabelConflictError`) unless
        that is still the item's last event.
        """
        with self._tx() as s:
            _, val_fraction = project_schema(s, project_id)
            item = item_row(s, project_id, item_id)
            head = head_event(s, item)
            if head is None:
                raise UnknownItemError(f"item {item_id} has no label to undo")
            if expected_event_id is not None and head.id != expected_event_id:
                raise LabelConflictError(
                    f"item {item_id} changed: its last event is {head.id}, not {expected_event_id}",
                    item_id=item_id,
                    current_event_id=head.id,
                )
            row = undo_event(
                s, item, head, annotator=annotator, user_id=user_id, val_fraction=val_fraction
            )
            return to_event(row)

    def history(self, project_id: int, item_id: int) -> list[LabelEvent]:
        """Every label event of an item, oldest first."""
        with self._read() as s:
            item_row(s, project_id, item_id)
            rows = s.scalars(
                select(LabelEventRow)
                .where(LabelEventRow.item_id == item_id)
                .order_by(LabelEventRow.seq)
            )
            return [to_event(r) for r in rows]

    @staticmethod
    def _heads(s: Session, project_id: int) -> list[tuple[LabelEventRow, ItemRow]]:
        query = (
            select(LabelEventRow, ItemRow)
            .join(ItemRow, ItemRow.head_event_id == LabelEventRow.id)
            .where(ItemRow.project_id == project_id, ItemRow.labeled.is_(True))
            .order_by(ItemRow.id)
        )
        return [(e, i) for e, i in s.execute(query)]

    def current_labels(self, project_id: int) -> dict[int, LabelEvent]:
        """Each labeled item's current label event, keyed by item id."""
        with self._read() as s:
            return {e.item_id: to_event(e) for e, _ in self._heads(s, project_id)}

    def source_counts(self, project_id: int) -> dict[str, int]:
        """How many items' current labels came from each source."""
        with self._read() as s:
            return dict(Counter(e.source for e, _ in self._heads(s, project_id)))

    # snapshots ------------------------------------------------------------

    def create_snapshot(self, project_id: int, note: str | None = None) -> Snapshot:
        """Freeze the project's current labels as a new, content-hashed snapshot."""
        with self._tx() as s:
            heads = self._heads(s, project_id)
            digest = content_hash((i.sha256, e.value, i.split) for e, i in heads)
            row = SnapshotRow(
                project_id=project_id, content_hash=digest, n_labels=len(heads), note=note
            )
            s.add(row)
            s.flush()
            s.add_all(SnapshotEventRow(snapshot_id=row.id, event_id=e.id) for e, _ in heads)
            return Snapshot(row.id, project_id, digest, len(heads), aware(row.created_at), note)

    def snapshots(self, project_id: int) -> list[Snapshot]:
        """Every snapshot of the project, oldest first."""
        with self._read() as s:
            rows = s.scalars(
                select(SnapshotRow)
                .where(SnapshotRow.project_id == project_id)
                .order_by(SnapshotRow.id)
            )
            return [
                Snapshot(
                    r.id, r.project_id, r.content_hash, r.n_labels, aware(r.created_at), r.note
                )
                for r in rows
            ]

    def snapshot_labels(self, project_id: int, snapshot_id: int) -> list[tuple[Item, LabelEvent]]:
        """Rebuild a snapshot: its items and label events, verified against its hash."""
        with self._read() as s:
            snap = s.get(SnapshotRow, snapshot_id)
            if snap is None or snap.project_id != project_id:
                known = s.scalars(
                    select(SnapshotRow.id)
                    .where(SnapshotRow.project_id == project_id)
                    .order_by(SnapshotRow.id.desc())
                    .limit(10)
                ).all()
                listed = ", ".join(str(k) for k in sorted(known)) if known else "none yet"
                raise UnknownSnapshotError(
                    f"project has no snapshot {snapshot_id}; the latest are: {listed} "
                    "(labelloop snapshots PROJECT lists them all)"
                )
            rows = s.execute(
                select(LabelEventRow, ItemRow)
                .join(SnapshotEventRow, SnapshotEventRow.event_id == LabelEventRow.id)
                .join(ItemRow, ItemRow.id == LabelEventRow.item_id)
                .where(SnapshotEventRow.snapshot_id == snapshot_id)
                .order_by(LabelEventRow.item_id)
            )
            pairs = [(to_item(i), to_event(e)) for e, i in rows]
        digest = content_hash((i.sha256, e.value, i.split) for i, e in pairs)
        if digest != snap.content_hash:
            raise SnapshotIntegrityError(
                f"snapshot {snapshot_id} rebuilt to hash {digest}, stored {snap.content_hash}"
            )
        return pairs

    # models and rounds ------------------------------------------------------

    def add_model(
        self, project_id: int, snapshot_id: int, learner: str, metrics: dict[str, Any]
    ) -> ModelRecord:
        """Register a trained model; its weights path is set with :meth:`set_model_path`."""
        with self._tx() as s:
            row = ModelRow(
                project_id=project_id, snapshot_id=snapshot_id, learner=learner, metrics=metrics
            )
            s.add(row)
            s.flush()
            return ModelRecord(row.id, snapshot_id, learner, None, metrics, aware(row.created_at))

    def set_model_path(self, model_id: int, path: str) -> None:
        """Record where a model's weights were written."""
        with self._tx() as s:
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
        with self._tx() as s:
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
            if whole:
                self._write_entries(s, project_id, round_id, ranking, 0)
                record = self._round(row)
        if whole:
            if on_chunk is not None and ranking:
                on_chunk(len(ranking), len(ranking))
            if len(ranking) >= _FRESH_STATISTICS_ROWS:
                self._db.refresh_statistics("queue_entries", "items")
            return record
        for start in range(0, len(ranking), chunk_size):
            with self._tx() as s:
                self._write_entries(
                    s, project_id, round_id, ranking[start : start + chunk_size], start
                )
            if on_chunk is not None:
                on_chunk(min(start + chunk_size, len(ranking)), len(ranking))
            # Neither the in-process writer lock nor SQLite's busy handler is
            # first-come first-served: without a pause this loop would take
            # the lock back before a waiting writer woke up.
            time.sleep(_CHUNK_PAUSE)
        with self._tx() as s:
            finished = s.get_one(RoundRow, round_id)
            finished.ready = True
            finished.created_at = utcnow()
            s.flush()
            record = self._round(finished)
        self._db.refresh_statistics("queue_entries", "items")
        return record

    @staticmethod
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

    def _clear_unready_rounds(self, project_id: int, chunk_size: int) -> int:
        """Delete rounds a crash left half-written (a chunk per transaction); how many."""
        with self._read() as s:
            unready = list(
                s.scalars(
                    select(RoundRow.id).where(
                        RoundRow.project_id == project_id, RoundRow.ready.is_(False)
                    )
                )
            )
        for round_id in unready:
            while True:
                with self._tx() as s:
                    batch = (
                        select(QueueEntryRow.item_id)
                        .where(QueueEntryRow.round_id == round_id)
                        .limit(chunk_size)
                    )
                    gone = s.execute(
                        delete(QueueEntryRow).where(
                            QueueEntryRow.round_id == round_id,
                            QueueEntryRow.item_id.in_(batch.scalar_subquery()),
                        )
                    ).rowcount
                if not gone:
                    break
            with self._tx() as s:
                s.execute(delete(RoundRow).where(RoundRow.id == round_id))
        return len(unready)

    @staticmethod
    def _round(row: RoundRow) -> RoundRecord:
        return RoundRecord(
            row.id,
            row.number,
            row.snapshot_id,
            row.model_id,
            row.strategy,
            list(row.selected),
            dict(row.metrics),
            aware(row.created_at),
        )

    def rounds(self, project_id: int) -> list[RoundRecord]:
        """Every round of the project, oldest first."""
        with self._read() as s:
            rows = s.scalars(
                select(RoundRow)
                .where(RoundRow.project_id == project_id, RoundRow.ready.is_(True))
                .order_by(RoundRow.number)
            )
            return [self._round(r) for r in rows]

    def model(self, model_id: int) -> ModelRecord:
        """One model record."""
        with self._read() as s:
            row = s.get(ModelRow, model_id)
            if row is None:
                raise UnknownModelError(f"no model with id {model_id}")
            return ModelRecord(
                row.id, row.snapshot_id, row.learner, row.path, row.metrics, aware(row.created_at)
            )

    def enqueue(self, project_id: int, item_id: int, *, score: float | None = None) -> None:
        """Put an item at the head of the current ranking (stream picks, synthesized queries).

        Items enqueued later come before earlier ones. With no round yet, an
        empty round is recorded to hold the queue.
        """
        with self._tx() as s:
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
        with self._read() as s:
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
        with self._read() as s:
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
        with self._read() as s:
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
