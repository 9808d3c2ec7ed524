"""Outliers in an import batch, scored against the trained-on images and stored as flags."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelloop.loop.workspace import Workspace
from labelloop.monitor.outliers import OutlierReport
from labelloop.monitor.registry import OUTLIER_DETECTORS
from labelloop.store import FlagInput, Item, MonitorReport

__all__ = ["record_outliers"]


def record_outliers(
    ws: Workspace,
    batch: list[Item],
    ref: NDArray[np.float64],
    new: NDArray[np.float64],
    label: str,
    method: str,
) -> MonitorReport:
    """Score ``new`` with the detector ``method`` fitted on ``ref``; store the report and flags.

    The detector is calibrated on the reference so that about
    ``monitor.outlier_rate`` of ordinary images are flagged: whichever of
    ``contamination`` (the expected share) or ``quantile`` (of the reference's
    own scores) it takes is set from that rate, and ``random_state`` from the
    project's seed. The project's outlier policy is applied by the next round.

    Args:
        ws: The open project.
        batch: The batch's items, in the order of ``new``.
        ref: ``(n_ref, d)`` features of the reference images.
        new: ``(n, d)`` features of the batch.
        label: What the batch was, for the report.
        method: A name of :data:`labelloop.monitor.registry.OUTLIER_DETECTORS`.

    Returns:
        The stored report.
    """
    cfg, pid = ws.config.monitor, ws.project.id
    detector = OUTLIER_DETECTORS.create(method)
    calibration: dict[str, Any] = {
        "contamination": cfg.outlier_rate,
        "quantile": 1.0 - cfg.outlier_rate,
        "random_state": ws.config.seed,
    }
    taken = detector.get_params()
    detector.set_params(**{k: v for k, v in calibration.items() if k in taken})
    report = OutlierReport.from_scores(method, detector.fit(ref).score(new), detector.threshold_)
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
