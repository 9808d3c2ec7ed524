"""Concept drift on a project: the model's errors on people's labels, replayed after each round."""

from __future__ import annotations

from typing import Any

from labelloop.loop.workspace import Workspace
from labelloop.monitor.concept import detect_concept_drift
from labelloop.store import FlagInput, MonitorReport

__all__ = ["check_concept_drift", "recent_label_weight"]


def check_concept_drift(ws: Workspace) -> MonitorReport | None:
    """Replay the model's errors on people's labels through the concept-drift detector.

    A drift that raised the error rate is an alert: auto labels made before it
    were made by a model whose idea of the classes no longer holds, so they are
    flagged and the review queue serves them first. The next round also
    weights the labels given since the drift up. A fall in the error rate
    (the model getting better, as it should) is reported without an alert.

    Returns:
        The stored report, or None before any label had a prediction to compare with.
    """
    if ws.config.task != "classification":
        return None
    pid = ws.project.id
    outcomes = ws.store.monitor.prediction_outcomes(pid)
    if not outcomes:
        return None
    method = ws.config.monitor.concept_detector
    report = detect_concept_drift([o.error for o in outcomes], method)
    body: dict[str, Any] = report.to_dict()
    worse = (
        report.last_drift is not None
        and report.error_rate_after is not None
        and report.error_rate_before is not None
        and report.error_rate_after > report.error_rate_before
    )
    flags: list[FlagInput] = []
    if report.last_drift is not None:
        at = outcomes[report.last_drift]
        body |= {"drift_event_id": at.event_id, "drift_at": at.created_at.isoformat()}
        previous = ws.store.monitor.latest(pid, "concept_drift")
        new = previous is None or previous.body.get("drift_event_id") != at.event_id
        if worse and new:
            stale = ws.store.monitor.auto_labeled_before(pid, at.created_at)
            flags = [FlagInput(i, None, {"drift_event_id": at.event_id}) for i in stale]
            body["requeued_auto_labels"] = len(flags)
    body["error_rate_rose"] = worse
    if report.last_drift is None:
        summary = f"no concept drift in {report.n} labels ({method})"
    else:
        direction = "rose" if worse else "fell"
        after = report.error_rate_after
        summary = (
            f"concept drift at label {report.last_drift + 1} of {report.n} ({method}): "
            f"error rate {direction} from {report.error_rate_before:.2f} to "
            + ("n/a" if after is None else f"{after:.2f}")
        )
    return ws.store.monitor.add_report(
        pid,
        "concept_drift",
        body=body,
        summary=summary,
        alert=worse,
        flags=flags,
        flag_kind="concept_drift",
    )


def recent_label_weight(ws: Workspace) -> tuple[str | None, int]:
    """When the last error-raising concept drift happened, and how much to repeat later labels.

    Returns:
        The drift's time (ISO 8601), or None without one, and the number of
        times each label given since should count in training.
    """
    latest = ws.store.monitor.latest(ws.project.id, "concept_drift")
    if latest is None or not latest.alert:
        return None, 1
    return str(latest.body.get("drift_at")), 2
