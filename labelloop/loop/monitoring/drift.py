"""Data drift on a project: an import batch or a stream window against the trained-on images."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from labelloop.errors import LabelloopError
from labelloop.loop.monitoring._features import Compared, compare, configured
from labelloop.loop.workspace import Workspace
from labelloop.monitor.registry import DRIFT_TESTS
from labelloop.store import FlagInput, MonitorReport

__all__ = ["check_window", "record_drift"]

# Shifted images flagged per drifted batch.
_FLAG_TOP = 50


def check_window(ws: Workspace, paths: Sequence[Path], *, label: str) -> MonitorReport | None:
    """Test a window of arriving images (a stream's, imported or not) for data drift.

    A stream imports only the images it picks, and those are chosen for being
    unusual to the model, so drift is tested on everything that arrived.

    Args:
        ws: The open project.
        paths: The window's image files.
        label: What the window was, for the report.

    Returns:
        The stored report, or None when the window or reference is too small.
    """
    found = compare(ws, label, paths=paths)
    return None if found is None else record_drift(ws, found)


def record_drift(ws: Workspace, found: Compared) -> MonitorReport | None:
    """Run the project's drift test (``monitor.drift_test``) and store its report.

    Args:
        ws: The open project.
        found: The new images' and the reference's features.

    Returns:
        The stored report; None when the test cannot run on so few images.
    """
    cfg, label, batch, new = ws.config.monitor, found.label, found.items, found.new
    if len(new) < cfg.drift_min_batch:
        return ws.store.monitor.add_report(
            ws.project.id,
            "data_drift",
            body={"batch": label, "n_batch": len(new), "tested": False},
            summary=(
                f"{label}: {len(new)} images, fewer than monitor.drift_min_batch "
                f"({cfg.drift_min_batch}): not tested for drift (too little power)"
            ),
            alert=False,
        )
    test = configured(DRIFT_TESTS, cfg.drift_test, ws, alpha=cfg.drift_alpha)
    try:
        result = test.fit(found.ref).test(new)
    except LabelloopError:
        return None  # too few images for this test: nothing to say yet
    top = result.most_shifted(10)
    body = result.to_dict() | {"batch": label}
    if found.names is not None:
        body["top_files"] = [found.names[int(i)] for i in top]
    else:
        # Not the batch's ids: a report is read on every dashboard refresh, and
        # an import can be 100,000 images. The shifted ones are flagged.
        body["top_items"] = [batch[int(i)].id for i in top]
    verdict = "drift" if result.drifted else "no drift"
    summary = (
        f"{label}: {verdict} ({result.method} p={result.p_value:.3g}, "
        f"{result.n_batch} images vs {result.n_reference})"
    )
    flags = []
    if result.drifted and batch:
        flags = [
            FlagInput(batch[int(i)].id, float(result.scores[int(i)]), {"batch": label})
            for i in result.most_shifted(_FLAG_TOP)
        ]
    return ws.store.monitor.add_report(
        ws.project.id,
        "data_drift",
        body=body,
        summary=summary,
        alert=result.drifted,
        flags=flags,
        flag_kind="drift",
    )
