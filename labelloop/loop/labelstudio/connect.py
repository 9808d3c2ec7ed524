"""``labelloop ls-connect``: make a running labelloop the ML backend of a Label Studio project."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelloop.loop.labelstudio.backend import LabelStudioBridge
from labelloop.loop.labelstudio.client import Connection, LabelStudioClient, basic_auth_header
from labelloop.loop.labelstudio.config import parse_label_config
from labelloop.loop.labelstudio.errors import LabelStudioError
from labelloop.loop.workspace import Workspace

__all__ = ["ConnectReport", "connect"]


@dataclass
class ConnectReport:
    """What :func:`connect` did."""

    linked: int = 0
    failed: list[str] = field(default_factory=list)
    backend_id: int | None = None
    webhooks_secured: int = 0
    training: dict[str, Any] | None = None


def connect(
    ws: Workspace,
    client: LabelStudioClient,
    ls_project: int,
    backend_url: str,
    *,
    secret: str | None = None,
    files_root: Path | None = None,
    on_task: Callable[[], None] | None = None,
) -> ConnectReport:
    """Make a running ``labelloop serve --label-studio`` the ML backend of a Label Studio project.

    Steps (each safe to repeat): check the project's label config against
    this project; save the connection; link every task to a pool item
    (importing new images); add (or update) the ML backend with basic auth
    when ``secret`` is set and put the same header on its webhook; set the
    project's sampling to uncertainty; ask the backend to train, so that the
    round's ranking reaches Label Studio as predictions.

    Raises:
        LabelStudioError: Label Studio refused a step, or the configs differ.
    """
    project = client.request("GET", f"/api/projects/{ls_project}")
    config_xml = str(project.get("label_config", ""))
    parse_label_config(config_xml).check(ws.config.label_schema())
    Connection(client.url, client.token, ls_project, config_xml).save(ws.root)
    report = ConnectReport()
    bridge = LabelStudioBridge(ws, files_root=files_root)
    for task in client.tasks(ls_project):
        try:
            bridge.item_for_task(task)
            report.linked += 1
        except LabelStudioError as exc:
            report.failed.append(f"task {task.get('id')}: {exc}")
        if on_task is not None:
            on_task()
    backend_url = backend_url.rstrip("/")
    auth: dict[str, object] = {"auth_method": "NONE"}
    if secret:
        auth = {
            "auth_method": "BASIC_AUTH",
            "basic_auth_user": "labelloop",
            "basic_auth_pass": secret,
        }
    backends = client.request("GET", f"/api/ml?project={ls_project}") or []
    mine = [b for b in backends if str(b.get("url", "")).rstrip("/") == backend_url]
    if mine:
        backend = client.request("PATCH", f"/api/ml/{mine[0]['id']}", auth)
    else:
        backend = client.request(
            "POST",
            "/api/ml",
            {"url": backend_url, "project": ls_project, "title": "labelloop"}
            | auth
            | {"is_interactive": False},
        )
    report.backend_id = int(backend["id"])
    if backend.get("state") not in (None, "CO", "TR", "PR"):
        why = backend.get("error_message") or (
            "is labelloop serve --label-studio running there, with the same LABELLOOP_LS_SECRET?"
        )
        raise LabelStudioError(
            f"Label Studio cannot use the backend at {backend_url} "
            f"(state {backend.get('state')}): {why}"
        )
    if secret:
        header = basic_auth_header("labelloop", secret)
        for hook in client.request("GET", f"/api/webhooks?project={ls_project}") or []:
            if str(hook.get("url", "")).rstrip("/") == backend_url + "/webhook":
                headers = dict(hook.get("headers") or {}) | {"Authorization": header}
                client.request(
                    "PATCH", f"/api/webhooks/{hook['id']}", {"url": hook["url"], "headers": headers}
                )
                report.webhooks_secured += 1
    client.request("PATCH", f"/api/projects/{ls_project}", {"sampling": "Uncertainty sampling"})
    report.training = _post_train(backend_url, secret, client.timeout)
    return report


def _post_train(backend_url: str, secret: str | None, timeout: float) -> dict[str, Any]:
    """Ask the labelloop backend to start a round (its legacy ``/train``)."""
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["Authorization"] = basic_auth_header("labelloop", secret)
    req = urllib.request.Request(backend_url + "/train", data=b"{}", method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            result: dict[str, Any] = json.loads(answer.read())
            return result
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise LabelStudioError(f"cannot ask {backend_url} to train: {exc}") from None
