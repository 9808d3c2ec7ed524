"""The part of a round shared by the labeling loop and simulation: fit, score, select."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from labelloop.learners import ClassificationMetrics, Learner, evaluate
from labelloop.strategies import Pool, QueryStrategy, UncertaintyStrategy

__all__ = ["Selection", "fit_learner", "select_batch"]


@dataclass(frozen=True)
class Selection:
    """A batch chosen from a pool.

    Attributes:
        indices: ``(k,)`` pool indices, most informative first.
        scores: ``(k,)`` the strategy's informativeness of each, or None when
            the strategy has no score (random sampling).
    """

    indices: NDArray[np.int64]
    scores: NDArray[np.float64] | None


def fit_learner(
    learner: Learner,
    X: NDArray[np.float32],
    y: NDArray[np.int64],
    train: NDArray[np.int64],
    val: NDArray[np.int64],
) -> ClassificationMetrics | None:
    """Fit on the training split, validate on the validation split.

    Args:
        learner: the model, warm-started if it was fitted before.
        X: ``(n, C, H, W)`` images of every labeled item.
        y: ``(n,)`` their class indices.
        train: indices into ``X`` of the training split.
        val: indices into ``X`` of the validation split (may be empty).

    Returns:
        Validation metrics, or None when the validation split is empty.
    """
    if len(val):
        learner.fit(X[train], y[train], X[val], y[val])
        return evaluate(learner.predict_proba(X[val]), y[val], learner.n_classes)
    learner.fit(X[train], y[train])
    return None


def select_batch(
    strategy: QueryStrategy,
    labeled: NDArray[np.bool_],
    batch_size: int,
    probs: NDArray[np.float64] | None,
) -> Selection:
    """Choose the next batch from a pool.

    Args:
        strategy: the query strategy.
        labeled: ``(n,)`` True where the pool item is already labeled.
        batch_size: how many items to choose at most.
        probs: ``(n, n_classes)`` the current model's probabilities for the
            whole pool, or None before any model exists.

    Returns:
        The chosen pool indices and their scores.
    """
    indices = strategy.select(Pool(labeled=labeled, probs=probs), batch_size)
    scores = None
    if isinstance(strategy, UncertaintyStrategy) and probs is not None:
        scores = strategy.score(probs[indices])
    return Selection(indices, scores)
