"""Classification metrics computed from predicted probabilities.

Absent classes are common in active learning (a test split drawn from a small
pool may miss a rare class), so every metric here defines what it does then:

* ``per_class_recall`` is ``NaN`` for a class with no true sample (0/0 is
  undefined, and 0 would read as "the model never finds it").
  :meth:`ClassificationMetrics.to_dict` writes those as ``None`` so the result
  is valid JSON.
* ``macro_f1`` averages F1 over the classes that occur in ``y`` or in the
  predictions, as :func:`sklearn.metrics.f1_score` does with
  ``average="macro"``; a class predicted but never true scores 0.
"""

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from labelloop.learners._validation import check_labels
from labelloop.learners.errors import InvalidInputError, InvalidParameterError
from labelloop.stats import wilson_interval

__all__ = [
    "ClassificationMetrics",
    "evaluate",
    "expected_calibration_error",
    "wilson_interval",
]


@dataclass(frozen=True)
class ClassificationMetrics:
    """Scores of a classifier on a labeled set.

    Attributes:
        accuracy: Fraction of samples whose top class is the true class.
        macro_f1: Unweighted mean F1 over classes present in ``y`` or predicted.
        per_class_recall: Recall of each class ``0..n_classes-1``; ``NaN`` for
            a class with no true sample.
        ece: Top-label expected calibration error, 15 equal-width bins.
        n: Number of samples scored.
    """

    accuracy: float
    macro_f1: float
    per_class_recall: tuple[float, ...]
    ece: float
    n: int

    @property
    def accuracy_interval(self) -> tuple[float, float]:
        """95% Wilson score interval of the accuracy over ``n`` samples."""
        return wilson_interval(round(self.accuracy * self.n), self.n)

    def to_dict(self) -> dict[str, object]:
        """The metrics as a JSON-ready dict; ``NaN`` recalls become ``None``.

        Returns:
            Keys ``accuracy``, ``accuracy_interval`` (95% Wilson, ``[low,
            high]``), ``macro_f1``, ``per_class_recall`` (a list), ``ece`` and ``n``.
        """
        return {
            "accuracy": self.accuracy,
            "accuracy_interval": list(self.accuracy_interval),
            "macro_f1": self.macro_f1,
            "per_class_recall": [None if math.isnan(r) else r for r in self.per_class_recall],
            "ece": self.ece,
            "n": self.n,
        }


def _check_probs_and_labels(
    probs: NDArray[np.floating], y: NDArray[np.integer], n_classes: int | None = None
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise InvalidInputError(
            f"probs must be 2-D (n_samples, n_classes), got shape {p.shape}; "
            "pass the output of predict_proba."
        )
    if n_classes is not None and p.shape[1] != n_classes:
        raise InvalidInputError(
            f"probs has {p.shape[1]} columns but n_classes={n_classes}; pass one column per class."
        )
    if p.shape[0] == 0:
        raise InvalidInputError("probs is empty; metrics need at least one scored sample.")
    if not np.isfinite(p).all():
        raise InvalidInputError("probs holds NaN or infinite values; check the model's output.")
    labels = check_labels(y, n_samples=p.shape[0], n_classes=p.shape[1])
    return p, labels


def expected_calibration_error(
    probs: NDArray[np.floating], y: NDArray[np.integer], n_bins: int = 15
) -> float:
    """Top-label expected calibration error with equal-width confidence bins.

    Each sample's confidence is its largest probability. Bin ``m`` holds
    confidences in ``((m - 1) / n_bins, m / n_bins]``; the error is
    ``sum_m |B_m| / n * |accuracy(B_m) - mean confidence(B_m)|``.

    Args:
        probs: Class probabilities, shape ``(n_samples, n_classes)``.
        y: True class indices, shape ``(n_samples,)``.
        n_bins: Number of equal-width bins over ``[0, 1]``.

    Returns:
        The ECE, in ``[0, 1]``.

    Raises:
        InvalidInputError: If the arrays are malformed or empty.
        InvalidParameterError: If ``n_bins`` is not a positive int.
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise InvalidParameterError(f"n_bins must be a positive int, got {n_bins!r}; try 15.")
    p, labels = _check_probs_and_labels(probs, y)
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # side="left" puts a confidence equal to an edge into the bin that edge closes.
    bins = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins).astype(np.float64)
    gap = np.bincount(bins, weights=correct - confidence, minlength=n_bins)
    # |sum(correct - conf)| / n per bin equals |B_m|/n * |acc - conf| of that bin.
    return float(np.abs(gap[counts > 0]).sum() / p.shape[0])


def evaluate(
    probs: NDArray[np.floating], y: NDArray[np.integer], n_classes: int
) -> ClassificationMetrics:
    """Score predicted probabilities against true labels.

    Args:
        probs: Class probabilities, shape ``(n_samples, n_classes)``.
        y: True class indices, shape ``(n_samples,)``.
        n_classes: Number of classes; ``probs`` must have this many columns.

    Returns:
        Accuracy, macro-F1, per-class recall, ECE and the sample count.

    Raises:
        InvalidInputError: If the arrays are malformed, empty or disagree
            with ``n_classes``.
    """
    p, labels = _check_probs_and_labels(probs, y, n_classes)
    pred = p.argmax(axis=1)
    hits = pred == labels
    true_count = np.bincount(labels, minlength=n_classes)
    pred_count = np.bincount(pred, minlength=n_classes)
    tp = np.bincount(labels[hits], minlength=n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(true_count > 0, tp / true_count, np.nan)
    # F1 = 2TP / (2TP + FP + FN) = 2TP / (true count + predicted count).
    seen = (true_count + pred_count) > 0
    f1 = 2.0 * tp[seen] / (true_count[seen] + pred_count[seen])
    return ClassificationMetrics(
        accuracy=float(hits.mean()),
        macro_f1=float(f1.mean()),
        per_class_recall=tuple(float(r) for r in recall),
        ece=expected_calibration_error(p, labels),
        n=int(p.shape[0]),
    )
