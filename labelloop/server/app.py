"""The labeling server: the HTTP API, the annotator UI, and background retraining."""

from __future__ import annotations

import functools
import gc
import html
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from labelloop.data.labels import InvalidLabelError
from labelloop.errors import LabelloopError, storage_problem
from labelloop.loop import Workspace
from labelloop.loop.labelstudio import LabelStudioBridge
from labelloop.server import (
    routes_auth,
    routes_data,
    routes_labeling,
    routes_monitor,
    routes_project,
)
from labelloop.server.errors import validation_detail
from labelloop.server.limits import BodyLimit
from labelloop.server.routes_labelstudio import LabelStudioOptions, label_studio_router
from labelloop.server.throttle import LoginThrottle
from labelloop.server.trainer import Trainer
from labelloop.store import (
    LabelConflictError,
    LastAdminError,
    ProjectNotFoundError,
    TokenNotFoundError,
    TrainingBusyError,
    UnknownItemError,
    UserExistsError,
    UserNotFoundError,
)

__all__ = ["PROCESS_HEADER", "app_from_env", "create_app"]

PROCESS_HEADER = "X-Labelloop-Process"
"""Response header naming the server process that answered (several may serve one port)."""

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
"""Sent with every answer: no MIME sniffing, no framing, no referrer leaving the server."""

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
"""Content-Security-Policy of the HTML pages: only the server's own scripts run."""

SETTINGS_TTL = 1.0
"""Seconds a process serves its copy of the project's settings before re-reading them
(another process, or ``labelloop config``, may have changed them)."""

STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Page:
    """One HTML page: its body in ``static/pages/<name>.html``, its script ``static/<name>.js``.

    Every page is that body inside the one layout (``static/layout.html``):
    the same head, style sheet and, but for the login page, the app header.
    A line ``{{part:<name>}}`` of a body stands for ``static/parts/<name>.html``,
    a fragment several pages share (the image stage's bar, the model card),
    written there with its indentation.
    """

    name: str
    title: str
    header: bool = True

    @functools.cache  # noqa: B019 - pages are few, fixed and immortal
    def render(self) -> str:
        """The whole page, built once."""
        layout = _read(STATIC / "layout.html")
        parts = {
            "{{title}}": html.escape(self.title),
            "{{script}}": f"{self.name}.js",
            "{{header}}": _APP_HEADER if self.header else "",
            "{{body}}": _PART.sub(_part, _read(STATIC / "pages" / f"{self.name}.html")),
        }
        for marker, value in parts.items():
            layout = layout.replace(marker, value)
        return layout


_PART = re.compile(r"^[ \t]*\{\{part:([\w-]+)\}\}\n", re.MULTILINE)
"""A line of a page body that stands for a shared fragment, ``static/parts/<name>.html``."""


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _part(marker: re.Match[str]) -> str:
    return _read(STATIC / "parts" / f"{marker[1]}.html")


_APP_HEADER = (
    '  <header id="app-header" class="app-header"><div class="brand">'
    '<span class="brand-mark">labelloop</span></div></header>\n'
)

PAGES = {
    "/login": Page("login", "Sign in · labelloop", header=False),
    "/label": Page("label", "Label"),
    "/review": Page("review", "Review"),
    "/dashboard": Page("dashboard", "Dashboard"),
    "/history": Page("history", "Item history"),
    "/settings": Page("settings", "Settings"),
    "/users": Page("users", "People"),
    "/data": Page("data", "Data"),
}
# Detection projects label and review boxes in their own editor.
DETECTION_PAGES = {"/label": Page("detect", "Boxes"), "/review": Page("detect", "Boxes")}


def _error(code: int) -> object:
    def handler(_request: Request, exc: Exception) -> JSONResponse:
        # A 422 has the declared validation-error shape; other codes say it in a sentence.
        detail = validation_detail(str(exc)) if code == 422 else str(exc)
        body: dict[str, object] = {"detail": detail}
        if isinstance(exc, LabelConflictError):
            body |= {"item_id": exc.item_id, "current_event_id": exc.current_event_id}
        return JSONResponse(body, status_code=code)

    return handler


def _own_error(code: int) -> object:
    """``_error(code)`` for labelloop's own errors of a broad built-in class only.

    A labelloop error that is a ``LookupError`` or a ``ValueError`` says
    what the caller got wrong; a bare one from inside a library or our own
    code is a bug, and its message is not for clients: it goes on, as a 500
    with the traceback in the server's log.
    """
    answer = _error(code)

    def handler(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, LabelloopError):
            raise exc
        return answer(request, exc)  # type: ignore[operator,no-any-return]

    return handler


def create_app(
    root: Path,
    *,
    secure_cookies: bool = False,
    max_upload_bytes: int = 20 * 1024 * 1024,
    start_training: bool = True,
    external_training: bool = False,
    label_studio: LabelStudioOptions | None = None,
) -> FastAPI:
    """Build the server for one project folder.

    Args:
        root: the project folder (see ``labelloop init``).
        secure_cookies: mark the session cookie Secure; set this when the
            server is reached over HTTPS (e.g. behind a TLS proxy).
        max_upload_bytes: the largest image an upload may be.
        start_training: retrain at start-up if labels arrived since the last run.
        external_training: never train in this process: queue runs for
            ``labelloop worker`` processes (several server processes).
        label_studio: mount Label Studio's ML-backend endpoints
            (:mod:`labelloop.server.routes_labelstudio`); None leaves them out.
    """
    ws = Workspace.open(root)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start_training:
            app.state.trainer.maybe_start(startup=True)
        # torch, scikit-learn and friends leave ~500k long-lived objects; a full
        # collection walking them stalls every request for hundreds of ms.
        gc.collect()
        gc.freeze()
        yield
        app.state.trainer.shutdown()
        ws.close()

    app = FastAPI(
        title="labelloop",
        summary="Active learning for computer-vision labeling",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served below from local files: it works without internet
        redoc_url=None,
    )
    app.state.ws = ws
    app.state.trainer = Trainer(root, ws, external=external_training)
    app.state.secure_cookies = secure_cookies
    app.state.max_upload_bytes = max_upload_bytes
    app.state.login_throttle = LoginThrottle()
    if label_studio is not None:
        app.state.label_studio = LabelStudioBridge(ws, files_root=label_studio.files_root)
        app.include_router(label_studio_router(label_studio))
    for router in (
        routes_auth.router,
        routes_labeling.router,
        routes_project.router,
        routes_monitor.router,
        routes_data.router,
    ):
        app.include_router(router)
    handlers: list[tuple[type[Exception], int]] = [
        (LabelConflictError, status.HTTP_409_CONFLICT),
        (TrainingBusyError, status.HTTP_409_CONFLICT),
        (UserExistsError, status.HTTP_409_CONFLICT),
        (UnknownItemError, status.HTTP_404_NOT_FOUND),
        (UserNotFoundError, status.HTTP_404_NOT_FOUND),
        (TokenNotFoundError, status.HTTP_404_NOT_FOUND),
        (LastAdminError, status.HTTP_409_CONFLICT),
        (ProjectNotFoundError, status.HTTP_404_NOT_FOUND),
        (InvalidLabelError, status.HTTP_422_UNPROCESSABLE_CONTENT),
    ]
    for exc_type, code in handlers:
        app.add_exception_handler(exc_type, _error(code))  # type: ignore[arg-type]
    app.add_exception_handler(LookupError, _own_error(status.HTTP_404_NOT_FOUND))  # type: ignore[arg-type]
    app.add_exception_handler(ValueError, _own_error(status.HTTP_422_UNPROCESSABLE_CONTENT))  # type: ignore[arg-type]

    read_at = [time.monotonic()]
    process = str(os.getpid())

    @app.middleware("http")
    async def fresh_settings(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        now = time.monotonic()
        if now - read_at[0] > SETTINGS_TTL:
            read_at[0] = now
            ws.refresh()
        response = await call_next(request)
        response.headers[PROCESS_HEADER] = process
        response.headers.update(SECURITY_HEADERS)
        page = response.headers.get("content-type", "").startswith("text/html")
        if page and not request.url.path.startswith("/docs"):
            response.headers["Content-Security-Policy"] = PAGE_POLICY
        return response

    @app.exception_handler(Exception)
    async def storage(_request: Request, exc: Exception) -> JSONResponse:
        problem = storage_problem(exc)
        if problem is None:
            raise exc
        return JSONResponse(
            {"detail": f"{problem}: the server cannot save anything until space is freed"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "60"},
        )

    @app.exception_handler(RequestValidationError)
    async def malformed(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/label")

    def page_for(route: str) -> Page:
        if ws.config.task == "detection":
            return DETECTION_PAGES.get(route, PAGES[route])
        return PAGES[route]

    for route in PAGES:
        app.add_api_route(
            route,
            (lambda route=route: HTMLResponse(page_for(route).render())),
            include_in_schema=False,
            methods=["GET"],
        )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """The interactive API reference, from Swagger UI files installed with labelloop."""
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="labelloop API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )

    app.add_middleware(
        BodyLimit,
        upload_paths=frozenset({"/api/items"}),
        upload_limit=max_upload_bytes,
    )
    return app


def app_from_env() -> FastAPI:
    """The app of ``labelloop serve --workers N``: each server process builds its own.

    Reads ``LABELLOOP_PROJECT`` (the folder), ``LABELLOOP_SECURE_COOKIES`` and
    ``LABELLOOP_EXTERNAL_TRAINING`` (``1`` or ``0``), set by the command, and
    with ``LABELLOOP_LS_PREFIX`` set, the Label Studio endpoints
    (``LABELLOOP_LS_SECRET``, ``LABELLOOP_LS_FILES_ROOT``).
    """
    prefix = os.environ.get("LABELLOOP_LS_PREFIX")
    files_root = os.environ.get("LABELLOOP_LS_FILES_ROOT")
    label_studio = (
        None
        if prefix is None
        else LabelStudioOptions(
            prefix=prefix,
            secret=os.environ.get("LABELLOOP_LS_SECRET") or None,
            files_root=Path(files_root) if files_root else None,
        )
    )
    return create_app(
        Path(os.environ["LABELLOOP_PROJECT"]),
        secure_cookies=os.environ.get("LABELLOOP_SECURE_COOKIES") == "1",
        external_training=os.environ.get("LABELLOOP_EXTERNAL_TRAINING", "1") == "1",
        label_studio=label_studio,
    )
