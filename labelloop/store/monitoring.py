"""The monitor's records: reports, flags on items, numeric metadata with its originals.

The checks themselves live in :mod:`labelloop.monitor`; this module only keeps
what they found. A report is one finding (a drift test on an import batch, a
stopping verdict after a round); a flag singles out one item (an outlier, a
likely label error) until a person resolves it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import and_, func, select, update

from labelloop.store._events import aware, to_record
from labelloop.store.database import StorePart
from labelloop.store.schema import (
    ItemFlagRow,
    ItemRow,
    LabelEventRow,
    MetadataValueRow,
    MonitorReportRow,
    QueueEntryRow,
    RoundRow,
    utcnow,
)

__all__ = [
    "FLAG_KINDS",
    "REPORT_KINDS",
    "FlagInput",
    "FlagKind",
    "ItemFlag",
    "MetadataValue",
    "MonitorRecords",
    "MonitorReport",
    "PredictionOutcome",
    "ReportKind",
]

ReportKind = Literal[
    "concept_drift", "data_drift", "label_errors", "metadata", "outliers", "stopping", "unreadable"
]
REPORT_KINDS: tuple[ReportKind, ...] = get_args(ReportKind)

FlagKind = Literal["concept_drift", "drift", "label_error", "outlier", "unreadable"]
"""Why an item is flagged: re-review after concept drift, shifted input, likely
wrong label, outlying image, an image file that can no longer be read."""
FLAG_KINDS: tuple[FlagKind, ...] = get_args(FlagKind)


@dataclass(frozen=True)
class MonitorReport:
    """One stored finding of the monitor."""

    id: int
    kind: str
    alert: bool
    summary: str
    body: dict[str, Any]
    round_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class FlagInput:
    """An item to flag, with the score that singled it out."""

    item_id: int
    score: float | None = None
    detail: dict[str, Any] | None = None


@dataclass(frozen=True)
class ItemFlag:
    """A flag on an item and how it ended, if it has."""

    id: int
    item_id: int
    item_name: str
    kind: str
    score: float | None
    detail: dict[str, Any] | None
    report_id: int | None
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None


@dataclass(frozen=True)
class MetadataValue:
    """One numeric metadata value: as it came and as cleaned, and why it changed."""

    item_id: int
    column: str
    original: float | None
    cleaned: float | None
    reason: str | None


@dataclass(frozen=True)
class PredictionOutcome:
    """A person's label next to the model's prediction at that moment.

    Attributes:
        event_id: The person's label event.
        item_id: The item.
        created_at: When it was given.
        predicted: The serving model's prediction for the item when it was
            labeled (from the latest round before the label).
        value: The label given.
        round_id: The round whose prediction it was.
    """

    event_id: int
    item_id: int
    created_at: datetime
    predicted: str
    value: Any
    round_id: int

    @property
    def error(self) -> bool:
        """Whether the model got it wrong."""
        return bool(self.predicted != self.value)


def _report(row: MonitorReportRow) -> MonitorReport:
    return to_record(MonitorReport, row)


class MonitorRecords(StorePart):
    """Reports, flags and metadata, on the store's session factories."""

    def add_report(
        self,
        project_id: int,
        kind: ReportKind,
        *,
        body: dict[str, Any],
        summary: str,
        alert: bool = False,
        round_id: int | None = None,
        flags: Sequence[FlagInput] = (),
        flag_kind: FlagKind | None = None,
    ) -> MonitorReport:
        """Store a report and the flags it raises, in one transaction.

        An item that already has an open flag of ``flag_kind`` keeps it, with
        the new score and report.

        Args:
            project_id: The project.
            kind: Which check made the report.
            body: The check's JSON-ready report.
            summary: One line for people.
            alert: Whether it asks for attention.
            round_id: The round it belongs to, if any.
            flags: Items to flag.
            flag_kind: The kind of flag to raise; required when ``flags`` is given.

        Returns:
            The stored report.

        Raises:
            ValueError: ``flags`` without ``flag_kind``.
        """
        if flags and flag_kind is None:
            raise ValueError("flags need a flag_kind saying why the items are flagged")
        with self._db.write() as s:
            row = MonitorReportRow(
                project_id=project_id,
                kind=kind,
                alert=alert,
                summary=summary,
                body=body,
                round_id=round_id,
            )
            s.add(row)
            s.flush()
            if flags:
                open_rows = {
                    flag.item_id: flag
                    for flag in s.scalars(
                        select(ItemFlagRow).where(
                            ItemFlagRow.project_id == project_id,
                            ItemFlagRow.kind == flag_kind,
                            ItemFlagRow.resolved_at.is_(None),
                            ItemFlagRow.item_id.in_([f.item_id for f in flags]),
                        )
                    )
                }
                for flag in flags:
                    existing = open_rows.get(flag.item_id)
                    if existing is not None:
                        existing.score, existing.detail = flag.score, flag.detail
                        existing.report_id = row.id
                        continue
                    s.add(
                        ItemFlagRow(
                            project_id=project_id,
                            item_id=flag.item_id,
                            kind=flag_kind,
                            score=flag.score,
                            detail=flag.detail,
                            report_id=row.id,
                        )
                    )
            s.flush()
            return _report(row)

    def reports(
        self, project_id: int, kind: ReportKind | None = None, *, limit: int = 50
    ) -> list[MonitorReport]:
        """The latest reports, newest first, of one kind or all."""
        with self._db.read() as s:
            query = select(MonitorReportRow).where(MonitorReportRow.project_id == project_id)
            if kind is not None:
                query = query.where(MonitorReportRow.kind == kind)
            rows = s.scalars(query.order_by(MonitorReportRow.id.desc()).limit(limit))
            return [_report(row) for row in rows]

    def latest(self, project_id: int, kind: ReportKind) -> MonitorReport | None:
        """The newest report of one kind, if any."""
        found = self.reports(project_id, kind, limit=1)
        return found[0] if found else None

    def flags(
        self,
        project_id: int,
        kind: FlagKind | None = None,
        *,
        open_only: bool = True,
        limit: int | None = None,
    ) -> list[ItemFlag]:
        """Flags, highest score first (then oldest)."""
        with self._db.read() as s:
            query = (
                select(ItemFlagRow, ItemRow.name)
                .join(ItemRow, ItemRow.id == ItemFlagRow.item_id)
                .where(ItemFlagRow.project_id == project_id)
            )
            if kind is not None:
                query = query.where(ItemFlagRow.kind == kind)
            if open_only:
                query = query.where(ItemFlagRow.resolved_at.is_(None))
            query = query.order_by(ItemFlagRow.score.desc(), ItemFlagRow.id)
            if limit is not None:
                query = query.limit(limit)
            return [to_record(ItemFlag, row, item_name=name) for row, name in s.execute(query)]

    def flagged_items(self, project_id: int, kind: FlagKind) -> set[int]:
        """Ids of the items with an open flag of one kind."""
        with self._db.read() as s:
            return set(
                s.scalars(
                    select(ItemFlagRow.item_id).where(
                        ItemFlagRow.project_id == project_id,
                        ItemFlagRow.kind == kind,
                        ItemFlagRow.resolved_at.is_(None),
                    )
                )
            )

    def resolve(
        self, project_id: int, item_ids: Iterable[int], kind: FlagKind, *, resolution: str
    ) -> int:
        """Close the open flags of one kind on these items; returns how many closed."""
        ids = list(item_ids)
        if not ids:
            return 0
        with self._db.write() as s:
            result = s.execute(
                update(ItemFlagRow)
                .where(
                    ItemFlagRow.project_id == project_id,
                    ItemFlagRow.kind == kind,
                    ItemFlagRow.resolved_at.is_(None),
                    ItemFlagRow.item_id.in_(ids),
                )
                .values(resolved_at=utcnow(), resolution=resolution)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def record_metadata(
        self, project_id: int, values: Sequence[MetadataValue], *, report_id: int | None
    ) -> None:
        """Store metadata values; an item's column is written once and then only re-cleaned.

        The first write of an item's column sets its original; later writes
        change only the cleaned value and the reason, so the original is never lost.
        """
        with self._db.write() as s:
            existing = {
                (row.item_id, row.column): row
                for row in s.scalars(
                    select(MetadataValueRow).where(
                        MetadataValueRow.project_id == project_id,
                        MetadataValueRow.item_id.in_({v.item_id for v in values}),
                    )
                )
            }
            for value in values:
                row = existing.get((value.item_id, value.column))
                if row is None:
                    s.add(
                        MetadataValueRow(
                            project_id=project_id,
                            item_id=value.item_id,
                            column=value.column,
                            original=value.original,
                            cleaned=value.cleaned,
                            reason=value.reason,
                            report_id=report_id,
                        )
                    )
                else:
                    row.cleaned, row.reason, row.report_id = value.cleaned, value.reason, report_id

    def metadata(self, project_id: int) -> list[MetadataValue]:
        """Every stored metadata value of the project, by item and column."""
        with self._db.read() as s:
            rows = s.scalars(
                select(MetadataValueRow)
                .where(MetadataValueRow.project_id == project_id)
                .order_by(MetadataValueRow.item_id, MetadataValueRow.column)
            )
            return [
                MetadataValue(row.item_id, row.column, row.original, row.cleaned, row.reason)
                for row in rows
            ]

    def auto_labeled_before(self, project_id: int, when: datetime) -> list[int]:
        """Items whose current label is an auto label made before ``when``, oldest first."""
        with self._db.read() as s:
            return list(
                s.scalars(
                    select(ItemRow.id)
                    .join(LabelEventRow, LabelEventRow.id == ItemRow.head_event_id)
                    .where(
                        ItemRow.project_id == project_id,
                        ItemRow.labeled.is_(True),
                        LabelEventRow.source == "auto",
                        LabelEventRow.created_at < when,
                    )
                    .order_by(LabelEventRow.id)
                )
            )

    def annotations(self, project_id: int) -> dict[int, dict[str, Any]]:
        """Each person's latest answer per item, for items two or more people answered.

        Labels without an annotator's name (an import, an oracle) count as one
        person each, named by their source.

        Returns:
            ``{item_id: {annotator: value}}``; withdrawn answers (value None) are left out.
        """
        with self._db.read() as s:
            rows = s.execute(
                select(
                    LabelEventRow.item_id,
                    func.coalesce(LabelEventRow.annotator, LabelEventRow.source),
                    LabelEventRow.value,
                )
                .where(
                    LabelEventRow.project_id == project_id,
                    # Imported labels are someone's answer too, known by their source.
                    LabelEventRow.source.in_(("human", "import", "oracle")),
                    LabelEventRow.action.in_(("label", "correct", "accept")),
                    LabelEventRow.value.is_not(None),
                )
                .order_by(LabelEventRow.id)
            )
            answers: dict[int, dict[str, Any]] = {}
            for item_id, annotator, value in rows:
                answers.setdefault(item_id, {})[annotator] = value
        return {item: by for item, by in answers.items() if len(by) >= 2}

    def prediction_outcomes(self, project_id: int) -> list[PredictionOutcome]:
        """People's labels, oldest first, each beside the model's prediction at that moment.

        Only first labels count (``action == "label"``, by a person): they are
        the model's errors as labels arrive. A label given before any round had
        ranked its item has no prediction and is left out.
        """
        with self._db.read() as s:
            rows = s.execute(
                select(
                    LabelEventRow.id,
                    LabelEventRow.item_id,
                    LabelEventRow.created_at,
                    LabelEventRow.value,
                    QueueEntryRow.predicted,
                    RoundRow.id,
                )
                .join(QueueEntryRow, QueueEntryRow.item_id == LabelEventRow.item_id)
                .join(
                    RoundRow,
                    and_(
                        RoundRow.id == QueueEntryRow.round_id,
                        RoundRow.ready.is_(True),
                        RoundRow.created_at <= LabelEventRow.created_at,
                    ),
                )
                .where(
                    LabelEventRow.project_id == project_id,
                    LabelEventRow.source == "human",
                    LabelEventRow.action == "label",
                    QueueEntryRow.predicted.is_not(None),
                )
                .order_by(LabelEventRow.id, RoundRow.id.desc())
            )
            outcomes: list[PredictionOutcome] = []
            seen: set[int] = set()
            for event_id, item_id, created_at, value, predicted, round_id in rows:
                if event_id in seen:
                    continue
                seen.add(event_id)
                outcomes.append(
                    PredictionOutcome(
                        event_id, item_id, aware(created_at), predicted, value, round_id
                    )
                )
            return outcomes
