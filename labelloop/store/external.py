"""Links to outside labeling tools: their tasks shown as items, their annotations as events.

Label Studio (or another tool) keeps its own ids. A task is linked once to
the item that holds its image; an annotation is linked to the label event it
last wrote, with a digest of its content, so that a webhook sent twice writes
one event, an updated annotation supersedes it, and a deleted one undoes it.
Every write here is one transaction: an annotation's event and its link
land together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError

from labelloop.store._events import (
    answer_action,
    append_event,
    head_event,
    item_row,
    project_schema,
    to_event,
    undo_event,
)
from labelloop.store.database import StorePart
from labelloop.store.records import LabelConflictError, LabelEvent
from labelloop.store.schema import ExternalAnnotationRow, ExternalTaskRow, utcnow

__all__ = ["AnnotationOutcome", "ExternalLinks", "ExternalSource"]

AnnotationOutcome = Literal["recorded", "unchanged", "undone", "gone"]


@dataclass(frozen=True)
class ExternalSource:
    """Where links come from: the tool (``labelstudio``) and its project id there."""

    system: str
    project: str


def _link(project_id: int, source: ExternalSource) -> dict[str, Any]:
    """The columns that tie a link row to its project and to the outside tool's project."""
    return {"project_id": project_id, "system": source.system, "external_project": source.project}


class ExternalLinks(StorePart):
    """Tasks and annotations of outside tools, linked to items and label events."""

    def link_task(self, project_id: int, source: ExternalSource, task_id: int, item_id: int) -> int:
        """Link a task to an item (once); the item the task is linked to."""
        try:
            with self._db.write() as s:
                item_row(s, project_id, item_id)
                row = self._task(s, project_id, source, task_id)
                if row is not None:
                    return int(row.item_id)
                link = _link(project_id, source)
                s.add(ExternalTaskRow(**link, task_id=task_id, item_id=item_id))
                return item_id
        except IntegrityError:  # another request linked it at the same moment
            found = self.task_items(project_id, source, [task_id])
            return found[task_id]

    def task_items(
        self, project_id: int, source: ExternalSource, task_ids: Iterable[int] | None = None
    ) -> dict[int, int]:
        """Item id of each linked task (of ``task_ids``, or all the source's tasks)."""
        with self._db.read() as s:
            query = select(ExternalTaskRow.task_id, ExternalTaskRow.item_id).where(
                self._of(ExternalTaskRow, project_id, source)
            )
            if task_ids is not None:
                query = query.where(ExternalTaskRow.task_id.in_(list(task_ids)))
            return {task: item for task, item in s.execute(query)}

    @staticmethod
    def _of(row: Any, project_id: int, source: ExternalSource) -> Any:
        """The condition "``row`` belongs to this project and outside project"."""
        link = _link(project_id, source)
        return and_(*(getattr(row, column) == value for column, value in link.items()))

    def _task(self, s: Any, project_id: int, source: ExternalSource, task_id: int) -> Any:
        mine = self._of(ExternalTaskRow, project_id, source)
        return s.scalar(select(ExternalTaskRow).where(mine, ExternalTaskRow.task_id == task_id))

    def _annotation(
        self, s: Any, project_id: int, source: ExternalSource, annotation_id: int
    ) -> Any:
        mine = self._of(ExternalAnnotationRow, project_id, source)
        return s.scalar(
            select(ExternalAnnotationRow).where(
                mine, ExternalAnnotationRow.annotation_id == annotation_id
            )
        )

    def record_annotation(
        self,
        project_id: int,
        source: ExternalSource,
        annotation_id: int,
        item_id: int,
        value: Any,
        *,
        digest: str,
        annotator: str,
    ) -> tuple[AnnotationOutcome, LabelEvent | None]:
        """Write an annotation as a person's label, unless this content was written already.

        Returns:
            ``("recorded", event)`` for a new or changed annotation,
            ``("unchanged", None)`` for one already written with this digest
            (a re-sent webhook), ``("gone", None)`` for one deleted before.

        Raises:
            UnknownClassError, InvalidLabelError: the value does not fit the project.
            LabelConflictError: another writer labeled the item at the same moment.
        """
        try:
            with self._db.write() as s:
                schema, val_fraction = project_schema(s, project_id)
                link = self._annotation(s, project_id, source, annotation_id)
                if link is not None and link.deleted:
                    return "gone", None
                if link is not None and link.digest == digest:
                    return "unchanged", None
                value = schema.validate_value(value)
                item = item_row(s, project_id, item_id)
                head = head_event(s, item)
                row = append_event(
                    s,
                    item,
                    value,
                    source="human",
                    action=answer_action(head, value, "human"),
                    annotator=annotator,
                    val_fraction=val_fraction,
                    head=head,
                )
                if link is None:
                    s.add(
                        ExternalAnnotationRow(
                            **_link(project_id, source),
                            annotation_id=annotation_id,
                            item_id=item_id,
                            event_id=row.id,
                            digest=digest,
                        )
                    )
                else:
                    link.item_id, link.event_id, link.digest = item_id, row.id, digest
                    link.updated_at = utcnow()
                s.flush()
                return "recorded", to_event(row)
        except IntegrityError as exc:
            raise LabelConflictError(
                "another writer labeled the same item at the same moment; send it again",
                item_id=item_id,
                current_event_id=None,
            ) from exc

    def delete_annotation(
        self, project_id: int, source: ExternalSource, annotation_id: int, *, annotator: str
    ) -> tuple[AnnotationOutcome, LabelEvent | None]:
        """Undo what a deleted annotation wrote, if it is still the item's label.

        Returns:
            ``("undone", event)`` when the annotation's event was the item's
            last and is now undone; ``("gone", None)`` when the annotation is
            unknown, deleted before, or its label was since replaced (then
            only the link is closed: a later label is not taken back).
        """
        with self._db.write() as s:
            link = self._annotation(s, project_id, source, annotation_id)
            if link is None or link.deleted:
                return "gone", None
            link.deleted = True
            link.updated_at = utcnow()
            _, val_fraction = project_schema(s, project_id)
            item = item_row(s, project_id, link.item_id)
            head = head_event(s, item)
            if head is None or head.id != link.event_id:
                return "gone", None
            row = undo_event(
                s, item, head, annotator=annotator, user_id=None, val_fraction=val_fraction
            )
            return "undone", to_event(row)
