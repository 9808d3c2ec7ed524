"""The project as a whole: settings, training, dashboard, export, uploads."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, HTTPException, Query, Request, UploadFile, status
from fastapi.responses import Response
from pydantic import ValidationError

from labelloop.data.formats import DETECTION_FORMATS
from labelloop.data.images import ImageFileError
from labelloop.loop import Workspace
from labelloop.loop.dashboard import auto_label_summary, learning_curve
from labelloop.loop.export import ExportFormat, export_bytes
from labelloop.loop.settings import SettingsError, apply_settings, describe_settings
from labelloop.server.deps import trainer_of, workspace_of
from labelloop.server.errors import unprocessable
from labelloop.server.schemas import (
    DashboardOut,
    ItemOut,
    ProjectOut,
    QueryId,
    TrainingOut,
    TrainingRunOut,
)
from labelloop.server.security import Caller, require
from labelloop.store import ConfigChange, Snapshot

router = APIRouter(prefix="/api", tags=["project"])
_PLAIN_EXPORTS = ("csv", "json", "imagefolder")

Annotator = Annotated[Caller, Depends(require("annotator"))]
Reviewer = Annotated[Caller, Depends(require("reviewer"))]
Admin = Annotated[Caller, Depends(require("admin"))]


def _plain(record: ConfigChange | Snapshot, names: tuple[str, ...], *, when: str) -> dict[str, Any]:
    """The record's ``names``, then its ``created_at`` as ISO text under the key ``when``."""
    return {name: getattr(record, name) for name in names} | {when: record.created_at.isoformat()}


def _project_out(ws: Workspace) -> ProjectOut:
    cfg = ws.config
    return ProjectOut(
        name=cfg.name,
        task=cfg.task,
        classes=list(cfg.classes),
        config=cfg.to_dict(),
        progress=ws.store.stats.progress(ws.project.id),
    )


@router.get("/project")
def project(request: Request, who: Annotator) -> ProjectOut:
    """The project's configuration and labeling progress."""
    return _project_out(workspace_of(request))


@router.patch("/project/settings")
def update_settings(body: dict[str, Any], request: Request, who: Admin) -> ProjectOut:
    """Change project settings (admin): dotted keys or nested sections, validated whole.

    Each change is recorded with the admin's name (``GET /api/project/settings/history``);
    the answer's ``changes`` say when each takes effect.
    """
    ws = workspace_of(request)
    try:
        changes = apply_settings(ws, body, who=who.user.username)
    except SettingsError as exc:
        raise unprocessable(str(exc), "body") from None
    except ValidationError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=[
                {
                    "loc": ["body", *(str(p) for p in e["loc"])],
                    "msg": e["msg"],
                    "type": e["type"],
                }
                for e in exc.errors()
            ],
        ) from None
    out = _project_out(ws)
    out.changes = [c.to_dict() for c in changes]
    return out


@router.get("/project/settings/history")
def settings_history(request: Request, who: Admin) -> list[dict[str, Any]]:
    """Every recorded settings change, oldest first: key, old, new, who, when, note."""
    ws = workspace_of(request)
    changes = ws.store.config_history(ws.project.id)
    return [_plain(c, ("key", "old", "new", "who", "note"), when="at") for c in changes]


def training_state(ws: Workspace) -> TrainingOut:
    """Queued (for a worker process), running or idle, recent runs, and the serving model."""
    pid = ws.project.id
    runs = ws.store.training.runs(pid, limit=10)
    since = runs[0].last_event_id if runs else 0
    trained = [r for r in ws.store.rounds(pid) if r.model_id is not None]
    model = ws.store.model(trained[-1].model_id) if trained else None  # type: ignore[arg-type]
    return TrainingOut(
        state=runs[0].status if runs and runs[0].status in ("queued", "running") else "idle",
        runs=[TrainingRunOut.of(r) for r in runs],
        labels_since_last_run=ws.store.training.human_labels_since(pid, since),
        retrain_every=ws.config.retrain_every,
        model_version=None if model is None else model.version,
        model_metrics=None if model is None else model.metrics,
    )


@router.get("/snapshots")
def snapshots(request: Request, who: Annotator) -> list[dict[str, Any]]:
    """Every snapshot (frozen labeled set) of the project, newest first, for export."""
    ws = workspace_of(request)
    snaps = reversed(ws.store.snapshots(ws.project.id))
    return [_plain(s, ("id", "n_labels", "content_hash", "note"), when="created_at") for s in snaps]


@router.post("/training", status_code=status.HTTP_202_ACCEPTED)
def start_training(request: Request, who: Reviewer) -> TrainingRunOut:
    """Retrain now, in the background; 409 if a run is already running."""
    run = trainer_of(request).start(trigger="manual", requested_by=who.user.username)
    return TrainingRunOut.of(run)


@router.get("/training")
def get_training(request: Request, who: Annotator) -> TrainingOut:
    """Training state, progress of the current run, and the last runs' outcomes."""
    return training_state(workspace_of(request))


@router.get("/dashboard")
def dashboard(request: Request, who: Annotator) -> DashboardOut:
    """Labels over time, learning curve, class balance, model, training, auto-label precision."""
    ws = workspace_of(request)
    pid = ws.project.id
    return DashboardOut(
        progress=ws.store.stats.progress(pid),
        labels_over_time=ws.store.stats.labels_over_time(pid),
        learning_curve=learning_curve(ws.store.rounds(pid)),
        class_balance=ws.store.stats.class_balance(pid),
        training=training_state(ws),
        auto_labels=auto_label_summary(
            ws.store.leases.review_outcomes(pid), ws.config.auto_label_threshold
        ),
        annotators=[
            row
            for row in ws.store.stats.annotators(pid)
            if _sees_everyone(ws, who) or row["annotator"] == who.user.username
        ],
    )


def _sees_everyone(ws: Workspace, who: Caller) -> bool:
    """Reviewers and admins see every person's statistics; annotators their own, unless
    the project's ``team.annotators_see_everyone`` opens them."""
    return who.user.can("reviewer") or ws.config.team.annotators_see_everyone


@router.get("/project/settings/schema")
def settings_schema(request: Request, who: Admin) -> list[dict[str, Any]]:
    """Every setting with its value, default, meaning, bounds and when a change applies (admin)."""
    return describe_settings(workspace_of(request).config)


@router.get("/project/instructions")
def instructions(request: Request, who: Annotator) -> dict[str, str]:
    """The labeling guideline: its Markdown, and HTML rendered with raw HTML escaped."""
    from markdown_it import MarkdownIt  # rich's Markdown parser: no extra dependency

    text = workspace_of(request).config.instructions
    html = MarkdownIt("commonmark", {"html": False}).render(text)
    return {"markdown": text, "html": html}


@router.get("/export")
def export(
    request: Request,
    who: Annotator,
    fmt: Annotated[
        str,
        Query(
            alias="format",
            max_length=64,
            description="csv, json, imagefolder, or a detection format: coco, yolo, voc, "
            "labelstudio or an installed plug-in's",
        ),
    ] = "csv",
    snapshot: QueryId = None,
    include_auto: bool = False,
) -> Response:
    """Current labels, or a snapshot's, as CSV, JSON or an ImageFolder zip.

    Labels people made or checked; ``include_auto=true`` adds unchecked auto labels.

    A reviewer's or admin's right; annotators too where the project's
    ``team.annotators_export`` allows it.
    """
    ws = workspace_of(request)
    if not (who.user.can("reviewer") or ws.config.team.annotators_export):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "exporting is a reviewer's right in this project (setting team.annotators_export)",
        )
    detection = ws.config.task == "detection"
    if fmt not in _PLAIN_EXPORTS and fmt not in DETECTION_FORMATS:
        names = ", ".join((*_PLAIN_EXPORTS, *DETECTION_FORMATS.names()))
        raise unprocessable(f"format must be one of {names}; got {fmt!r}", "query", "format")
    if fmt in DETECTION_FORMATS:
        if not detection:
            raise unprocessable(
                f"{fmt} is a detection format; this project exports csv, json or imagefolder",
                "query",
                "format",
            )
        from labelloop.loop.detection_io import export_detections_zip

        data = export_detections_zip(ws, fmt, snapshot=snapshot, include_auto=include_auto)
        name = f"{ws.config.name}-{fmt}-{'current' if snapshot is None else f'snapshot-{snapshot}'}"
        return Response(
            data,
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}.zip"'},
        )
    if fmt == "imagefolder" and detection:
        raise unprocessable(
            "an ImageFolder tree holds one class per image; for boxes use coco, yolo, voc or "
            "labelstudio",
            "query",
            "format",
        )
    data = export_bytes(ws, cast(ExportFormat, fmt), snapshot, include_auto=include_auto)
    media = {"csv": "text/csv", "json": "application/json", "imagefolder": "application/zip"}
    suffix = {"csv": "csv", "json": "json", "imagefolder": "zip"}[fmt]
    name = f"{ws.config.name}-{'current' if snapshot is None else f'snapshot-{snapshot}'}"
    return Response(
        data,
        media_type=media[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{suffix}"'},
    )


@router.post("/items", status_code=status.HTTP_201_CREATED)
def upload(file: UploadFile, request: Request, who: Admin) -> ItemOut:
    """Add an image to the pool (admin): PNG, JPEG or WebP, at most the server's upload limit."""
    limit: int = request.app.state.max_upload_bytes
    ws = workspace_of(request)
    with tempfile.TemporaryDirectory() as tmp:
        suffix = Path(file.filename or "").suffix.lower()[:10]
        path = Path(tmp) / f"upload{suffix}"
        size = 0
        with path.open("wb") as out:
            while chunk := file.file.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise HTTPException(
                        status.HTTP_413_CONTENT_TOO_LARGE,
                        f"the file is larger than the upload limit of {limit} bytes",
                    )
                out.write(chunk)
        try:
            item, _new = ws.add_file(path, Path(file.filename or "upload").name)
        except ImageFileError as exc:
            raise unprocessable(f"not a usable image: {exc.reason}", "body", "file") from exc
    return ItemOut.of(item)
