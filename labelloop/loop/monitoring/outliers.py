"""Outliers in an import batch, scored against the trained-on images and stored as flags."""

from __future__ import annotations

from labelloop.loop.monitoring._features import Compared, configured
from labelloop.loop.workspace import Workspace
from labelloop.monitor.outliers import OutlierReport
from labelloop.monitor.registry import OUTLIER_DETECTORS
from labelloop.store import FlagInput, MonitorReport

__all__ = ["record_outliers"]


def record_outliers(ws: Workspace, found: Compared, method: str) -> MonitorReport:
    """Score the new images with the detector ``method`` fitted on the reference; store the
    report and flags.

    The detector is calibrated on the reference so that about
    ``monitor.outlier_rate`` of ordinary images are flagged: whichever of
    ``contamination`` (the expected share) or ``quantile`` (of the reference's
    own scores) it takes is set from that rate, and ``random_state`` from the
    project's seed. The project's outlier policy is applied by the next round.

    Args:
        ws: The open project.
        found: The batch's items and features, and the reference's features.
        method: A name of :data:`labelloop.monitor.registry.OUTLIER_DETECTORS`.

    Returns:
        The stored report.
    """
    cfg, pid, batch, label = ws.config.monitor, ws.project.id, found.items, found.label
    rate = cfg.outlier_rate
    detector = configured(OUTLIER_DETECTORS, method, ws, contamination=rate, quantile=1.0 - rate)
    scores = detector.fit(found.ref).score(found.new)
    report = OutlierReport.from_scores(method, scores, detector.threshold_)
    flagged = [batch[int(i)] for i in report.flagged]
    return ws.store.monitor.add_report(
        pid,
        "outliers",
        body={
            "batch": label,
            "method": report.method,
            "threshold": report.threshold,
            "policy": cfg.outlier_policy,
            "flagged_items": [i.id for i in flagged],
        },
        summary=f"{label}: {len(flagged)} of {len(batch)} images are outliers ({method})",
        alert=bool(flagged),
        flags=[
            FlagInput(item.id, float(report.scores[int(i)]), {"batch": label})
            for item, i in zip(flagged, report.flagged, strict=True)
        ],
        flag_kind="outlier",
    )
