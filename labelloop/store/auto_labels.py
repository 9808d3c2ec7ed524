"""Auto labels: confident predictions written as label events, and how review answered them.

A round's model labels the unlabeled items it is sure of (``source="auto"``);
the queue serves them to reviewers, least confident first
(:mod:`labelloop.store.queue`). Callers reach these methods through the
queue's object, ``store.leases``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from labelloop.store._events import append_event, head_event, item_row, project_schema
from labelloop.store.database import StorePart
from labelloop.store.schema import LabelEventRow, LeaseRow, utcnow

__all__ = ["AutoLabels"]


class AutoLabels(StorePart):
    """Writing auto labels and counting review outcomes, on the store's session factories."""

    def record_auto_labels(
        self,
        project_id: int,
        *,
        model_version: str,
        predictions: Sequence[tuple[int, Any, float]],
        threshold: float,
    ) -> int:
        """Turn confident predictions into auto-label events; withdraw ones no longer confident.

        Items a person labeled, and items someone holds right now, are left
        alone. An auto label the new model still agrees with is not repeated.

        Args:
            project_id: the project.
            model_version: the model that made the predictions.
            predictions: ``(item_id, value, confidence)`` per scored item.
            threshold: the confidence at or above which a prediction becomes a label.

        Returns:
            How many events were written.
        """
        written = 0
        with self._db.write() as s:
            schema, val_fraction = project_schema(s, project_id)
            now = utcnow()
            held = set(
                s.scalars(
                    select(LeaseRow.item_id).where(
                        LeaseRow.project_id == project_id,
                        LeaseRow.closed_at.is_(None),
                        LeaseRow.expires_at > now,
                    )
                )
            )
            for item_id, value, confidence in predictions:
                if item_id in held:
                    continue
                item = item_row(s, project_id, item_id)
                head = head_event(s, item)
                if head is not None and head.source != "auto" and head.value is not None:
                    continue
                auto_now = head is not None and head.source == "auto" and head.value is not None
                if confidence >= threshold:
                    if auto_now and head is not None and head.value == value:
                        continue
                    new_value, action = schema.validate_value(value), "label"
                elif auto_now:
                    new_value, action = None, "retract"
                else:
                    continue
                append_event(
                    s,
                    item,
                    new_value,
                    source="auto",
                    action=action,
                    model_version=model_version,
                    confidence=float(confidence),
                    val_fraction=val_fraction,
                    head=head,
                )
                written += 1
        return written

    def review_outcomes(self, project_id: int) -> dict[str, int]:
        """How reviewers answered auto labels: ``accepted`` and ``corrected`` counts."""
        with self._db.read() as s:
            auto = LabelEventRow.__table__.alias("auto")
            rows = s.execute(
                select(LabelEventRow.action, func.count())
                .join(auto, auto.c.id == LabelEventRow.supersedes_id)
                .where(
                    LabelEventRow.project_id == project_id,
                    LabelEventRow.source == "human",
                    auto.c.source == "auto",
                    LabelEventRow.action.in_(("accept", "correct")),
                )
                .group_by(LabelEventRow.action)
            )
            counts = {action: n for action, n in rows}
        return {"accepted": counts.get("accept", 0), "corrected": counts.get("correct", 0)}
