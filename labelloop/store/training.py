"""Training runs: at most one per project at a time, with visible progress and outcome.

A run is started in the server's own process (``start``: it is running at
once), or requested for a worker process (``request``: it waits, ``queued``,
until a ``labelloop worker`` claims it). Workers coordinate through the
database: a claim locks the project row, so two workers never run a round of
one project at the same time; a worker says it is alive every few seconds
(``heartbeat``), and a run whose worker fell silent is given up by the next
worker that looks (``abandon_stale``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from labelloop.errors import LabelloopError
from labelloop.store._events import to_record
from labelloop.store.database import StorePart
from labelloop.store.schema import LabelEventRow, ProjectRow, TrainingRunRow, utcnow

__all__ = ["TrainingBusyError", "TrainingRun", "TrainingRuns", "TrainingStatus"]

TrainingStatus = Literal["queued", "running", "succeeded", "failed"]

_OPEN = ("queued", "running")


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
    worker: str | None = None


def _run(row: TrainingRunRow) -> TrainingRun:
    return to_record(TrainingRun, row)


def _lock_project(s: Session, project_id: int) -> None:
    """Lock the project row for this transaction (``FOR UPDATE``; SQLite serialises writers)."""
    s.execute(select(ProjectRow.id).where(ProjectRow.id == project_id).with_for_update())


def _last_event(s: Session, project_id: int) -> int:
    """The project's newest label event id, 0 with none."""
    last = s.scalar(
        select(func.max(LabelEventRow.id)).where(LabelEventRow.project_id == project_id)
    )
    return int(last or 0)


class TrainingRuns(StorePart):
    """Training-run bookkeeping, on the store's session factories."""

    def start(self, project_id: int, *, trigger: str, requested_by: str | None) -> TrainingRun:
        """Open a run that this process runs now; :class:`TrainingBusyError` if one is open.

        The project row is locked for the check (a no-op update on SQLite,
        whose writers are serialized anyway; ``FOR UPDATE`` elsewhere), so two
        processes cannot both start one.
        """
        return self._open(project_id, "running", trigger, requested_by)

    def request(self, project_id: int, *, trigger: str, requested_by: str | None) -> TrainingRun:
        """Queue a run for a worker process; :class:`TrainingBusyError` if one is open."""
        return self._open(project_id, "queued", trigger, requested_by)

    def _open(
        self, project_id: int, status: TrainingStatus, trigger: str, requested_by: str | None
    ) -> TrainingRun:
        with self._db.write() as s:
            _lock_project(s, project_id)
            open_run = s.scalar(
                select(TrainingRunRow.id).where(
                    TrainingRunRow.project_id == project_id, TrainingRunRow.status.in_(_OPEN)
                )
            )
            if open_run is not None:
                raise TrainingBusyError(f"training run {open_run} is already queued or running")
            row = TrainingRunRow(
                project_id=project_id,
                status=status,
                trigger=trigger,
                requested_by=requested_by,
                last_event_id=_last_event(s, project_id),
                step="queued",
            )
            s.add(row)
            s.flush()
            return _run(row)

    def claim(self, project_id: int, worker: str) -> TrainingRun | None:
        """Take the project's queued run for ``worker``, if there is one and none is running.

        The label events the run trains on are counted from now (a label
        given while it waited belongs to it).
        """
        with self._db.write() as s:
            _lock_project(s, project_id)
            row = s.scalars(
                select(TrainingRunRow)
                .where(TrainingRunRow.project_id == project_id, TrainingRunRow.status.in_(_OPEN))
                .order_by(TrainingRunRow.id)
                .limit(1)
            ).first()
            if row is None or row.status != "queued":
                return None
            now = utcnow()
            row.status, row.worker, row.heartbeat_at = "running", worker, now
            row.started_at, row.step = now, "claimed"
            row.last_event_id = _last_event(s, project_id)
            s.flush()
            return _run(row)

    def heartbeat(self, run_id: int) -> None:
        """The worker of a running run is alive."""
        with self._db.write() as s:
            s.execute(
                update(TrainingRunRow)
                .where(TrainingRunRow.id == run_id)
                .values(heartbeat_at=utcnow())
            )

    def abandon_stale(self, project_id: int, *, silent_for: timedelta) -> int:
        """Fail runs whose worker has not said it is alive for ``silent_for``; how many."""
        return self._fail_running(
            project_id,
            f"its worker fell silent for over {silent_for.total_seconds():.0f} s",
            TrainingRunRow.worker.is_not(None),
            TrainingRunRow.heartbeat_at < utcnow() - silent_for,
        )

    def _fail_running(self, project_id: int, reason: str, *where: Any) -> int:
        """Fail the project's running runs that match ``where``; how many."""
        with self._db.write() as s:
            result = s.execute(
                update(TrainingRunRow)
                .where(
                    TrainingRunRow.project_id == project_id,
                    TrainingRunRow.status == "running",
                    *where,
                )
                .values(status="failed", message=reason, finished_at=utcnow(), step="failed")
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

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
        """Mark runs this server left 'running' when it died as failed; returns how many.

        Runs held by worker processes are theirs (see :meth:`abandon_stale`).
        """
        return self._fail_running(project_id, reason, TrainingRunRow.worker.is_(None))

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

    def human_labels_since(
        self, project_id: int, event_id: int, *, at_most: int | None = None
    ) -> int:
        """Human label events written after event ``event_id`` (counting stops at ``at_most``).

        Asked after every answer to decide on retraining, which only needs to
        know whether ``retrain_every`` were reached: the bound keeps that
        question cheap however many labels came since.
        """
        with self._db.read() as s:
            matching = (
                select(LabelEventRow.id)
                .where(
                    LabelEventRow.project_id == project_id,
                    LabelEventRow.id > event_id,
                    LabelEventRow.source == "human",
                )
                .limit(at_most)
                .subquery()
            )
            return int(s.scalar(select(func.count()).select_from(matching)) or 0)
