"""The work of annotators and reviewers: next item, answer, skip, undo, correct, history."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import FileResponse
from pydantic import TypeAdapter, ValidationError

from labelloop.data.labels import LabelSchema
from labelloop.loop.workspace import Workspace
from labelloop.server.deps import trainer_of, workspace_of
from labelloop.server.schemas import (
    BoxOut,
    CorrectionIn,
    DetectionPredictionOut,
    EventOut,
    ItemOut,
    LabelIn,
    LabelOut,
    NextOut,
    PathId,
    PredictionOut,
    ServedOut,
    UndoIn,
)
from labelloop.server.security import Caller, require
from labelloop.store import LabelInput, LeaseKind, Served

router = APIRouter(prefix="/api", tags=["labeling"])
Annotator = Annotated[Caller, Depends(require("annotator"))]
Reviewer = Annotated[Caller, Depends(require("reviewer"))]
log = logging.getLogger("labelloop.server")
_BOXES = TypeAdapter(list[BoxOut])


def _proposals(
    item_id: int, predicted: str, confidence: float | None, schema: LabelSchema
) -> DetectionPredictionOut | None:
    """A detection model's proposals, from the JSON text its round stored.

    A proposal that is not a JSON list of boxes of the project's classes is
    logged and left out, so that one bad ranking row never stops serving.
    """
    try:
        boxes = _BOXES.validate_python(json.loads(predicted))
    except (ValueError, ValidationError) as exc:
        log.warning("item %s: ignoring proposals that are not a list of boxes: %s", item_id, exc)
        return None
    unknown = sorted({box.label for box in boxes} - set(schema.classes))
    if unknown:
        log.warning("item %s: ignoring proposals with unknown classes %s", item_id, unknown)
        return None
    return DetectionPredictionOut(boxes=boxes, confidence=confidence)


def _guess(
    item_id: int, predicted: str | None, confidence: float | None, schema: LabelSchema
) -> PredictionOut | DetectionPredictionOut | None:
    """The model's view of an item, shaped for the project's task."""
    if schema.task == "detection":
        return None if predicted is None else _proposals(item_id, predicted, confidence, schema)
    if predicted is None or confidence is None:
        return None
    return PredictionOut(label=predicted, confidence=confidence)


def _served_guess(
    served: Served, schema: LabelSchema
) -> PredictionOut | DetectionPredictionOut | None:
    return _guess(served.item.id, served.predicted, served.confidence, schema)


def _next(request: Request, who: Caller, kind: LeaseKind) -> NextOut:
    ws = workspace_of(request)
    cfg = ws.config
    served = ws.store.leases.serve(
        ws.project.id,
        who.user.id,
        kind=kind,
        ttl=timedelta(minutes=cfg.lease_minutes),
    )
    progress = ws.store.stats.progress(ws.project.id)
    if served is None:
        return NextOut(served=None, progress=progress)
    return NextOut(served=_served_out(ws, served, kind), progress=progress)


def _served_out(ws: Workspace, served: Served, kind: LeaseKind) -> ServedOut:
    cfg = ws.config
    # Detection proposals are what an annotator accepts or corrects box by box,
    # so they are shown while labeling unless the project says "never".
    show = (
        kind == "review"
        or cfg.show_prediction == "prefill"
        or (cfg.task == "detection" and cfg.show_prediction != "never")
    )
    return ServedOut(
        lease_id=served.lease.id,
        expires_at=served.lease.expires_at,
        kind=kind,
        item=ItemOut.of(served.item),
        current=None if served.current is None else EventOut.of(served.current),
        prediction=_served_guess(served, cfg.label_schema()) if show else None,
        uncertainty=served.score,
        rank=served.rank,
    )


def _answer(request: Request, who: Caller, body: LabelIn) -> LabelOut:
    ws = workspace_of(request)
    event = ws.store.leases.submit(
        ws.project.id,
        body.lease_id,
        user_id=who.user.id,
        annotator=who.user.username,
        value=body.value,
    )
    trainer_of(request).maybe_start()
    prediction = None
    cfg = ws.config
    if cfg.show_prediction != "never":
        guess = ws.store.prediction(ws.project.id, event.item_id)
        if guess is not None:
            prediction = _guess(event.item_id, guess[0], guess[1], cfg.label_schema())
    return LabelOut(
        event=EventOut.of(event),
        prediction=prediction,
        progress=ws.store.stats.progress(ws.project.id),
    )


@router.post("/queue/next")
def next_item(request: Request, who: Annotator) -> NextOut:
    """Lease the most informative unlabeled item nobody else holds."""
    return _next(request, who, "label")


@router.post("/labels", status_code=status.HTTP_201_CREATED)
def submit_label(body: LabelIn, request: Request, who: Annotator) -> LabelOut:
    """Answer a lease with a label; 409 if the lease is stale or the item changed."""
    return _answer(request, who, body)


@router.post("/leases/{lease_id}/skip", status_code=status.HTTP_204_NO_CONTENT)
def skip(lease_id: PathId, request: Request, who: Annotator) -> None:
    """Give the item back without labeling it."""
    ws = workspace_of(request)
    ws.store.leases.skip(ws.project.id, lease_id, user_id=who.user.id)


@router.post("/review/next")
def next_review(request: Request, who: Reviewer) -> NextOut:
    """Lease the least confident auto-labeled item for review."""
    return _next(request, who, "review")


@router.post("/review", status_code=status.HTTP_201_CREATED)
def submit_review(body: LabelIn, request: Request, who: Reviewer) -> LabelOut:
    """Accept an auto label (send its value) or correct it (send another)."""
    return _answer(request, who, body)


@router.get("/items/{item_id}")
def get_item(item_id: PathId, request: Request, who: Annotator) -> dict[str, Any]:
    """One item and its current label event."""
    ws = workspace_of(request)
    item = ws.store.item(ws.project.id, item_id)
    history = ws.store.history(ws.project.id, item_id)
    return {
        "item": ItemOut.of(item),
        "current": EventOut.of(history[-1]) if history else None,
    }


@router.get("/items/{item_id}/image")
def get_image(item_id: PathId, request: Request, who: Annotator) -> FileResponse:
    """The item's image file."""
    ws = workspace_of(request)
    item = ws.store.item(ws.project.id, item_id)
    media = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
    return FileResponse(ws.image_path(item), media_type=media.get(item.format))


@router.get("/items/{item_id}/history")
def item_history(item_id: PathId, request: Request, who: Annotator) -> list[EventOut]:
    """Every label event of the item, oldest first."""
    ws = workspace_of(request)
    return [EventOut.of(e) for e in ws.store.history(ws.project.id, item_id)]


def _annotators_own(ws: Workspace, who: Caller, item_id: int, what: str) -> int | None:
    """Check that an annotator changes only their own work; the item's last event id.

    Reviewers and admins may change any label. An annotator may label an item
    nobody labeled, or change (or undo) their own last answer, and only on an
    item no one else holds a lease on; anything else (another person's label,
    an auto label, a review) is a reviewer's right: 403.
    """
    if who.user.can("reviewer"):
        return None
    pid = ws.project.id
    holder = ws.store.leases.holder(pid, item_id)
    if holder is not None and holder != who.user.id:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"item {item_id} is being labeled by someone else; ask for the next item instead",
        )
    history = ws.store.history(pid, item_id)
    head = history[-1] if history else None
    if head is None:
        return None
    if head.source != "human" or head.annotator != who.user.username:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"to {what} another person's label, an auto label or a review is a reviewer's "
            f"right; {who.user.username} is an annotator",
        )
    return head.id


@router.post("/items/{item_id}/labels", status_code=status.HTTP_201_CREATED)
def correct(item_id: PathId, body: CorrectionIn, request: Request, who: Annotator) -> EventOut:
    """Label or correct an item outside the queue, if it is still at ``expected_event_id``.

    Annotators may label an unlabeled item or change their own answer;
    changing anyone else's is a reviewer's right.
    """
    ws = workspace_of(request)
    # The store refuses (409) unless the item is still at expected_event_id,
    # so the check holds for the label the write replaces.
    _annotators_own(ws, who, item_id, "change")
    event = ws.store.record_labels(
        ws.project.id,
        [
            LabelInput(
                item_id,
                body.value,
                source="human",
                annotator=who.user.username,
                user_id=who.user.id,
                expected_event_id=body.expected_event_id,
            )
        ],
    )[0]
    trainer_of(request).maybe_start()
    return EventOut.of(event)


@router.post("/items/{item_id}/lease")
def lease_item(item_id: PathId, request: Request, who: Annotator) -> NextOut:
    """Lease this unlabeled item to the caller now (after an undo, it comes straight back).

    The caller's current item goes back to the queue; 409 if the item has a
    label or someone else holds it.
    """
    ws = workspace_of(request)
    served = ws.store.leases.serve_item(
        ws.project.id,
        item_id,
        who.user.id,
        ttl=timedelta(minutes=ws.config.lease_minutes),
    )
    return NextOut(
        served=_served_out(ws, served, "label"),
        progress=ws.store.stats.progress(ws.project.id),
    )


@router.post("/items/{item_id}/undo", status_code=status.HTTP_201_CREATED)
def undo(item_id: PathId, body: UndoIn, request: Request, who: Annotator) -> EventOut:
    """Undo the item's last event, if it is still ``expected_event_id``.

    Annotators may undo only their own answers; undoing anyone else's event
    (a review, an auto label, another person's answer) is a reviewer's right.
    """
    ws = workspace_of(request)
    _annotators_own(ws, who, item_id, "undo")
    event = ws.store.undo(
        ws.project.id,
        item_id,
        annotator=who.user.username,
        user_id=who.user.id,
        expected_event_id=body.expected_event_id,
    )
    return EventOut.of(event)
