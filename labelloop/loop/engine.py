"""The part of a round shared by the labeling loop and simulation: fit, score, select."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelloop.learners import ClassificationMetrics, Learner, evaluate
from labelloop.learners.health import prediction_collapse
from labelloop.strategies import Pool, QueryStrategy, make_strategy

__all__ = [
    "Selection",
    "calibration_report",
    "fit_learner",
    "fit_split",
    "model_health",
    "rank_range",
    "score_pool",
    "select_batch",
]


def model_health(
    labeled_probs: NDArray[np.float64],
    labels: NDArray[np.int64],
    pool_probs: NDArray[np.float64],
    classes: tuple[str, ...],
) -> dict[str, Any]:
    """Whether the model collapsed to predicting one class, judged on the labeled items.

    The verdict reads the model's predictions on the items whose labels it
    knows: a model that learned anything tells its own labeled classes apart,
    while a collapsed one gives them all one class. (Judged on the pool
    instead, a pool that truly is mostly one class would look like a
    collapse.) How many classes it predicts on the pool is reported beside.

    Args:
        labeled_probs: ``(m, n_classes)`` the model's probabilities on the labeled items.
        labels: ``(m,)`` their class indices.
        pool_probs: ``(n, n_classes)`` its probabilities on the unlabeled pool.
        classes: the class names.

    Returns:
        :class:`~labelloop.learners.health.Collapse` as a mapping, with the
        dominant class's name under ``dominant_class``, ``pool_classes`` and a
        one-line ``summary``.
    """
    found = prediction_collapse(labeled_probs.argmax(axis=1), labels, len(classes)).to_dict()
    found["dominant_class"] = classes[found["dominant_class"]]
    found["pool_classes"] = len(np.unique(pool_probs.argmax(axis=1)))
    share = f"{found['dominant_share']:.0%}"
    found["summary"] = (
        f"the model predicts {found['dominant_class']!r} for {share} of its labeled images "
        f"({found['expected_share']:.0%} are {found['dominant_class']!r}); it does not rank "
        "the pool until it learns more"
        if found["collapsed"]
        else f"predicts {found['pool_classes']} of {len(classes)} classes on the unlabeled pool"
    )
    return found


def calibration_report(learner: Learner) -> dict[str, float | None]:
    """Validation ECE before and after temperature scaling, and the temperature, if measured."""
    return {
        "ece_before_calibration": getattr(learner, "ece_before_", None),
        "ece_after_calibration": getattr(learner, "ece_after_", None),
        "temperature": getattr(learner, "temperature_", None),
    }


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
    *,
    refit: bool = True,
) -> ClassificationMetrics | None:
    """Fit with a held-out validation side, then (``refit``) on every label.

    Args:
        learner: the model, warm-started if it was fitted before.
        X: ``(n, C, H, W)`` images of every labeled item.
        y: ``(n,)`` their class indices.
        train: indices into ``X`` of the training split.
        val: indices into ``X`` of the validation split (may be empty).
        refit: train the final model on all labels (:func:`fit_split`).

    Returns:
        Validation metrics of the model that did not see the validation
        side, or None when the validation split is empty.
    """
    held_out = fit_split(learner, X, y, train, val, refit=refit)
    if held_out is not None:
        return evaluate(held_out, y[val], learner.n_classes)
    return None


def fit_split(
    learner: Learner,
    X: NDArray[np.float32],
    y: NDArray[np.int64],
    train: NDArray[np.int64],
    val: NDArray[np.int64],
    *,
    refit: bool = True,
) -> NDArray[np.float64] | None:
    """Fit on the training split, validate on the rest, then learn from every label.

    No label is wasted: the validation side (a fifth of the labels) gives
    honest metrics, early stopping and calibration from a model that did not
    see it, and then, with ``refit``, the model is trained again on all
    labels for the epoch count that validation chose (``learner.refit``; a
    learner without one is simply fitted on all labels). The refitted model
    is the one that ranks the pool and writes auto labels; the figures
    reported for it are the held-out ones.

    Returns:
        The held-out model's probabilities on the validation images, or None
        when there is no validation split (the fit then used every label).
    """
    if not len(val):
        learner.fit(X[train], y[train])
        return None
    learner.fit(X[train], y[train], X[val], y[val])
    held_out = learner.predict_proba(X[val])
    if refit:
        again = getattr(learner, "refit", None)
        if again is not None:
            again(X, y)
        else:
            learner.fit(X, y)
    return held_out


def score_pool(
    strategy: QueryStrategy,
    learner: Learner | None,
    X: NDArray[np.float32] | None,
    labeled: NDArray[np.bool_],
    *,
    n_samples: int = 20,
    probs: NDArray[np.float64] | None = None,
) -> Pool:
    """Compute what ``strategy`` needs to look at the pool, and nothing more.

    Args:
        strategy: the query strategy; its ``requires`` names the fields.
        learner: the fitted model, or None before any model exists.
        X: ``(n, C, H, W)`` the pool's images.
        labeled: ``(n,)`` True where the pool item is already labeled.
        n_samples: stochastic passes (MC dropout) or members for ``samples``.
        probs: ``(n, n_classes)`` already computed probabilities to reuse.

    Returns:
        The pool view with the required fields filled in.

    Raises:
        TypeError: the strategy needs samples and the learner cannot draw them.
    """
    needs = strategy.requires
    if learner is None or X is None:
        return Pool(labeled=labeled)
    if probs is None and "probs" in needs:
        probs = learner.predict_proba(X)
    samples = None
    if "samples" in needs:
        draw = getattr(learner, "predict_samples", None)
        if draw is None:
            raise TypeError(
                f"strategy {strategy.name!r} needs sampled predictions; use a learner that "
                "draws them (a CNN with MC dropout, an ensemble, or a bagging learner)"
            )
        samples = draw(X, n_samples)
    embeddings = learner.embed(X) if "embeddings" in needs else None
    return Pool(labeled=labeled, probs=probs, samples=samples, embeddings=embeddings)


def select_batch(strategy: QueryStrategy, pool: Pool, batch_size: int) -> Selection:
    """Choose the next batch from a pool.

    Args:
        strategy: the query strategy.
        pool: what the strategy may look at (see :func:`score_pool`).
        batch_size: how many items to choose at most.

    Returns:
        The chosen pool indices and their scores (for strategies that score).
    """
    indices, scores = strategy.select_scored(pool, batch_size)
    return Selection(indices, scores)


def rank_range(
    strategy: QueryStrategy,
    view: Pool,
    size: int,
    probs: NDArray[np.float64] | None,
    *,
    batch_size: int,
    seed: int,
) -> Selection:
    """Rank ``size`` items of the pool that ``view.labeled`` leaves open.

    Score-based strategies rank the whole range themselves. Batch strategies
    (core-set, BADGE, TypiClust, ...) choose the batch as a set, and asking
    them for thousands of items would change what they choose and cost a lot:
    they pick ``batch_size`` items, and the rest of the ranking follows by
    margin on ``probs`` (or at random, seeded with ``seed``, without them).
    """
    if hasattr(strategy, "score") or size <= batch_size:
        return select_batch(strategy, view, size)
    batch = select_batch(strategy, view, batch_size)
    taken = view.labeled.copy()
    taken[batch.indices] = True
    filler = make_strategy("margin" if probs is not None else "random", random_state=seed)
    rest = select_batch(filler, Pool(labeled=taken, probs=probs), size - len(batch.indices))
    return Selection(np.concatenate([batch.indices, rest.indices]), None)
