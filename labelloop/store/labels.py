"""Label events: recording labels, undoing them, and reading current labels and histories.

Labels are never updated in place. Each item has a chain of label events
numbered by ``seq``; a new label, a correction or an undo appends the next
event, which names the event it supersedes. The item's current label is the
value of its last event, so any earlier state can be rebuilt from the events.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from labelloop.store._events import (
    answer_action,
    append_event,
    head_event,
    item_row,
    label_heads,
    project_schema,
    to_event,
    undo_event,
)
from labelloop.store.database import StorePart
from labelloop.store.records import LabelConflictError, LabelEvent, LabelSource, UnknownItemError
from labelloop.store.schema import LabelEventRow

__all__ = ["LabelInput", "Labels"]

_UNSET: Any = object()


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


class Labels(StorePart):
    """Each item's chain of label events, on the store's session factories."""

    def record_labels(self, project_id: int, labels: Sequence[LabelInput]) -> list[LabelEvent]:
        """Record labels in one transaction: all are written, or none.

        Raises:
            UnknownItemError: an item id is not in the project.
            UnknownClassError, InvalidLabelError: a value does not fit the project's classes.
            LabelConflictError: an ``expected_event_id`` is no longer current, or
                another writer labeled the item at the same moment.
        """
        try:
            with self._db.write() as s:
                schema, val_fraction = project_schema(s, project_id)
                written = []
                for lab in labels:
                    item = item_row(s, project_id, lab.item_id)
                    value = schema.validate_value(lab.value)
                    head = head_event(s, item)
                    _check_expected(lab, head)
                    written.append(
                        append_event(
                            s,
                            item,
                            value,
                            source=lab.source,
                            action=answer_action(head, value, lab.source),
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
        with self._db.write() as s:
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
        with self._db.read() as s:
            item_row(s, project_id, item_id)
            rows = s.scalars(
                select(LabelEventRow)
                .where(LabelEventRow.item_id == item_id)
                .order_by(LabelEventRow.seq)
            )
            return [to_event(r) for r in rows]

    def current_labels(self, project_id: int) -> dict[int, LabelEvent]:
        """Each labeled item's current label event, keyed by item id."""
        with self._db.read() as s:
            return {e.item_id: to_event(e) for e, _ in label_heads(s, project_id)}

    def source_counts(self, project_id: int) -> dict[str, int]:
        """How many items' current labels came from each source."""
        with self._db.read() as s:
            return dict(Counter(e.source for e, _ in label_heads(s, project_id)))
