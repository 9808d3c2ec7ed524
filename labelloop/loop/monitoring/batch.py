"""An import batch's health: data drift and outliers, checked together at import."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from labelloop.loop.monitoring._features import compare
from labelloop.loop.monitoring.drift import record_drift
from labelloop.loop.monitoring.outliers import record_outliers
from labelloop.loop.workspace import Workspace
from labelloop.store import MonitorReport

__all__ = ["BatchHealth", "check_batch"]


@dataclass(frozen=True)
class BatchHealth:
    """What the monitor found in one batch of new images."""

    drift: MonitorReport | None
    outliers: MonitorReport | None


def check_batch(ws: Workspace, item_ids: Sequence[int], *, label: str = "import") -> BatchHealth:
    """Test a batch of new images for data drift and outliers, and record both.

    Drift compares the batch's embeddings with those of the images the model
    was trained on (:attr:`MonitorConfig.drift_test`); a drifted batch flags its
    most shifted images. Outliers are scored against the same reference; the
    project's outlier policy then decides whether they go to the head of the
    queue, are kept out of selection (at the next round), or are kept.

    Args:
        ws: The open project.
        item_ids: The batch's items.
        label: What the batch was (``import``, ``stream window 3``), for the report.

    Returns:
        The drift and outlier reports, None where the batch or reference was too small.
    """
    wanted = set(item_ids)
    batch = [i for i in ws.store.items(ws.project.id) if i.id in wanted]
    found = compare(ws, label, items=batch)
    if found is None:
        return BatchHealth(None, None)
    drift = record_drift(ws, found)
    return BatchHealth(drift, record_outliers(ws, found, ws.config.monitor.outlier_detector))
