"""Active learning for object detection: per-object uncertainty, aggregated per image.

A detector proposes a variable number of boxes per image, each with a class
distribution, a confidence score and optionally a localization stability. The
strategies here score each box, keep only boxes the detector would report
(``score >= min_score``), and aggregate the boxes of an image into one number
by their sum, mean or maximum (Brust et al., "Active Learning for Deep Object
Detection", 2019, who found the sum of per-box margins best on Pascal VOC).

Images with no box above ``min_score`` have nothing to aggregate and are
handled by an explicit ``empty_policy``:

* ``"mean"`` (default): the mean score of the pool's unlabeled images that
  have boxes (labeled images are left out: the model trained on them, so
  their confident scores would pull the fill down). Such an image is either
  a true negative or one whose objects the model misses; the model's scores
  cannot tell which, so it is placed in the middle, where it neither crowds
  the top of the ranking (early models find nothing in most images, so
  ``"max"`` would fill whole batches with them) nor is never seen.
* ``"max"``: the largest score among those images, so they tie with the most
  uncertain image (ties go to the lower index) and get looked at first.
* ``"zero"``: 0, the least informative; they are labeled last.

Everything here is numpy over arrays, so the strategies can be tested with
numbers and benchmarked; the detector lives in :mod:`labelloop.learners`.
"""

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from labelloop.plugins import Choice, Number
from labelloop.strategies.detection.pool import DetectionPool, check_box_probs, check_unit_vector
from labelloop.strategies.errors import InvalidParameterError, MissingPoolFieldError, PoolShapeError

__all__ = [
    "AGGREGATION",
    "BOX_UNCERTAINTY",
    "DEFAULT_MIN_SCORE",
    "EMPTY_POLICY",
    "MIN_SCORE",
    "Aggregation",
    "BoxUncertainty",
    "EmptyPolicy",
    "aggregate",
    "box_uncertainty",
    "image_confidence",
    "image_instability",
    "image_uncertainty",
    "least_certain_box",
]

BoxUncertainty = Literal["entropy", "least_confidence", "margin"]
Aggregation = Literal["max", "mean", "sum"]
EmptyPolicy = Literal["max", "mean", "zero"]

DEFAULT_MIN_SCORE = 0.1
"""Boxes scoring below this are not counted as detections. Detectors report
boxes down to a low threshold (0.05 for :class:`~labelloop.learners.TorchDetector`)
so that mAP sees the whole precision-recall curve; those near-noise boxes would
otherwise dominate an image's sum."""

BOX_UNCERTAINTY = Choice(("entropy", "least_confidence", "margin"))
"""What ``kind`` (a per-box uncertainty) may be."""
AGGREGATION = Choice(("max", "mean", "sum"))
"""What ``how`` (the aggregation over an image's boxes) may be."""
EMPTY_POLICY = Choice(("max", "mean", "zero"))
"""What ``empty_policy`` may be."""
MIN_SCORE = Number(low=0.0, high=1.0)
"""What ``min_score`` may be."""
_CONFIDENCE_HOW = Choice(("mean", "min"))
_UNIT = Number(low=0.0, high=1.0)

_FloatArray = NDArray[np.floating[Any]]


def box_uncertainty(class_probs: _FloatArray, kind: BoxUncertainty) -> NDArray[np.float64]:
    """Uncertainty of each box about its class, in ``[0, 1]``; higher is less sure.

    * ``"entropy"``: ``-sum_c p_c log p_c / log K``, the entropy normalised by
      its maximum, so it lies in ``[0, 1]`` for any number of classes ``K``
      (and is 0 when ``K == 1``).
    * ``"margin"``: ``1 - (p_top1 - p_top2)`` (with ``p_top2 = 0`` when ``K == 1``).
    * ``"least_confidence"``: ``1 - p_top1``.

    Args:
        class_probs: ``(m, K)`` class distribution of each box.
        kind: Which uncertainty.

    Returns:
        ``(m,)`` float64 uncertainties.

    Raises:
        PoolShapeError: If ``class_probs`` is not a 2-D float array.
        InvalidParameterError: If ``kind`` is unknown.

    Example:
        >>> box_uncertainty(np.array([[0.7, 0.2, 0.1]]), "margin").round(2)
        array([0.5])
    """
    BOX_UNCERTAINTY.check("kind", kind, InvalidParameterError)
    probs = check_box_probs("class_probs", class_probs).astype(np.float64)
    m, n_classes = probs.shape
    if m == 0:
        return np.empty(0, dtype=np.float64)
    if kind == "entropy":
        if n_classes == 1:
            return np.zeros(m, dtype=np.float64)
        terms = probs * np.log(np.maximum(probs, np.finfo(np.float64).tiny))
        entropy: NDArray[np.float64] = -terms.sum(axis=1) / np.log(n_classes)
        return np.clip(entropy, 0.0, 1.0)
    ordered = np.sort(probs, axis=1)
    first = ordered[:, -1]
    if kind == "least_confidence":
        return np.clip(1.0 - first, 0.0, 1.0)
    second = ordered[:, -2] if n_classes > 1 else np.zeros(m)
    return np.clip(1.0 - (first - second), 0.0, 1.0)


def aggregate(box_scores: _FloatArray, how: Aggregation, empty: float) -> float:
    """One image's score from its boxes' scores.

    Args:
        box_scores: ``(m,)`` per-box scores (uncertainties or instabilities).
        how: ``"sum"``, ``"mean"`` or ``"max"`` of the boxes.
        empty: What an image without boxes gets.

    Returns:
        The image's score; ``empty`` when ``m == 0``.

    Raises:
        InvalidParameterError: If ``how`` is unknown.
        PoolShapeError: If ``box_scores`` is not 1-D.

    Example:
        >>> aggregate(np.array([0.5, 0.25]), "sum", empty=0.0)
        0.75
    """
    AGGREGATION.check("how", how, InvalidParameterError)
    values = np.asarray(box_scores, dtype=np.float64)
    if values.ndim != 1:
        raise PoolShapeError(f"box_scores must be 1-D (m,); got shape {values.shape}.")
    if values.size == 0:
        return float(empty)
    if how == "sum":
        return float(values.sum())
    if how == "mean":
        return float(values.mean())
    return float(values.max())


def image_confidence(
    scores: _FloatArray, how: Literal["mean", "min"] = "min", empty: float = 0.0
) -> float:
    """An image's confidence for stream selectors, from its boxes' confidence scores.

    Pass it as ``decide(confidence=...)`` to a
    :class:`~labelloop.strategies.stream.StreamSelector`: with ``"min"`` an
    image is decided by its least confident object.

    An image with no detection gets ``empty``, 0 by default: the detector saw
    nothing, which is either a true negative or a complete miss, and a miss is
    exactly what a person must catch; the stream's budget manager caps how
    many such images are queried. Pass ``empty=1.0`` to trust empty images.
    Filter the boxes by score first if low-scoring boxes are noise.

    Args:
        scores: ``(m,)`` box confidences in ``[0, 1]``.
        how: ``"min"`` (least confident box) or ``"mean"``.
        empty: Confidence of an image without boxes, in ``[0, 1]``.

    Returns:
        The image's confidence in ``[0, 1]``.

    Raises:
        InvalidParameterError: If ``how`` or ``empty`` is out of range.
        PoolShapeError: If ``scores`` is not 1-D in ``[0, 1]``.
    """
    _CONFIDENCE_HOW.check("how", how, InvalidParameterError)
    _UNIT.check("empty", empty, InvalidParameterError)
    values = check_unit_vector("scores", scores)
    if values.size == 0:
        return float(empty)
    return float(values.min() if how == "min" else values.mean())


def least_certain_box(scores: _FloatArray, empty: float = 1.0) -> float:
    """The lowest box confidence of an image, to order a review queue ascending.

    Args:
        scores: ``(m,)`` box confidences in ``[0, 1]``.
        empty: What an image without boxes gets; 1 by default, so images with
            nothing to review come last.

    Returns:
        ``min(scores)``, or ``empty`` when there are no boxes.

    Raises:
        PoolShapeError: If ``scores`` is not 1-D in ``[0, 1]``.
    """
    values = check_unit_vector("scores", scores)
    return float(values.min()) if values.size else float(empty)


def _per_image(
    pool: DetectionPool,
    box_scores: Callable[[int], NDArray[np.float64]],
    how: Aggregation,
    min_score: float,
    empty_policy: EmptyPolicy,
) -> NDArray[np.float64]:
    """Aggregate per-box scores of each image, then fill empty images by policy."""
    AGGREGATION.check("how", how, InvalidParameterError)
    EMPTY_POLICY.check("empty_policy", empty_policy, InvalidParameterError)
    threshold: float = MIN_SCORE.check("min_score", min_score, InvalidParameterError)
    out = np.zeros(pool.n, dtype=np.float64)
    has_boxes = np.zeros(pool.n, dtype=bool)
    for i in range(pool.n):
        values = box_scores(i)
        if pool.scores is not None:
            values = values[np.asarray(pool.scores[i]) >= threshold]
        has_boxes[i] = values.size > 0
        out[i] = aggregate(values, how, empty=0.0)
    # The fill comes from the unlabeled images with boxes: labeled images are
    # ones the model was trained on, so their confident scores would drag it down.
    reference = has_boxes & pool.unlabeled_mask()
    if empty_policy != "zero" and reference.any():
        values = out[reference]
        out[~has_boxes] = values.max() if empty_policy == "max" else values.mean()
    return out


def image_uncertainty(
    pool: DetectionPool,
    kind: BoxUncertainty,
    how: Aggregation,
    *,
    min_score: float = DEFAULT_MIN_SCORE,
    empty_policy: EmptyPolicy = "mean",
) -> NDArray[np.float64]:
    """Each image's aggregated box uncertainty (see :func:`box_uncertainty`).

    Args:
        pool: The detector's outputs.
        kind: Per-box uncertainty.
        how: Aggregation over an image's boxes.
        min_score: Boxes with a lower score are not counted (ignored when
            ``pool.scores`` is ``None``).
        empty_policy: Score of images without a counted box (see the module).

    Returns:
        ``(n,)`` float64 scores, higher more informative.
    """
    return _per_image(
        pool,
        lambda i: box_uncertainty(pool.class_probs[i], kind),
        how,
        min_score,
        empty_policy,
    )


def image_instability(
    pool: DetectionPool,
    how: Aggregation,
    *,
    min_score: float = DEFAULT_MIN_SCORE,
    empty_policy: EmptyPolicy = "mean",
) -> NDArray[np.float64]:
    """Each image's aggregated box instability, ``1 - stability`` per box.

    Arguments and result as :func:`image_uncertainty`'s, with instability in
    place of class uncertainty; ``pool.stability`` must be set.

    Raises:
        MissingPoolFieldError: If ``pool.stability`` is ``None``.
    """
    stability = pool.stability
    if stability is None:
        raise MissingPoolFieldError(
            "instability needs pool.stability; predict with stability=True and pass "
            "each image's ImageDetections.stability."
        )
    return _per_image(
        pool,
        lambda i: 1.0 - np.asarray(stability[i], dtype=np.float64),
        how,
        min_score,
        empty_policy,
    )
