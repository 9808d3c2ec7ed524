"""Ranking a pool's images by a detection strategy over their detections.

Used by the detection round (:mod:`labelloop.loop.detection_round`), which
streams the pool through the detector first, and by the detection simulation,
which holds the pool in memory (:func:`rank_detections`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from labelloop.learners.detection import ImageDetections, TorchDetector
from labelloop.loop.engine import Selection
from labelloop.strategies.detection import DetectionPool, DetectionStrategy, make_detection_strategy

__all__ = ["detection_strategy", "rank_detections", "select_detections"]


def detection_strategy(name: str, *, min_score: float, empty_policy: str) -> DetectionStrategy:
    """A detection strategy by name, given the project's detection settings where it takes them.

    Args:
        name: one of ``DETECTION_STRATEGY_NAMES``.
        min_score: boxes below it are not detections (uncertainty strategies).
        empty_policy: the score of an image without a detection (uncertainty strategies).

    Returns:
        The strategy.
    """
    strategy = make_detection_strategy(name)
    if "min_score" in strategy.get_params():
        strategy = make_detection_strategy(name, min_score=min_score, empty_policy=empty_policy)
    return strategy


def select_detections(
    strategy: DetectionStrategy,
    detections: Sequence[ImageDetections],
    embeddings: NDArray[np.float32] | None,
    labeled: NDArray[np.bool_],
    size: int,
    *,
    seed: int,
) -> Selection:
    """Rank the unlabeled images of a pool from its detections (and embeddings).

    Args:
        strategy: the detection strategy.
        detections: every image's detections (with stability where the strategy reads it).
        embeddings: ``(n, d)`` the images' embeddings, where the strategy reads them.
        labeled: ``(n,)`` True where an image is not to be ranked.
        size: how many to rank.
        seed: seed of the strategy's random choices.

    Returns:
        The ranking: indices, and the strategy's scores (None for random).
    """
    stability = "stability" in strategy.requires
    pool = DetectionPool(
        class_probs=[d.class_probs for d in detections],
        scores=[d.scores for d in detections],
        stability=[_stable(d) for d in detections] if stability else None,
        embeddings=embeddings,
        labeled=labeled,
    )
    if "random_state" in strategy.get_params():
        strategy = copy.copy(strategy).set_params(random_state=seed)
    picked, scores = strategy.select_scored(pool, size)
    return Selection(picked, scores)


def rank_detections(
    strategy: DetectionStrategy,
    detector: TorchDetector,
    X: NDArray[np.float32],
    labeled: NDArray[np.bool_],
    size: int,
    *,
    seed: int,
) -> tuple[Selection, list[ImageDetections]]:
    """Rank the unlabeled images of a pool held in memory (simulation) by a detection strategy.

    Args:
        strategy: the detection strategy.
        detector: the fitted detector.
        X: ``(n, C, H, W)`` every image of the pool, labeled ones included
            (core-set measures coverage from them).
        labeled: ``(n,)`` True where an image has a label; never ranked.
        size: how many to rank.
        seed: seed of the strategy's random choices.

    Returns:
        The ranking and the detections of every image in model-input pixels;
        with ``size < 1`` (nothing to rank) neither is computed and both are empty.
    """
    if size < 1:  # every image is labeled: nothing to rank
        return Selection(np.zeros(0, dtype=np.int64), None), []
    detections = detector.predict(X, stability="stability" in strategy.requires)
    embeddings = detector.embed(X) if "embeddings" in strategy.requires else None
    ranking = select_detections(strategy, detections, embeddings, labeled, size, seed=seed)
    return ranking, detections


def _stable(dets: ImageDetections) -> NDArray[np.float32]:
    if dets.stability is None:  # predict(stability=True) always fills it
        raise ValueError("detections lack stability; predict them with stability=True")
    return dets.stability
