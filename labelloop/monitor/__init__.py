"""Monitoring the loop: learning curves now; stopping, drift and outliers to come."""

from labelloop.monitor.curves import (
    CURVE_COLUMNS,
    CurvePoint,
    labels_to_reach,
    plot_curves,
    read_curves,
    summarize_curves,
)

__all__ = [
    "CURVE_COLUMNS",
    "CurvePoint",
    "labels_to_reach",
    "plot_curves",
    "read_curves",
    "summarize_curves",
]
