"""Snapshots: a project's current labels frozen under a content hash, rebuilt exactly later.

A snapshot lists label events, not values: since events are never changed,
the snapshot's items and labels can be read back at any time, and the
content hash tells whether what was read back is what was frozen.
"""

from __future__ import annotations

from sqlalchemy import select

from labelloop.store._events import (
    content_hash,
    label_heads,
    project_rows,
    to_event,
    to_item,
    to_record,
)
from labelloop.store.database import StorePart
from labelloop.store.records import (
    Item,
    LabelEvent,
    Snapshot,
    SnapshotIntegrityError,
    UnknownSnapshotError,
)
from labelloop.store.schema import ItemRow, LabelEventRow, SnapshotEventRow, SnapshotRow

__all__ = ["Snapshots"]


class Snapshots(StorePart):
    """Freezing and rebuilding labeled sets, on the store's session factories."""

    def create_snapshot(self, project_id: int, note: str | None = None) -> Snapshot:
        """Freeze the project's current labels as a new, content-hashed snapshot."""
        with self._db.write() as s:
            heads = label_heads(s, project_id)
            digest = content_hash((i.sha256, e.value, i.split) for e, i in heads)
            row = SnapshotRow(
                project_id=project_id, content_hash=digest, n_labels=len(heads), note=note
            )
            s.add(row)
            s.flush()
            s.add_all(SnapshotEventRow(snapshot_id=row.id, event_id=e.id) for e, _ in heads)
            return to_record(Snapshot, row)

    def snapshots(self, project_id: int) -> list[Snapshot]:
        """Every snapshot of the project, oldest first."""
        with self._db.read() as s:
            return [to_record(Snapshot, r) for r in project_rows(s, SnapshotRow, project_id)]

    def snapshot_labels(self, project_id: int, snapshot_id: int) -> list[tuple[Item, LabelEvent]]:
        """Rebuild a snapshot: its items and label events, verified against its hash.

        Raises:
            UnknownSnapshotError: the project has no such snapshot.
            SnapshotIntegrityError: the events no longer hash to the stored hash.
        """
        with self._db.read() as s:
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
