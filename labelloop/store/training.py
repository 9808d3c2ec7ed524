"""Training runs: at most one per project at a time, with visible progress and outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select, update

from labelloop.errors import LabelloopError
from labelloop.store._events import aware
from labelloop.store.database import Transactions
from labelloop.store.schema import LabelEventRow, ProjectRow, TrainingRunRow, utcnow

__all__ = ["TrainingBusyError", "TrainingRun", "TrainingRuns", "TrainingStatus"]

TrainingStatus = Literal["running", "succeeded", "failed"]


class TrainingBusyError(LabelloopError, RuntimeError):
    """A training run of this project is already running."""


@dataclass(frozen=True)
class TrainingRun:
    """One training run: what started it, how far it got, how it ended."""

    id: int
    status: TrainingStatus
    trigger: str
    step: str | None
    progress: float
    message: str | None
    round_id: int | None
    last_event_id: int
    requested_by: str | None
    started_at: datetime
    finished_at: datetime | None


def _run(row: TrainingRunRow) -> TrainingRun:
    return TrainingRun(
        row.id,
        row.status,  # type: ignore[arg-type]
        row.trigger,
        row.step,
        row.progress,
        row.message,
        row.round_id,
        row.last_event_id,
        row.requested_by,
        aware(row.started_at),
        None if row.finished_at is None else aware(row.finished_at),
    )


class TrainingRuns:
    """Training-run bookkeeping, on the store's session factories."""

    def __init__(self, db: Transactions) -> None:
        self._db = db

    def start(self, project_id: int, *, trigger: str, requested_by: str | None) -> TrainingRun:
        """Open a run; :class:`TrainingBusyError` if one is running already.

        The project row is locked for the check (a no-op update on SQLite,
        whose writers are serialized anyway; ``FOR UPDATE`` elsewhere), so two
        processes cannot both start one.
        """
        with self._db.write() as s:
            s.execute(select(ProjectRow.id).where(ProjectRow.id == project_id).with_for_update())
            running = s.scalar(
                select(TrainingRunRow.id).where(
                    TrainingRunRow.project_id == project_id, TrainingRunRow.status == "running"
                )
            )
            if running is not None:
                raise TrainingBusyError(f"training run {running} is already running")
            last = s.scalar(
                select(func.max(LabelEventRow.id)).where(LabelEventRow.project_id == project_id)
            )
            row = TrainingRunRow(
                project_id=project_id,
                status="running",
                trigger=trigger,
                requested_by=requested_by,
                last_event_id=last or 0,
                step="queued",
            )
            s.add(row)
            s.flush()
            return _run(row)

    def progress(self, run_id: int, step: str, fraction: float) -> None:
        """Report how far a running run is."""
        with self._db.write() as s:
            s.execute(
                update(TrainingRunRow)
                .where(TrainingRunRow.id == run_id)
                .values(step=step, progress=min(max(fraction, 0.0), 1.0))
            )

    def finish(
        self,
        run_id: int,
        status: TrainingStatus,
        *,
        round_id: int | None = None,
        message: str | None = None,
    ) -> None:
        """Close a run as succeeded or failed."""
        with self._db.write() as s:
            s.execute(
                update(TrainingRunRow)
                .where(TrainingRunRow.id == run_id)
                .values(
                    status=status,
                    round_id=round_id,
                    message=message,
                    finished_at=utcnow(),
                    progress=1.0 if status == "succeeded" else TrainingRunRow.progress,
                    step="done" if status == "succeeded" else "failed",
                )
            )

    def abandon_running(self, project_id: int, reason: str) -> int:
        """Mark runs left 'running' by a process that died as failed; returns how many."""
        with self._db.write() as s:
            result = s.execute(
                update(TrainingRunRow)
                .where(TrainingRunRow.project_id == project_id, TrainingRunRow.status == "running")
                .values(status="failed", message=reason, finished_at=utcnow(), step="failed")
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def runs(self, project_id: int, limit: int = 20) -> list[TrainingRun]:
        """The most recent runs, newest first."""
        with self._db.read() as s:
            rows = s.scalars(
                select(TrainingRunRow)
                .where(TrainingRunRow.project_id == project_id)
                .order_by(TrainingRunRow.id.desc())
                .limit(limit)
            )
            return [_run(r) for r in rows]

    def human_labels_since(self, project_id: int, event_id: int) -> int:
        """Human label events written after event ``event_id``."""
        with self._db.read() as s:
            return int(
                s.scalar(
                    select(func.count()).where(
                        LabelEventRow.project_id == project_id,
                        LabelEventRow.id > event_id,
                        LabelEventRow.source == "human",
                    )
                )
                or 0
            )
