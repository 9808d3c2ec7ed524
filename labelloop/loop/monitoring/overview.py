"""The monitor's state of a project at a glance, for the CLI, the API and the dashboard."""

from __future__ import annotations

from typing import Any

from labelloop.loop.workspace import Workspace
from labelloop.store import FLAG_KINDS, REPORT_KINDS

__all__ = ["monitor_overview"]


def monitor_overview(ws: Workspace) -> dict[str, Any]:
    """The latest report of each kind, and the open flags, as one JSON-ready mapping."""
    pid = ws.project.id
    latest: dict[str, dict[str, Any] | None] = {}
    for kind in REPORT_KINDS:
        report = ws.store.monitor.latest(pid, kind)
        latest[kind] = (
            None
            if report is None
            else {
                "id": report.id,
                "alert": report.alert,
                "summary": report.summary,
                "created_at": report.created_at.isoformat(),
                "body": report.body,
            }
        )
    flags = {kind: len(ws.store.monitor.flagged_items(pid, kind)) for kind in FLAG_KINDS}
    stopping = ws.store.monitor.latest(pid, "stopping")
    decision = "continue" if stopping is None else str(stopping.body.get("decision", "continue"))
    return {"decision": decision, "latest": latest, "open_flags": flags}
