"""Is a model's output degenerate? Collapse to one class, measured on its predictions.

A network fitted on a few labels can end where it started: predicting one
class for every image. Its probabilities still rank the pool, but by noise,
and a confident-looking ranking from such a model wastes the first rounds,
which matter most. :func:`prediction_collapse` says whether predictions
collapsed, with the numbers, so the loop can report it and stop trusting the
model until it is useful.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["COLLAPSE_SHARE", "Collapse", "prediction_collapse"]

COLLAPSE_SHARE = 0.9
"""Predictions collapse when one class takes at least this share of them..."""

EXPECTED_SHARE_CEILING = 0.5
"""...while that class is at most this share of the labels the model learned from."""


@dataclass(frozen=True)
class Collapse:
    """How concentrated a model's predictions are on one class.

    Attributes:
        collapsed: one class takes at least :data:`COLLAPSE_SHARE` of the
            predictions while it is at most :data:`EXPECTED_SHARE_CEILING` of
            the labels (and the labels hold at least two classes).
        predicted_classes: distinct classes predicted.
        dominant_class: the most predicted class (index).
        dominant_share: its share of the predictions.
        expected_share: its share of the labels.
    """

    collapsed: bool
    predicted_classes: int
    dominant_class: int
    dominant_share: float
    expected_share: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able mapping."""
        return asdict(self)


def prediction_collapse(
    predicted: NDArray[np.integer], labels: NDArray[np.integer], n_classes: int
) -> Collapse:
    """Whether ``predicted`` collapsed to one class, given the class shares in ``labels``.

    Args:
        predicted: ``(n,)`` predicted class indices (on a pool, a validation
            side or the training set).
        labels: ``(m,)`` the class indices the model learned from; their
            shares say how often each class should be predicted.
        n_classes: number of classes.

    Returns:
        The verdict with its numbers. Empty predictions, or labels of one
        class, never count as collapsed.
    """
    counts = np.bincount(np.asarray(predicted, dtype=np.int64), minlength=n_classes)
    label_counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)
    if counts.sum() == 0:
        return Collapse(False, 0, 0, 0.0, 0.0)
    dominant = int(counts.argmax())
    share = float(counts[dominant] / counts.sum())
    expected = float(label_counts[dominant] / label_counts.sum()) if label_counts.sum() else 0.0
    several = int((label_counts > 0).sum()) >= 2
    collapsed = several and share >= COLLAPSE_SHARE and expected <= EXPECTED_SHARE_CEILING
    return Collapse(collapsed, int((counts > 0).sum()), dominant, share, expected)
