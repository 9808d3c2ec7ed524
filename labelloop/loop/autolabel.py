"""What an auto-label threshold would do, known before it applies (numpy only: no torch)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelloop.stats import wilson_interval

__all__ = ["CONFIDENCE_BINS", "auto_label_estimate", "confidence_histogram"]


CONFIDENCE_BINS = 100
"""Bins of 0.01 over [0, 1] in the confidence histograms rounds keep."""


def _bins(confidences: NDArray[np.float64]) -> NDArray[np.int64]:
    index = np.clip((confidences * CONFIDENCE_BINS).astype(np.int64), 0, CONFIDENCE_BINS - 1)
    counts: NDArray[np.int64] = np.bincount(index, minlength=CONFIDENCE_BINS)
    return counts


def confidence_histogram(
    pool_probs: NDArray[np.float64],
    val_probs: NDArray[np.float64] | None,
    val_labels: NDArray[np.int64] | None,
) -> dict[str, list[int]]:
    """How confident the model is on the unlabeled pool and on validation, in 0.01 bins.

    Kept in the round's metrics so a change of ``auto_label_threshold`` can
    say beforehand how many items the model would auto-label and how often it
    was right at that confidence (:func:`auto_label_estimate`).

    Args:
        pool_probs: ``(n, k)`` probabilities on the unlabeled, readable pool.
        val_probs: ``(m, k)`` probabilities on the validation images, or None.
        val_labels: ``(m,)`` their classes.

    Returns:
        ``pool``, ``val_total`` and ``val_correct``: counts per bin.
    """
    out = {"pool": _bins(pool_probs.max(axis=1) if len(pool_probs) else np.zeros(0)).tolist()}
    if val_probs is not None and val_labels is not None and len(val_labels):
        confidence = val_probs.max(axis=1)
        right = val_probs.argmax(axis=1) == val_labels
        out["val_total"] = _bins(confidence).tolist()
        out["val_correct"] = _bins(confidence[right]).tolist()
    return out


def auto_label_estimate(histogram: dict[str, list[int]], threshold: float) -> dict[str, Any]:
    """What a threshold would do, from a round's :func:`confidence_histogram`.

    Returns:
        ``pool_count`` (unlabeled items at or above it), ``val_n`` (validation
        images at or above it) and ``val_precision`` (the share of those the
        model got right; None without any), with its 95% Wilson interval.
    """
    first = min(CONFIDENCE_BINS - 1, int(threshold * CONFIDENCE_BINS))
    pool = int(sum(histogram.get("pool", [])[first:]))
    total = int(sum(histogram.get("val_total", [])[first:]))
    right = int(sum(histogram.get("val_correct", [])[first:]))
    return {
        "pool_count": pool,
        "val_n": total,
        "val_precision": right / total if total else None,
        "val_precision_interval": list(wilson_interval(right, total)) if total else None,
    }
