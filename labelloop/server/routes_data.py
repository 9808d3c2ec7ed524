"""The data browser: pages of items filtered and sorted in SQL, and their thumbnails.

Browsing every label and image is the same right as exporting them: a
reviewer's or an admin's, and annotators' where ``team.annotators_export``
allows it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, Field

from labelloop.data.arrays import thumbnail_jpeg
from labelloop.data.images import ImageFileError
from labelloop.loop.workspace import Workspace
from labelloop.server.deps import workspace_of
from labelloop.server.errors import unprocessable
from labelloop.server.schemas import FromRecord, ItemOut, PathId
from labelloop.server.security import Caller, require
from labelloop.store import FLAG_KINDS, ORIGINS, SORT_KEYS, FlagKind, ItemQuery, Origin, SortKey
from labelloop.store.catalog import Split

router = APIRouter(prefix="/api", tags=["data"])
Annotator = Annotated[Caller, Depends(require("annotator"))]

THUMBNAIL_SIZES = (96, 160, 256)
"""Longest sides a thumbnail may be asked at (each is cached once made)."""

MAX_PAGE = 200
"""Most items one page holds."""


class BrowseRowOut(FromRecord):
    """One item of a browser page."""

    item: ItemOut
    thumbnail_url: str
    value: Any = Field(description="the current label (None when unlabeled)")
    origin: Origin
    annotator: str | None
    updated_at: datetime = Field(description="last labeled, or imported if never labeled")
    confidence: float | None = Field(description="the model's confidence in its guess")
    uncertainty: float | None = Field(description="the latest ranking's score")
    flags: list[str] = Field(description="open monitor flags")


class BrowsePageOut(BaseModel):
    """A page of items and how many match in all."""

    items: list[BrowseRowOut]
    total: int
    offset: int
    limit: int


class FacetsOut(BaseModel):
    """What the browser's filters offer."""

    classes: list[str]
    origins: list[str]
    annotators: list[str]
    flags: list[str]
    sorts: list[str]


def _may_browse(ws: Workspace, who: Caller) -> None:
    if not (who.user.can("reviewer") or ws.config.team.annotators_export):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "browsing every item is a reviewer's right in this project "
            "(setting team.annotators_export)",
        )


@router.get("/items")
def browse(
    request: Request,
    who: Annotator,
    label: Annotated[str | None, Query(max_length=200)] = None,
    origin: Origin | None = None,
    annotator: Annotated[str | None, Query(max_length=200)] = None,
    split: Split | None = None,
    flag: FlagKind | None = None,
    min_confidence: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
    max_confidence: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    name: Annotated[str | None, Query(max_length=200)] = None,
    sort: SortKey = "id",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> BrowsePageOut:
    """A page of the project's items, filtered and sorted (see the data browser)."""
    ws = workspace_of(request)
    _may_browse(ws, who)
    page = ws.store.catalog.page(
        ws.project.id,
        ItemQuery(
            label=label,
            origin=origin,
            annotator=annotator,
            split=split,
            flag=flag,
            min_confidence=min_confidence,
            max_confidence=max_confidence,
            since=since,
            until=until,
            name=name,
            sort=sort,
            descending=order == "desc",
            offset=offset,
            limit=limit,
        ),
    )
    return BrowsePageOut(
        items=[
            BrowseRowOut.of(row, thumbnail_url=f"/api/items/{row.item.id}/thumbnail")
            for row in page.rows
        ],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )


@router.get("/item-facets")
def facets(request: Request, who: Annotator) -> FacetsOut:
    """The values the browser's filters offer: classes, origins, annotators, flags, sorts."""
    ws = workspace_of(request)
    _may_browse(ws, who)
    return FacetsOut(
        classes=list(ws.config.classes),
        origins=list(ORIGINS),
        annotators=ws.store.catalog.annotators(ws.project.id),
        flags=list(FLAG_KINDS),
        sorts=list(SORT_KEYS),
    )


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@router.get(
    "/items/{item_id}/thumbnail",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def thumbnail(
    item_id: PathId,
    request: Request,
    who: Annotator,
    size: Annotated[int, Query(description=f"longest side, one of {THUMBNAIL_SIZES}")] = 160,
) -> Response:
    """The item's image as a small upright JPEG (made once per size, then cached)."""
    if size not in THUMBNAIL_SIZES:
        raise unprocessable(
            f"size must be one of {list(THUMBNAIL_SIZES)}, got {size}", "query", "size"
        )
    ws = workspace_of(request)
    item = ws.store.item(ws.project.id, item_id)
    cached = ws.root / "cache" / "thumbnails" / str(size) / f"{item.sha256}.jpg"
    headers = {"Cache-Control": "private, max-age=86400"}
    if cached.is_file():
        return Response(cached.read_bytes(), media_type="image/jpeg", headers=headers)
    try:
        data = thumbnail_jpeg(ws.image_path(item), size)
    except (ImageFileError, FileNotFoundError) as exc:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"item {item_id}'s image cannot be read: {exc}"
        ) from exc
    # A full disk costs the cache, not the answer.
    with contextlib.suppress(OSError):
        _write_atomically(cached, data)
    return Response(data, media_type="image/jpeg", headers=headers)
