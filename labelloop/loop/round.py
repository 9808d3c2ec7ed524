"""The classification plug-in of the round pipeline (:mod:`labelloop.loop.pipeline`).

A learner is fitted on the class labels, the pool streams through the pool
scorer for what the strategy reads (probabilities, Monte Carlo or ensemble
samples, embeddings; thumbnails for a cold start), a model that collapsed to
one class is reported and not trusted to rank, and a trusted model may
synthesize queries. ``run_round`` is the pipeline's, re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from labelloop.learners import Learner, evaluate
from labelloop.learners.registry import BACKBONE_LEARNER_NAMES
from labelloop.loop.autolabel import confidence_histogram
from labelloop.loop.engine import (
    Selection,
    calibration_report,
    fit_split,
    model_health,
    rank_range,
)
from labelloop.loop.health import observe_round
from labelloop.loop.models import latest_learner, project_learner
from labelloop.loop.pipeline import (
    RoundContext,
    RoundResult,
    ScoredPool,
    UnsupportedTaskError,
    run_round,
)
from labelloop.loop.synthesize import synthesize_queries
from labelloop.loop.workspace import Workspace
from labelloop.scale import Need, PoolScores, ScoreRequest
from labelloop.store import RankedItem
from labelloop.strategies import Pool, QueryStrategy, make_strategy

__all__ = [
    "CLASSIFICATION",
    "ClassificationTask",
    "RoundResult",
    "UnsupportedTaskError",
    "rank_cold_start",
    "run_round",
]


AUTO_CALIBRATE_MIN_VAL = 50
"""Validation images from which a round calibrates a model that writes auto labels."""


def _warm_learner(ws: Workspace, input_shape: tuple[int, int, int]) -> Learner:
    return latest_learner(ws, input_shape) or project_learner(ws, input_shape)


def _needs(strategy: QueryStrategy, learner: Learner | None) -> frozenset[Need]:
    """What the pool pass computes: the model's probabilities (always, with a
    model), what the strategy reads, and thumbnails for cold start without one."""
    if learner is None:
        return frozenset({"pixels"}) if strategy.requires else frozenset()
    wanted = {"probs"} | {need for need in ("samples", "embeddings") if need in strategy.requires}
    return frozenset(wanted)  # type: ignore[arg-type]


def _score(
    ctx: RoundContext, learner: Learner | None, needs: frozenset[Need], cache: str
) -> PoolScores:
    ws = ctx.ws
    channels, size = ws.input_geometry()
    assert size is not None, "a project with items has an input size"
    request = ScoreRequest(
        paths=[ws.image_path(item) for item in ctx.items],
        channels=channels,
        size=size,
        policy=ws.config.resize,
        needs=needs,
        n_samples=ws.config.mc_samples,
        cache_dir=ws.root / "cache" / cache,
    )
    return ctx.scorer.score(
        learner,
        request,
        on_progress=lambda done, n: ctx.step("score pool", 0.6 + 0.2 * done / n),
    )


def _view(scores: PoolScores, taken: NDArray[np.bool_]) -> Pool:
    """The strategy's view of the pool; unreadable images are filled and never ranked."""
    taken = taken | ~scores.ok
    failed = scores.failed
    if len(failed):
        for array in (scores.embeddings, scores.pixels):
            if array is not None:
                array[failed] = 0.0
        if scores.samples is not None:
            scores.samples[:, failed] = 1.0 / scores.samples.shape[2]
    probs = scores.probs
    if probs is not None and len(failed):
        probs = probs.copy()
        probs[failed] = 1.0 / probs.shape[1]
    embeddings = scores.embeddings if scores.embeddings is not None else scores.pixels
    return Pool(labeled=taken, probs=probs, samples=scores.samples, embeddings=embeddings)


def _range_args(ctx: RoundContext) -> dict[str, int]:
    return {"batch_size": ctx.ws.config.batch_size, "seed": ctx.ws.config.seed}


def rank_cold_start(
    ctx: RoundContext,
    strategy: str,
    cold: ScoredPool | None,
    taken: NDArray[np.bool_],
    size: int,
) -> Selection:
    """Rank as before any model, for every task: by ``strategy`` over what the cold pass read.

    Args:
        ctx: the round.
        strategy: the cold-start strategy's name.
        cold: the task's cold pass over the pool (thumbnails, or a frozen
            backbone's embeddings), or None when the strategy reads nothing (random).
        taken: ``(n,)`` True where an item may not be ranked.
        size: how many items to rank.

    Returns:
        The ranking; unreadable images are never in it.
    """
    chosen = make_strategy(strategy, random_state=ctx.seed)
    view = Pool(labeled=taken)
    if cold is not None:
        read = _view(cold.scores, taken)
        view = Pool(labeled=read.labeled, embeddings=read.embeddings)
    return rank_range(chosen, view, size, None, **_range_args(ctx))


@dataclass
class _Scored(ScoredPool):
    """A pass over the pool: the scorer's outputs, and the model's probabilities (NaN-free)."""

    probs: NDArray[np.float64] | None
    learner: Learner | None


class ClassificationTask:
    """One class per image: a learner, its probabilities, and the collapse guard."""

    name = "classification"
    watches_concept = True

    def fit(self, ctx: RoundContext) -> Learner:
        """Load the labeled images (only those), fit the warm learner, validate and calibrate."""
        cfg = ctx.ws.config
        idx = np.array([ctx.position[item.id] for item, _ in ctx.pairs], dtype=np.int64)
        y = np.array([cfg.classes.index(event.value) for _, event in ctx.pairs], dtype=np.int64)
        is_val = np.array([item.split == "val" for item, _ in ctx.pairs])
        unique, inverse = np.unique(idx, return_inverse=True)
        X_labeled = ctx.ws.load_arrays([ctx.items[i] for i in unique])[inverse]
        learner = _warm_learner(ctx.ws, cast(tuple[int, int, int], tuple(X_labeled.shape[1:])))
        if hasattr(learner, "calibrate"):
            # Auto labels trust the model's confidence: calibrate it first once
            # the validation side is large enough to fit a temperature on.
            auto = cfg.auto_label_threshold is not None
            learner.calibrate = cfg.calibrate or (
                auto and int(is_val.sum()) >= AUTO_CALIBRATE_MIN_VAL
            )
        ctx.step("fit", 0.3)
        # Validated on the held-out side, then refitted on every label (no label wasted).
        refit = cfg.refit_on_all_labels
        val_probs = fit_split(
            learner, X_labeled, y, np.flatnonzero(~is_val), np.flatnonzero(is_val), refit=refit
        )
        val_metrics = None
        if val_probs is not None:
            # The held-out model's view of the validation images: honest
            # metrics, and (for the confidence histogram) its probabilities.
            val_metrics = evaluate(val_probs, y[is_val], learner.n_classes)
            ctx.state["validation"] = (val_probs, y[is_val])
        metrics = ctx.metrics
        metrics.n_train, metrics.n_val = int((~is_val).sum()), int(is_val.sum())
        metrics.refit_on = len(y) if refit or val_probs is None else metrics.n_train
        metrics.calibration = calibration_report(learner)
        if val_metrics is not None:
            metrics.validation = val_metrics.to_dict()
        ctx.state["labels"] = (idx, y)
        return learner

    def score(self, ctx: RoundContext, model: Any, strategy: str) -> _Scored | None:
        """The scorer's pass; without a model, thumbnails when the cold start reads pixels."""
        wanted = make_strategy(strategy, random_state=ctx.seed)
        learner = cast(Learner | None, model)
        needs = _needs(wanted, learner)
        if learner is None:
            if not needs:
                return None
            cfg = ctx.ws.config
            if cfg.backbone.mode == "embed" and cfg.learner in BACKBONE_LEARNER_NAMES:
                # The cold start reads the frozen backbone's embeddings, not
                # thumbnails (they land in the embedding cache the rounds reuse).
                channels, size = ctx.ws.input_geometry()
                assert size is not None
                frozen = project_learner(ctx.ws, (channels, *size))
                scores = _score(ctx, frozen, frozenset({"embeddings"}), "cold-start")
                return _Scored(scores, None, None)
            return _Scored(_score(ctx, None, needs, "cold-start"), None, None)
        scores = _score(ctx, learner, needs, "round")
        assert scores.probs is not None
        return _Scored(scores, np.where(np.isnan(scores.probs), 0.0, scores.probs), learner)

    def judge(self, ctx: RoundContext, model: Any, scored: Any) -> bool:
        """Trusted unless its predictions on its own labeled images collapse to one class."""
        probs = cast(_Scored, scored).probs
        assert probs is not None
        idx, y = ctx.state["labels"]
        unlabeled = ~ctx.human & scored.ok
        health = model_health(probs[idx], y, probs[unlabeled], ctx.ws.config.classes)
        ctx.metrics.model_health = health
        val_probs, val_labels = ctx.state.get("validation", (None, None))
        ctx.metrics.confidence_histogram = confidence_histogram(
            probs[unlabeled], val_probs, val_labels
        )
        return not health["collapsed"]

    def observe(self, ctx: RoundContext, scored: Any) -> None:
        """The stop set's predictions and the pool's uncertainty, for the stopping rules."""
        probs = cast(_Scored, scored).probs
        assert probs is not None
        ctx.metrics.monitor = observe_round(ctx.ws, ctx.items, probs, ctx.human)

    def rank(
        self,
        ctx: RoundContext,
        strategy: str,
        scored: Any,
        taken: NDArray[np.bool_],
        size: int,
    ) -> Selection:
        """Rank by the strategy over the scorer's outputs; without a model, by the cold start."""
        if scored is None or scored.learner is None:
            return rank_cold_start(ctx, strategy, scored, taken, size)
        chosen = make_strategy(strategy, random_state=ctx.seed)
        view = _view(scored.scores, taken)
        return rank_range(chosen, view, size, scored.probs, **_range_args(ctx))

    def ranked_items(
        self, ctx: RoundContext, selection: Selection, scored: Any
    ) -> list[RankedItem]:
        """Each ranked item with the model's guess and its confidence (when it has a model)."""
        classes = ctx.ws.config.classes
        probs = None if scored is None else cast(_Scored, scored).probs
        ranking = []
        for rank, i in enumerate(selection.indices):
            guess = None if probs is None else int(probs[i].argmax())
            ranking.append(
                RankedItem(
                    item_id=ctx.items[i].id,
                    score=None if selection.scores is None else float(selection.scores[rank]),
                    predicted=None if guess is None else classes[guess],
                    confidence=None if probs is None or guess is None else float(probs[i, guess]),
                )
            )
        return ranking

    def auto_candidates(self, ctx: RoundContext, scored: Any) -> list[tuple[int, Any, float]]:
        """The predicted class and its probability for every item no person labeled."""
        probs = cast(_Scored, scored).probs
        assert probs is not None
        classes = ctx.ws.config.classes
        candidates = np.flatnonzero(~ctx.human)
        guesses = probs[candidates].argmax(axis=1)
        return [
            (ctx.items[i].id, classes[g], float(probs[i, g]))
            for i, g in zip(candidates, guesses, strict=True)
        ]

    def extras(self, ctx: RoundContext, model: Any, scored: Any) -> list[int]:
        """Synthesized queries, when the project asks for them."""
        cfg = ctx.ws.config
        probs = cast(_Scored, scored).probs
        if not cfg.synthesis.enabled or probs is None:
            return []
        ctx.step("synthesize", 0.97)
        synthesized = synthesize_queries(
            ctx.ws, cfg.synthesis, cast(Learner, model), ctx.items, probs, seed=ctx.seed
        )
        ctx.metrics.synthesized = synthesized
        return synthesized


CLASSIFICATION = ClassificationTask()
"""The classification plug-in the pipeline uses."""
