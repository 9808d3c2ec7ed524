"""Serving: the labeling server, its training workers, the demo, and Label Studio."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from labelloop.cli._console import ProjectDir, console, err, friendly, progress_bar, styled
from labelloop.loop.workspace import Workspace

if TYPE_CHECKING:
    from labelloop.server.routes_labelstudio import LabelStudioOptions


Host = Annotated[str, typer.Option(help="Interface to listen on.")]
Port = Annotated[int, typer.Option(help="Port to listen on.")]


def _check_port(host: str, port: int) -> None:
    """Fail now, before any work, when the address cannot be listened on."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ValueError(f"--host {host!r} is not an address this machine has ({exc})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ValueError(
                f"cannot listen on {host}:{port} ({exc.strerror}); another program (or "
                "another labelloop) is using it: pick a free one with --port"
            ) from None


def _serve(
    project_dir: Path,
    host: str,
    port: int,
    secure_cookies: bool,
    *,
    workers: int = 1,
    external_training: bool = False,
    label_studio: LabelStudioOptions | None = None,
) -> None:
    import uvicorn

    if workers > 1:
        # Each server process builds its own app from the environment.
        os.environ["LABELLOOP_PROJECT"] = str(project_dir.resolve())
        os.environ["LABELLOOP_SECURE_COOKIES"] = "1" if secure_cookies else "0"
        os.environ["LABELLOOP_EXTERNAL_TRAINING"] = "1" if external_training else "0"
        if label_studio is not None:
            os.environ["LABELLOOP_LS_PREFIX"] = label_studio.prefix
            if label_studio.files_root is not None:
                os.environ["LABELLOOP_LS_FILES_ROOT"] = str(label_studio.files_root)
        uvicorn.run(
            "labelloop.server.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
        )
        return
    from labelloop.server.app import create_app

    app_ = create_app(
        project_dir,
        secure_cookies=secure_cookies,
        external_training=external_training,
        label_studio=label_studio,
    )
    uvicorn.run(app_, host=host, port=port, log_level="warning")


@friendly
def serve(
    project_dir: ProjectDir,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    secure_cookies: Annotated[
        bool, typer.Option(help="Mark session cookies Secure (when served over HTTPS).")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes (more than 1 needs PostgreSQL; training then runs in "
            "'labelloop worker' processes).",
        ),
    ] = 1,
    training: Annotated[
        str,
        typer.Option(
            help="'inline': this process trains in the background; 'worker': queue runs for "
            "'labelloop worker PROJECT' (the only choice with --workers above 1).",
        ),
    ] = "",
    label_studio: Annotated[
        bool,
        typer.Option(
            "--label-studio",
            help="Also serve Label Studio's ML-backend endpoints (health, setup, predict, "
            "webhook, train) under --label-studio-prefix; the shared secret comes from "
            "the LABELLOOP_LS_SECRET environment variable.",
        ),
    ] = False,
    label_studio_prefix: Annotated[
        str, typer.Option(help="Path of the Label Studio endpoints ('' for the root).")
    ] = "/ls",
    label_studio_files: Annotated[
        Path | None,
        typer.Option(
            help="Label Studio's LOCAL_FILES_DOCUMENT_ROOT: local-files images are read "
            "there instead of fetched."
        ),
    ] = None,
) -> None:
    """Run the labeling server: API, annotator UI, dashboard, background retraining."""
    _check_port(host, port)
    ls_options = None
    if label_studio:
        ls_options = _label_studio_options(label_studio_prefix, label_studio_files)
    mode = training or ("worker" if workers > 1 else "inline")
    if mode not in ("inline", "worker"):
        raise ValueError(f"--training must be inline or worker, not {training!r}")
    with Workspace.open(project_dir) as ws:
        on_sqlite = ws.store.url.startswith("sqlite")
        has_accounts = bool(ws.store.people.users())
    if not has_accounts:
        err.print(
            styled(
                "[yellow]warning:[/yellow] nobody can sign in yet: add an account with "
                "'labelloop user add {} NAME --role admin'",
                project_dir,
            )
        )
    if workers > 1 and on_sqlite:
        raise ValueError(
            "--workers above 1 needs a PostgreSQL database (SQLite takes one writer at a "
            "time); create the project with 'labelloop init --database-url postgresql+psycopg://…'"
        )
    if workers > 1 and mode == "inline":
        raise ValueError("with --workers above 1, web processes never train: use --training worker")
    console.print(
        f"labelloop serving {project_dir} at http://{host}:{port}/"
        + (f" with {workers} processes" if workers > 1 else "")
    )
    if mode == "worker":
        console.print(f"training runs in: labelloop worker {project_dir}")
    if ls_options is not None:
        console.print(f"Label Studio ML backend at http://{host}:{port}{ls_options.prefix}")
    _serve(
        project_dir,
        host,
        port,
        secure_cookies,
        workers=workers,
        external_training=mode == "worker",
        label_studio=ls_options,
    )


def _label_studio_options(prefix: str, files_root: Path | None) -> LabelStudioOptions:
    from labelloop.server.routes_labelstudio import LabelStudioOptions

    prefix = prefix.rstrip("/")
    if prefix and not prefix.startswith("/"):
        raise ValueError(f"--label-studio-prefix must start with '/', got {prefix!r}")
    secret = os.environ.get("LABELLOOP_LS_SECRET") or None
    if secret is None:
        err.print(
            "warning: the Label Studio endpoints run without a shared secret: anyone "
            "who reaches this port can write labels through them; set LABELLOOP_LS_SECRET"
        )
    return LabelStudioOptions(prefix=prefix, secret=secret, files_root=files_root)


@friendly
def ls_connect(
    project_dir: ProjectDir,
    url: Annotated[str, typer.Option(help="Label Studio's base URL, e.g. http://localhost:8080.")],
    ls_project: Annotated[int, typer.Option(min=1, help="The Label Studio project id.")],
    backend_url: Annotated[
        str,
        typer.Option(
            help="Where Label Studio reaches 'labelloop serve --label-studio' "
            "(e.g. http://localhost:8000/ls)."
        ),
    ],
    token_env: Annotated[
        str, typer.Option(help="Environment variable holding a Label Studio API token.")
    ] = "LABEL_STUDIO_TOKEN",
    files_root: Annotated[
        Path | None,
        typer.Option(help="Label Studio's LOCAL_FILES_DOCUMENT_ROOT, to read local files."),
    ] = None,
) -> None:
    """Connect a Label Studio project: labelloop becomes its ML backend and orders its queue.

    Checks the label config against this project, links every task to a pool
    image (importing new ones), adds the running 'labelloop serve
    --label-studio' as the project's ML backend (with LABELLOOP_LS_SECRET as
    basic auth, also on its webhook), sets uncertainty sampling, and starts
    a round whose ranking Label Studio then serves. Safe to run again (to
    link tasks added since).
    """
    from labelloop.loop.labelstudio import LabelStudioClient, connect

    token = os.environ.get(token_env)
    if not token:
        raise ValueError(
            f"set {token_env} to a Label Studio API token (Account & Settings, or the "
            "LABEL_STUDIO_USER_TOKEN it was started with)"
        )
    secret = os.environ.get("LABELLOOP_LS_SECRET") or None
    with Workspace.open(project_dir) as ws, progress_bar() as progress:
        task = progress.add_task("linking tasks", total=None)
        report = connect(
            ws,
            LabelStudioClient(url, token),
            ls_project,
            backend_url,
            secret=secret,
            files_root=files_root,
            on_task=lambda: progress.advance(task),
        )
    console.print(f"linked {report.linked} Label Studio tasks to pool images")
    for problem in report.failed[:20]:
        err.print(f"  skipped {problem}")
    console.print(
        f"ML backend {report.backend_id} set; sampling: uncertainty; "
        f"{report.webhooks_secured} webhook(s) carry the shared secret"
    )
    console.print(f"training: {report.training}")
    if secret is None:
        err.print("warning: no LABELLOOP_LS_SECRET: the backend accepts anyone who reaches it")


@friendly
def worker(
    project_dir: ProjectDir,
    once: Annotated[
        bool, typer.Option("--once", help="Run the queued training run, if any, and exit.")
    ] = False,
    poll: Annotated[
        float, typer.Option(min=0.05, max=600, help="Seconds between looks for a queued run.")
    ] = 1.0,
) -> None:
    """Run queued training runs for a server started with --training worker (or --workers N)."""
    import signal
    import threading

    from labelloop.loop.worker import run_worker, worker_name

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    console.print(f"labelloop worker {worker_name()} on {project_dir}; waiting for training runs")

    def report(run_id: int, status: str) -> None:
        console.print(f"training run {run_id}: {status}")

    ran = run_worker(project_dir, poll_seconds=poll, once=once, stop=stop, on_run=report)
    console.print(f"worker stopped after {ran} run(s)")


@friendly
def demo(
    project_dir: Annotated[Path, typer.Argument(help="Demo project folder.")] = Path(
        "demo-project"
    ),
    host: Host = "127.0.0.1",
    port: Port = 8000,
    task_type: Annotated[
        str,
        typer.Option("--task", help="classification (digits) or detection (digits on canvases)."),
    ] = "classification",
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Build the project and exit without serving.")
    ] = False,
) -> None:
    """Build a bundled demo project (once) and serve it."""
    from labelloop.loop.demo import build_demo_project, build_detection_demo_project
    from labelloop.server.security import hash_password

    if task_type not in ("classification", "detection"):
        raise ValueError(f"--task must be classification or detection, not {task_type!r}")
    if not no_serve:
        _check_port(host, port)
    build = build_detection_demo_project if task_type == "detection" else build_demo_project
    built, user, password = build(project_dir, hash_password)
    with built as ws:
        progress = ws.store.stats.progress(ws.project.id)
    what = "images with digits to box" if task_type == "detection" else "digits"
    console.print(
        f"demo project {project_dir}: {progress['items']} {what}, {progress['labeled']} labeled"
    )
    if no_serve:
        return
    console.print(
        styled("open http://{}:{}/ and log in as [bold]{}[/bold] / {}", host, port, user, password)
    )
    _serve(project_dir, host, port, False)
