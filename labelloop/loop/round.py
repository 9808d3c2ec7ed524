"""One round of a project's loop: snapshot → fit → score the pool → rank → queue.

The round ranks the unlabeled pool (the top ``ranking_size`` items) rather
than only a batch, so the labeling server always has a next item; the first
``batch_size`` of the ranking are the round's batch. Auto labels never train
the model: only labels a person made or checked do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from labelloop.errors import LabelloopError
from labelloop.learners import Learner, make_learner
from labelloop.loop.engine import (
    Selection,
    calibration_report,
    fallback_strategy,
    fit_learner,
    model_health,
    select_batch,
)
from labelloop.loop.health import (
    check_concept_drift,
    observe_round,
    recent_label_weight,
    record_stopping,
)
from labelloop.loop.models import latest_learner
from labelloop.loop.synthesize import synthesize_queries
from labelloop.loop.workspace import Workspace
from labelloop.scale import Need, PoolScorer, PoolScores, ScoreRequest, make_scorer
from labelloop.store import FlagInput, Item, LabelEvent, RankedItem, RoundRecord
from labelloop.strategies import Pool, QueryStrategy, make_strategy

__all__ = ["RoundResult", "UnsupportedTaskError", "run_round"]


class UnsupportedTaskError(LabelloopError, NotImplementedError):
    """The project's task has no learner yet."""


@dataclass(frozen=True)
class RoundResult:
    """What a round recorded: the round, its metrics, and how many auto labels it wrote."""

    round: RoundRecord
    metrics: dict[str, Any]
    auto_labels: int = 0


Progress = Callable[[str, float], None]


def _warm_learner(ws: Workspace, input_shape: tuple[int, int, int]) -> Learner:
    cfg = ws.config
    return latest_learner(ws, input_shape) or make_learner(
        cfg.learner,
        n_classes=len(cfg.classes),
        input_shape=input_shape,
        random_state=cfg.seed,
        calibrate=cfg.calibrate,
    )


def _rank(
    ws: Workspace,
    strategy: QueryStrategy,
    view: Pool,
    size: int,
    probs: NDArray[np.float64] | None,
) -> Selection:
    """Rank ``size`` items of the pool that ``view.labeled`` leaves open.

    Score-based strategies rank the whole range themselves. Batch strategies
    (core-set, BADGE, TypiClust, ...) choose the batch as a set, and asking
    them for thousands of items would change what they choose and cost a lot:
    they pick the batch, and the rest of the ranking follows by margin (or at
    random before any model).
    """
    cfg = ws.config
    if hasattr(strategy, "score") or size <= cfg.batch_size:
        return select_batch(strategy, view, size)
    batch = select_batch(strategy, view, cfg.batch_size)
    taken = view.labeled.copy()
    taken[batch.indices] = True
    filler = make_strategy("margin" if probs is not None else "random", random_state=cfg.seed)
    rest = select_batch(filler, Pool(labeled=taken, probs=probs), size - len(batch.indices))
    return Selection(np.concatenate([batch.indices, rest.indices]), None)


def _needs(strategy: QueryStrategy, learner: Learner | None) -> frozenset[Need]:
    """What the pool pass computes: the model's probabilities (always, with a
    model), what the strategy reads, and thumbnails for cold start without one."""
    if learner is None:
        return frozenset({"pixels"}) if strategy.requires else frozenset()
    wanted = {"probs"} | {need for need in ("samples", "embeddings") if need in strategy.requires}
    return frozenset(wanted)  # type: ignore[arg-type]


def _score(
    ws: Workspace,
    scorer: PoolScorer,
    learner: Learner | None,
    items: list[Item],
    needs: frozenset[Need],
    cache: str,
    step: Progress,
) -> PoolScores:
    channels, size = ws.input_geometry()
    assert size is not None, "a classification project with items has an input size"
    request = ScoreRequest(
        paths=[ws.image_path(item) for item in items],
        channels=channels,
        size=size,
        policy=ws.config.resize,
        needs=needs,
        n_samples=ws.config.mc_samples,
        cache_dir=ws.root / "cache" / cache,
    )
    return scorer.score(
        learner, request, on_progress=lambda done, n: step("score pool", 0.6 + 0.2 * done / n)
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


def _flag_unreadable(ws: Workspace, items: list[Item], scores: PoolScores) -> None:
    failed = scores.failed
    if not len(failed):
        return
    names = [items[i].name for i in failed[:5]]
    ws.store.monitor.add_report(
        ws.project.id,
        "unreadable",
        body={"n": len(failed), "examples": names},
        summary=(
            f"{len(failed)} image file(s) could not be read and were left out of the "
            f"ranking (e.g. {', '.join(names)}); restore or re-import them"
        ),
        alert=True,
        flags=[FlagInput(items[i].id) for i in failed],
        flag_kind="unreadable",
    )


def _weighted(ws: Workspace, pairs: list[tuple[Item, LabelEvent]]) -> list[tuple[Item, LabelEvent]]:
    """After a concept drift, labels given since count twice in training (training set only)."""
    since, times = recent_label_weight(ws)
    if since is None:
        return pairs
    recent = [
        (item, event)
        for item, event in pairs
        if item.split != "val" and event.created_at.isoformat() >= since
    ]
    return pairs + recent * (times - 1)


def _favour_drifted(ws: Workspace, items: list[Item], selection: Selection) -> Selection:
    """Move images from drifted batches up the ranking, by their scores times a weight."""
    strength = ws.config.monitor.drift_upweight
    if strength <= 0 or selection.scores is None:
        return selection
    drifted = ws.store.monitor.flagged_items(ws.project.id, "drift")
    if not drifted:
        return selection
    weights = np.array(
        [1.0 + strength if items[i].id in drifted else 1.0 for i in selection.indices]
    )
    weighted = selection.scores * weights
    order = np.argsort(-weighted, kind="stable")
    return Selection(selection.indices[order], weighted[order])


def _trained_on(pairs: list[tuple[Item, LabelEvent]]) -> list[tuple[Item, LabelEvent]]:
    return [(item, event) for item, event in pairs if event.source != "auto"]


def run_round(
    ws: Workspace, *, on_step: Progress | None = None, scorer: PoolScorer | None = None
) -> RoundResult:
    """Run one round of the project's loop and swap in its ranking.

    With no labels yet there is nothing to fit: the round ranks the pool at
    random (cold start) and records no model. Only the labeled images are
    loaded at once (for the fit); the pool is scored by ``scorer`` in
    chunks, so memory does not grow with the pool beyond per-item scores.
    An image file that can no longer be read is flagged and left out.

    Args:
        ws: the open project.
        on_step: called with each step's name and the fraction of the round done.
        scorer: streams the pool through the model (default: what the
            project's ``scale`` settings name).

    Returns:
        The recorded round, its metrics, and the number of auto-label events.
    """
    step = on_step or (lambda _name, _done: None)
    cfg = ws.config
    if cfg.task == "detection":
        # Imported here: detection rounds pull in torchvision's detection models.
        from labelloop.loop.detection_round import run_detection_round

        detection_result: RoundResult = run_detection_round(ws, on_step=on_step)
        return detection_result
    if scorer is None:
        scale = cfg.scale
        scorer = make_scorer(
            scale.executor,
            address=scale.address,
            workers=scale.workers,
            chunk_size=scale.chunk_size,
        )
    pid = ws.project.id
    step("snapshot", 0.0)
    snapshot = ws.store.create_snapshot(pid, note="round")
    pairs = _trained_on(ws.store.snapshot_labels(pid, snapshot.id))
    items = ws.store.items(pid)
    position = {item.id: i for i, item in enumerate(items)}
    human = np.zeros(len(items), dtype=bool)
    human[[position[item.id] for item, _ in pairs]] = True
    metrics: dict[str, Any] = {"n_labeled": len(pairs), "n_pool": len(items)}
    model_id, version, probs, strategy_name = None, None, None, cfg.strategy
    ranking_probs: NDArray[np.float64] | None = None
    learner: Learner | None = None
    scores: PoolScores | None = None
    n_rounds = len(ws.store.rounds(pid))
    if pairs:
        step("load labeled images", 0.1)
        pairs = _weighted(ws, pairs)
        idx = np.array([position[item.id] for item, _ in pairs], dtype=np.int64)
        y = np.array([cfg.classes.index(event.value) for _, event in pairs], dtype=np.int64)
        is_val = np.array([item.split == "val" for item, _ in pairs])
        unique, inverse = np.unique(idx, return_inverse=True)
        X_labeled = ws.load_arrays([items[i] for i in unique])[inverse]
        learner = _warm_learner(ws, cast(tuple[int, int, int], tuple(X_labeled.shape[1:])))
        step("fit", 0.3)
        val_metrics = fit_learner(
            learner, X_labeled, y, np.flatnonzero(~is_val), np.flatnonzero(is_val)
        )
        del X_labeled
        metrics |= {"n_train": int((~is_val).sum()), "n_val": int(is_val.sum())}
        metrics["n_labeled"] = int(human.sum())
        metrics["calibration"] = calibration_report(learner)
        if val_metrics is not None:
            metrics["validation"] = val_metrics.to_dict()
        step("score pool", 0.6)
        wanted = make_strategy(cfg.strategy, random_state=cfg.seed + n_rounds)
        scores = _score(ws, scorer, learner, items, _needs(wanted, learner), "round", step)
        assert scores.probs is not None
        probs = ranking_probs = np.where(np.isnan(scores.probs), 0.0, scores.probs)
        readable = scores.ok
        health = model_health(probs[idx], y, probs[~human & readable], cfg.classes)
        metrics["model_health"] = health
        model = ws.store.add_model(pid, snapshot.id, cfg.learner, metrics)
        ws.models_dir.mkdir(parents=True, exist_ok=True)
        path = ws.models_dir / f"{model.version}.pt"
        learner.save(path)
        ws.store.set_model_path(model.id, path.relative_to(ws.root).as_posix())
        model_id, version = model.id, model.version
        metrics["monitor"] = observe_round(ws, items, probs, human)
        if health["collapsed"]:
            # A model that predicts one class ranks the pool by noise: rank
            # without it (as before any model) until it is useful.
            strategy_name = fallback_strategy(cfg.cold_start)
            metrics["fallback_strategy"] = strategy_name
            learner, ranking_probs = None, None
    else:
        strategy_name = cfg.cold_start
    step("rank", 0.85)
    strategy = make_strategy(strategy_name, random_state=cfg.seed + n_rounds)
    if learner is None:
        needs = _needs(strategy, None)
        scores = (
            _score(ws, scorer, None, items, needs, "cold-start", step) if needs and items else None
        )
    if scores is not None:
        _flag_unreadable(ws, items, scores)
        metrics["unreadable"] = len(scores.failed)
    # The ranking covers every item no person has labeled, auto-labeled ones
    # included: serving skips whatever is labeled at the time, so an auto
    # label withdrawn later still has its place in the ranking.
    # Outliers the project keeps out of selection are ranked like labeled items: not at all.
    taken = human.copy()
    if scores is not None:
        taken |= ~scores.ok
    if cfg.monitor.outlier_policy == "exclude":
        excluded = ws.store.monitor.flagged_items(pid, "outlier")
        taken[[position[i] for i in excluded if i in position]] = True
    size = min(int((~taken).sum()), max(cfg.ranking_size, cfg.batch_size))
    if size:
        view = Pool(labeled=taken) if scores is None else _view(scores, taken)
        if learner is None:
            view = Pool(labeled=view.labeled, embeddings=view.embeddings)
        selection = _rank(ws, strategy, view, size, ranking_probs)
        selection = _favour_drifted(ws, items, selection)
    else:  # every item has a person's label: nothing left to rank
        selection = Selection(np.zeros(0, dtype=np.int64), None)
    ranking = []
    for rank, i in enumerate(selection.indices):
        guess = None if probs is None else int(probs[i].argmax())
        ranking.append(
            RankedItem(
                item_id=items[i].id,
                score=None if selection.scores is None else float(selection.scores[rank]),
                predicted=None if guess is None else cfg.classes[guess],
                confidence=None if probs is None or guess is None else float(probs[i, guess]),
            )
        )
    auto = 0
    # A model trained on a handful of labels can be confidently wrong (one
    # trained on a single class says 1.0 for everything): wait for enough.
    # Nor is a collapsed model trusted (learner is None then).
    trusted = len(pairs) >= cfg.auto_label_min_labels and learner is not None
    if (
        probs is not None
        and version is not None
        and cfg.auto_label_threshold is not None
        and trusted
    ):
        step("auto-label", 0.95)
        candidates = np.flatnonzero(~human)
        guesses = probs[candidates].argmax(axis=1)
        auto = ws.store.leases.record_auto_labels(
            pid,
            model_version=version,
            predictions=[
                (items[i].id, cfg.classes[g], float(probs[i, g]))
                for i, g in zip(candidates, guesses, strict=True)
            ],
            threshold=cfg.auto_label_threshold,
        )
        metrics["auto_labels_written"] = auto
    synthesized: list[int] = []
    if cfg.synthesis.enabled and learner is not None and probs is not None:
        step("synthesize", 0.97)
        synthesized = synthesize_queries(
            ws, cfg.synthesis, learner, items, probs, seed=cfg.seed + n_rounds
        )
        metrics["synthesized"] = synthesized
    record = ws.store.add_round(
        pid,
        snapshot_id=snapshot.id,
        model_id=model_id,
        strategy=strategy_name,
        ranking=ranking,
        batch_size=cfg.batch_size,
        metrics=metrics,
    )
    for item_id in reversed(synthesized):  # the new round's ranking: synthesized first
        ws.store.enqueue(pid, item_id)
    if cfg.monitor.outlier_policy == "review_first":
        for item_id in sorted(ws.store.monitor.flagged_items(pid, "outlier"), reverse=True):
            if not human[position[item_id]]:
                ws.store.enqueue(pid, item_id)
    step("monitor", 0.99)
    if "monitor" in metrics:
        record_stopping(ws, record.id)
    check_concept_drift(ws)
    step("done", 1.0)
    return RoundResult(record, metrics, auto)
