"""The monitor over HTTP: stopping verdict, drift, outliers, label errors, flags."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from pydantic import BaseModel

from labelloop.loop.monitoring import (
    MonitorInputError,
    check_concept_drift,
    label_error_inputs,
    monitor_overview,
)
from labelloop.server.deps import trainer_of, workspace_of
from labelloop.server.errors import unprocessable
from labelloop.server.schemas import FromRecord, PathId, RecordOut
from labelloop.server.security import Caller, require
from labelloop.server.trainer import LabelErrorJob
from labelloop.store import FLAG_KINDS, REPORT_KINDS, MonitorReport

__all__ = ["router"]

router = APIRouter(prefix="/api/monitor", tags=["monitor"])
Annotator = Annotated[Caller, Depends(require("annotator"))]
Reviewer = Annotated[Caller, Depends(require("reviewer"))]


@dataclass(frozen=True)
class ReportOut(MonitorReport, RecordOut):
    """One finding of the monitor."""


class FlagOut(FromRecord):
    """An item the monitor singled out."""

    id: int
    item_id: int
    item_name: str
    kind: str
    score: float | None
    detail: dict[str, Any] | None
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None


@dataclass(frozen=True)
class LabelErrorJobOut(LabelErrorJob, RecordOut):
    """A label-error search running in the background, or its outcome."""


class OverviewOut(BaseModel):
    """Continue or stop, the latest finding of each check, the open flags, and the curve."""

    decision: Literal["continue", "diminishing"]
    latest: dict[str, dict[str, Any] | None]
    open_flags: dict[str, int]
    drift_history: list[dict[str, Any]]


def _check_kind(value: str | None, allowed: tuple[str, ...], what: str) -> None:
    if value is not None and value not in allowed:
        raise unprocessable(
            f"unknown {what} {value!r}; choose one of {', '.join(allowed)}", "query", what
        )


@router.get("")
def overview(request: Request, who: Annotator) -> OverviewOut:
    """The stopping decision with its evidence, the latest report of each check, open flags."""
    ws = workspace_of(request)
    found = monitor_overview(ws)
    drift = ws.store.monitor.reports(ws.project.id, "data_drift", limit=50)
    history = [
        {
            "id": r.id,
            "batch": r.body.get("batch"),
            "p_value": r.body.get("p_value"),
            "alpha": r.body.get("alpha"),
            "drifted": r.alert,
            "created_at": r.created_at.isoformat(),
        }
        for r in reversed(drift)
    ]
    return OverviewOut(
        decision=found["decision"],
        latest=found["latest"],
        open_flags=found["open_flags"],
        drift_history=history,
    )


@router.get("/reports")
def reports(
    request: Request,
    who: Annotator,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ReportOut]:
    """Reports, newest first, of one kind or all."""
    _check_kind(kind, REPORT_KINDS, "report kind")
    ws = workspace_of(request)
    return [
        ReportOut.of(r)
        for r in ws.store.monitor.reports(ws.project.id, kind, limit=limit)  # type: ignore[arg-type]
    ]


@router.get("/flags")
def flags(
    request: Request,
    who: Annotator,
    kind: str | None = None,
    open_only: bool = True,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[FlagOut]:
    """Flagged items, highest score first: the outlier and relabel queues."""
    _check_kind(kind, FLAG_KINDS, "flag kind")
    ws = workspace_of(request)
    found = ws.store.monitor.flags(
        ws.project.id,
        kind,  # type: ignore[arg-type]
        open_only=open_only,
        limit=limit,
    )
    return [FlagOut.of(f) for f in found]


@router.post("/flags/{kind}/{item_id}/dismiss", status_code=status.HTTP_204_NO_CONTENT)
def dismiss(kind: str, item_id: PathId, request: Request, who: Reviewer) -> None:
    """Close an item's open flag: a person looked and found nothing wrong."""
    _check_kind(kind, FLAG_KINDS, "flag kind")
    ws = workspace_of(request)
    closed = ws.store.monitor.resolve(
        ws.project.id,
        [item_id],
        kind,  # type: ignore[arg-type]
        resolution=f"dismissed by {who.user.username}",
    )
    if not closed:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"item {item_id} has no open {kind} flag")


@router.post("/label-errors", status_code=status.HTTP_202_ACCEPTED)
def find_label_errors(request: Request, response: Response, who: Reviewer) -> LabelErrorJobOut:
    """Start looking for likely wrong labels in the background; flagged items join the
    review queue when it is done. While a search runs, this returns that search.
    Poll ``GET /api/monitor/label-errors/{id}`` for its progress."""
    try:
        label_error_inputs(workspace_of(request))  # refused now, not as a failed job
    except MonitorInputError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    job, _ = trainer_of(request).label_errors.start(requested_by=who.user.username)
    response.headers["Location"] = f"/api/monitor/label-errors/{job.id}"
    return LabelErrorJobOut.of(job)


@router.get("/label-errors")
def latest_label_error_search(request: Request, who: Annotator) -> LabelErrorJobOut | None:
    """The latest label-error search since the server started, or null."""
    job = trainer_of(request).label_errors.latest()
    return None if job is None else LabelErrorJobOut.of(job)


@router.get("/label-errors/{job_id}")
def label_error_search(job_id: PathId, request: Request, who: Annotator) -> LabelErrorJobOut:
    """One label-error search: running (with its step and progress), done or failed."""
    job = trainer_of(request).label_errors.get(job_id)
    if job is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no label-error search {job_id} in this server; start one with POST",
        )
    return LabelErrorJobOut.of(job)


@router.post("/concept-drift", status_code=status.HTTP_201_CREATED)
def find_concept_drift(request: Request, who: Reviewer) -> ReportOut:
    """Replay the model's errors through the concept-drift detector now."""
    ws = workspace_of(request)
    report = check_concept_drift(ws)
    if report is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "no label has a model prediction to compare with yet; train a model first",
        )
    return ReportOut.of(report)
