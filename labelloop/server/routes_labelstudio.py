"""Label Studio's ML-backend endpoints, mounted by ``labelloop serve --label-studio``.

Label Studio calls ``GET /health``, ``POST /setup``, ``POST /predict`` and
``POST /webhook`` (``/train`` is the legacy training call) under the URL it
was given for the backend, here ``http://HOST:PORT`` + the prefix (``/ls``
by default). What each does is in :mod:`labelloop.loop.labelstudio`.

A shared secret, when set, is required on every one of them, webhooks
included: as HTTP basic auth (any user name, the secret as password: what
Label Studio's "Basic auth" backend setting sends; ``labelloop ls-connect``
puts the same header on the project's webhook), as ``Authorization: Bearer
SECRET``, or as an ``X-Labelloop-Secret`` header.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request, status

from labelloop.loop.labelstudio import LabelStudioBridge
from labelloop.server.deps import trainer_of, workspace_of
from labelloop.store import TrainingBusyError

__all__ = ["LabelStudioOptions", "label_studio_router"]

log = logging.getLogger("labelloop.server")

JsonBody = Annotated[dict[str, Any], Body()]


@dataclass(frozen=True)
class LabelStudioOptions:
    """How the ML-backend endpoints are served.

    Attributes:
        prefix: the path they live under (``""`` for the root, ``/ls`` by default).
        secret: the shared secret callers must present; None accepts anyone
            (the server warns at start-up).
        files_root: Label Studio's local-files folder, read directly.
    """

    prefix: str = "/ls"
    secret: str | None = None
    files_root: Path | None = None


def _presented(request: Request) -> str | None:
    """The secret a request carries, in any of the accepted headers."""
    header = request.headers.get("x-labelloop-secret")
    if header:
        return header
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2]
    return None


def _bridge(request: Request) -> LabelStudioBridge:
    bridge: LabelStudioBridge = request.app.state.label_studio
    return bridge


def label_studio_router(options: LabelStudioOptions) -> APIRouter:
    """The ML-backend routes, behind the shared secret when one is set."""

    def check_secret(request: Request) -> None:
        if options.secret is None:
            return
        given = _presented(request)
        if given is None or not hmac.compare_digest(given.encode(), options.secret.encode()):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "the Label Studio backend needs the shared secret (basic auth password, "
                "Bearer token or X-Labelloop-Secret header)",
                headers={"WWW-Authenticate": 'Basic realm="labelloop"'},
            )

    router = APIRouter(
        prefix=options.prefix, tags=["label studio"], dependencies=[Depends(check_secret)]
    )

    @router.get("/health")
    def health(request: Request) -> dict[str, object]:
        """Label Studio checks the backend is up."""
        return _bridge(request).health()

    @router.post("/setup")
    def setup(body: JsonBody, request: Request) -> dict[str, object]:
        """Label Studio connects a project: its label config must match this project."""
        return _bridge(request).setup(body)

    @router.post("/predict")
    def predict(body: JsonBody, request: Request) -> dict[str, object]:
        """One prediction per task; its score orders Label Studio's queue by the ranking."""
        return _bridge(request).predict(body)

    def start_training(request: Request) -> dict[str, object]:
        try:
            run = trainer_of(request).start(trigger="labelstudio", requested_by="labelstudio")
        except TrainingBusyError:
            return {"status": "busy", "detail": "a training run is already running"}
        return {"status": "ok", "job": run.id}

    @router.post("/webhook")
    def webhook(body: JsonBody, request: Request) -> dict[str, object]:
        """Label Studio's project events: annotations become label events."""
        outcome = _bridge(request).webhook(body)
        if outcome.pop("train", False):
            outcome["training"] = start_training(request)
        elif outcome.get("recorded") or outcome.get("undone"):
            trainer_of(request).maybe_start()
        log.info("label studio %s: %s", outcome.get("action"), outcome)
        return outcome

    @router.post("/train")
    def train(request: Request, body: Annotated[dict[str, Any] | None, Body()] = None) -> Any:
        """Legacy training call (and what ``labelloop ls-connect`` uses): start a round now."""
        workspace_of(request)  # the project must be open
        return start_training(request)

    return router
