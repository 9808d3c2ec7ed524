"""One round of a project's loop, any task: snapshot → fit → score → select → queue → monitor.

The round is one pipeline; what differs between classification and
detection lives in a small task plug-in (:class:`RoundTask`), found by the
project's ``task``:

* :mod:`labelloop.loop.round` — classification: a learner over class labels,
  probabilities, Monte Carlo samples and embeddings from the pool scorer,
  a guard against a model collapsed to one class, synthesis;
* :mod:`labelloop.loop.detection_round` — detection: the detector over box
  labels, proposals in the images' own pixels.

The pipeline owns what both share: the snapshot and the labels it trains on
(auto labels never train; after a concept drift recent labels count twice),
saving the model, unreadable pool files (flagged, never ranked), the
outlier policy (:func:`labelloop.monitor.outliers.apply_outlier_policy`),
favouring drifted images (:func:`labelloop.monitor.drift.shift_weights`),
auto labels (only from a trusted model trained on enough labels), the
ranking swap, and the monitor hooks after the round.

The round ranks the unlabeled pool (the top ``ranking_size`` items) rather
than only a batch, so the labeling server always has a next item; the first
``batch_size`` of the ranking are the round's batch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from labelloop.errors import LabelloopError
from labelloop.loop.engine import Selection
from labelloop.loop.health import check_concept_drift, recent_label_weight, record_stopping
from labelloop.loop.labelstudio import after_round
from labelloop.loop.metrics import RoundMetrics
from labelloop.loop.workspace import Workspace
from labelloop.monitor.drift import shift_weights
from labelloop.monitor.outliers import apply_outlier_policy
from labelloop.store import FlagInput, Item, LabelEvent, RankedItem, RoundRecord

if TYPE_CHECKING:
    from labelloop.scale import PoolScorer, PoolScores

__all__ = [
    "TASKS",
    "Progress",
    "RoundContext",
    "RoundResult",
    "RoundTask",
    "Scored",
    "ScoredPool",
    "UnsupportedTaskError",
    "interleave",
    "run_round",
]

Progress = Callable[[str, float], None]


class UnsupportedTaskError(LabelloopError, NotImplementedError):
    """The project's task has no round plug-in."""


@dataclass(frozen=True)
class RoundResult:
    """What a round recorded: the round, its metrics, and how many auto labels it wrote."""

    round: RoundRecord
    metrics: RoundMetrics
    auto_labels: int = 0


@dataclass
class RoundContext:
    """What a task plug-in may read (and, for ``metrics``, write) during one round.

    Attributes:
        ws: the open project.
        scorer: streams the pool through a model.
        step: progress callback (step name, fraction of the round done).
        snapshot_id: the round's label snapshot.
        pairs: the labels the model trains on, with their items (recent
            labels repeated after a concept drift).
        items: the whole pool, by id.
        position: item id → index into ``items``.
        human: ``(n,)`` True where a person labeled the item.
        seed: the seed of this round's random choices.
        metrics: the round's metrics, filled in as it goes.
        state: what a task plug-in keeps between its steps of this round.
    """

    ws: Workspace
    scorer: PoolScorer
    step: Progress
    snapshot_id: int
    pairs: list[tuple[Item, LabelEvent]]
    items: list[Item]
    position: dict[int, int]
    human: NDArray[np.bool_]
    seed: int
    metrics: RoundMetrics = field(default_factory=RoundMetrics)
    state: dict[str, Any] = field(default_factory=dict)


class Scored(Protocol):
    """What a task's pass over the pool gave; the pipeline reads only ``ok``."""

    @property
    def ok(self) -> NDArray[np.bool_]:
        """``(n,)`` False where the image could not be read."""
        ...


@dataclass
class ScoredPool:
    """The base of the tasks' passes: the pool scorer's outputs, read or not per image."""

    scores: PoolScores

    @property
    def ok(self) -> NDArray[np.bool_]:
        """``(n,)`` False where the image could not be read."""
        return self.scores.ok


class Model(Protocol):
    """A fitted model the pipeline saves with the round."""

    def save(self, path: Any) -> None:
        """Write the model's weights to ``path``."""
        ...


class RoundTask(Protocol):
    """The part of a round that depends on the task.

    Attributes:
        name: the task (``ProjectConfig.task``).
        watches_concept: the round runs the concept drift check afterwards.
    """

    name: str
    watches_concept: bool

    def fit(self, ctx: RoundContext) -> Model:
        """Fit the warm model on ``ctx.pairs``; write ``n_train``, ``n_val``, ``validation``."""
        ...

    def score(self, ctx: RoundContext, model: Model | None, strategy: str) -> Scored | None:
        """Stream the pool through ``model`` (or, with None, what a cold start reads).

        Returns None when nothing needs computing (a cold start at random).
        """
        ...

    def judge(self, ctx: RoundContext, model: Model, scored: Scored) -> bool:
        """Whether the model may rank the pool and write auto labels (metrics say why not)."""
        ...

    def observe(self, ctx: RoundContext, scored: Scored) -> None:
        """What the monitor needs from a scored round, into ``ctx.metrics`` (may do nothing)."""
        ...

    def rank(
        self,
        ctx: RoundContext,
        strategy: str,
        scored: Scored | None,
        taken: NDArray[np.bool_],
        size: int,
    ) -> Selection:
        """Rank ``size`` items the mask ``taken`` leaves open, by ``strategy``."""
        ...

    def ranked_items(
        self, ctx: RoundContext, selection: Selection, scored: Scored | None
    ) -> list[RankedItem]:
        """The ranking's rows, with the model's prediction for each where there is one."""
        ...

    def auto_candidates(self, ctx: RoundContext, scored: Scored) -> list[tuple[int, Any, float]]:
        """``(item_id, label value, confidence)`` of each unlabeled item the model scored."""
        ...

    def extras(self, ctx: RoundContext, model: Model, scored: Scored) -> list[int]:
        """Items the task adds to the head of the queue (synthesized queries); may be none."""
        ...


TASKS: dict[str, str] = {
    "classification": "labelloop.loop.round:CLASSIFICATION",
    "detection": "labelloop.loop.detection_round:DETECTION",
}
"""Task name → ``module:attribute`` of its plug-in (imported on first use: detection
pulls in torchvision's detection models)."""


def task_for(name: str) -> RoundTask:
    """The round plug-in of a task."""
    where = TASKS.get(name)
    if where is None:
        raise UnsupportedTaskError(f"no round plug-in for task {name!r}; known: {sorted(TASKS)}")
    module, attribute = where.split(":")
    task: RoundTask = getattr(importlib.import_module(module), attribute)
    return task


def _trained_on(pairs: list[tuple[Item, LabelEvent]]) -> list[tuple[Item, LabelEvent]]:
    return [(item, event) for item, event in pairs if event.source != "auto"]


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


def _save_model(ctx: RoundContext, model: Model) -> tuple[int, str]:
    ws = ctx.ws
    metrics = ctx.metrics.to_json()
    record = ws.store.add_model(ws.project.id, ctx.snapshot_id, ws.config.learner, metrics)
    ws.models_dir.mkdir(parents=True, exist_ok=True)
    path = ws.models_dir / f"{record.version}.pt"
    model.save(path)
    ws.store.set_model_path(record.id, path.relative_to(ws.root).as_posix())
    return record.id, record.version


def _flag_unreadable(ctx: RoundContext, ok: NDArray[np.bool_]) -> None:
    failed = np.flatnonzero(~ok)
    if not len(failed):
        return
    names = [ctx.items[i].name for i in failed[:5]]
    ctx.ws.store.monitor.add_report(
        ctx.ws.project.id,
        "unreadable",
        body={"n": len(failed), "examples": names},
        summary=(
            f"{len(failed)} image file(s) could not be read and were left out of the "
            f"ranking (e.g. {', '.join(names)}); restore or re-import them"
        ),
        alert=True,
        flags=[FlagInput(ctx.items[i].id) for i in failed],
        flag_kind="unreadable",
    )


def _flag_mask(ctx: RoundContext, kind: str) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Items with an open flag of ``kind`` as a pool mask, and the flags' scores (0 unscored)."""
    mask = np.zeros(len(ctx.items), dtype=bool)
    scores = np.zeros(len(ctx.items), dtype=np.float64)
    for flag in ctx.ws.store.monitor.flags(ctx.ws.project.id, kind):  # type: ignore[arg-type]
        i = ctx.position.get(flag.item_id)
        if i is not None:
            mask[i] = True
            scores[i] = flag.score or 0.0
    return mask, scores


def interleave(
    ranking: list[RankedItem], extra: list[RankedItem], share: float
) -> list[RankedItem]:
    """``ranking`` with ``extra`` placed at every ``round(1 / share)``-th place from the first.

    Items of ``extra`` already in ``ranking`` move to their new place; extras
    left when the ranking runs out follow at its end.

    Args:
        ranking: the model's ranking.
        extra: items to put up, in their order.
        share: the largest share of the head they may take, in (0, 1].
    """
    step = max(1, round(1.0 / share))
    moved = {row.item_id for row in extra}
    rest = [row for row in ranking if row.item_id not in moved]
    out: list[RankedItem] = []
    queue = list(extra)
    for row in rest:
        if queue and len(out) % step == 0:
            out.append(queue.pop(0))
        out.append(row)
    return out + queue


def _favour_drifted(ctx: RoundContext, selection: Selection) -> Selection:
    """Move images of drifted batches up the ranking: scores times their shift weights."""
    strength = ctx.ws.config.monitor.drift_upweight
    if strength <= 0 or selection.scores is None:
        return selection
    drifted, shift = _flag_mask(ctx, "drift")
    if not drifted.any():
        return selection
    # A flagged image counts up even when the flags' scores cannot be told apart.
    weights = shift_weights(shift, drifted, strength, ties=1.0)
    weighted = selection.scores * weights[selection.indices]
    order = np.argsort(-weighted, kind="stable")
    return Selection(selection.indices[order], weighted[order])


def run_round(
    ws: Workspace, *, on_step: Progress | None = None, scorer: PoolScorer | None = None
) -> RoundResult:
    """Run one round of the project's loop and swap in its ranking.

    With no labels yet there is nothing to fit: the round ranks the pool by
    the project's cold start and records no model. Only the labeled images
    are loaded at once (for the fit); the pool is scored by ``scorer`` in
    chunks, so memory does not grow with the pool beyond per-item scores.
    An image file that can no longer be read is flagged and left out. A
    model the task does not trust (one collapsed to a single class) is
    recorded with its verdict, but the pool is ranked as before any model
    and it writes no auto labels.

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
    task = task_for(cfg.task)
    if scorer is None:
        from labelloop.scale import make_scorer  # Imported here: it imports torch.

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
    ctx = RoundContext(
        ws=ws,
        scorer=scorer,
        step=step,
        snapshot_id=snapshot.id,
        pairs=_weighted(ws, pairs) if pairs else pairs,
        items=items,
        position=position,
        human=human,
        seed=cfg.seed + len(ws.store.rounds(pid)),
        metrics=RoundMetrics(n_labeled=int(human.sum()), n_pool=len(items)),
    )
    metrics = ctx.metrics
    model_id, version = None, None
    model: Model | None = None
    scored: Scored | None = None
    trusted = False
    strategy: str = cfg.cold_start
    if pairs:
        step("load labeled images", 0.1)
        model = task.fit(ctx)
        step("score pool", 0.6)
        scored = task.score(ctx, model, cfg.strategy)
        assert scored is not None, "a fitted model scores the pool"
        trusted = task.judge(ctx, model, scored)
        model_id, version = _save_model(ctx, model)
        task.observe(ctx, scored)
        strategy = cfg.strategy
        if not trusted:
            strategy = cfg.cold_start  # rank as before any model
            metrics.fallback_strategy = strategy
    step("rank", 0.85)
    ranking_scores = scored if trusted else task.score(ctx, None, strategy) if items else None
    seen = scored if scored is not None else ranking_scores
    # The ranking covers every item no person has labeled, auto-labeled ones
    # included: serving skips whatever is labeled at the time, so an auto
    # label withdrawn later still has its place in the ranking. Unreadable
    # files are not ranked; nor are outliers where the policy excludes them.
    taken = human.copy()
    if seen is not None:
        _flag_unreadable(ctx, seen.ok)
        metrics.unreadable = int((~seen.ok).sum())
        taken |= ~seen.ok
    outliers, outlier_scores = _flag_mask(ctx, "outlier")
    plan = apply_outlier_policy(outliers, cfg.monitor.outlier_policy, outlier_scores)
    taken |= plan.excluded
    size = min(int((~taken).sum()), max(cfg.ranking_size, cfg.batch_size))
    if size:
        selection = _favour_drifted(ctx, task.rank(ctx, strategy, ranking_scores, taken, size))
    else:  # every item has a person's label: nothing left to rank
        selection = Selection(np.zeros(0, dtype=np.int64), None)
    ranking = task.ranked_items(ctx, selection, scored)
    review = [int(i) for i in plan.review_first if not human[i]]
    if review:
        # Outliers put up for review join the ranking at every k-th place
        # (k = 1 / outlier_review_share), most outlying first: a person sees
        # them soon, and the model still chooses most of every batch.
        # An outlier keeps its row (and the strategy's score) where the model ranked it.
        ranked = {row.item_id: row for row in ranking}
        unranked = [i for i in review if items[i].id not in ranked]
        missing = Selection(np.asarray(unranked, dtype=np.int64), None)
        fill = task.ranked_items(ctx, missing, scored)
        rows_of = {row.item_id: row for row in fill} | ranked
        rows = [rows_of[items[i].id] for i in review]
        ranking = interleave(ranking, rows, cfg.monitor.outlier_review_share)
        metrics.outliers_for_review = len(review)
    auto = 0
    # A model trained on a handful of labels can be confidently wrong (one
    # trained on a single class says 1.0 for everything): wait for enough.
    enough = len(pairs) >= cfg.auto_label_min_labels
    threshold = cfg.auto_label_threshold
    if scored is not None and version is not None and trusted and enough and threshold:
        step("auto-label", 0.95)
        auto = ws.store.leases.record_auto_labels(
            pid,
            model_version=version,
            predictions=task.auto_candidates(ctx, scored),
            threshold=threshold,
        )
        metrics.auto_labels_written = auto
    extra: list[int] = []
    if model is not None and scored is not None and trusted:
        extra = task.extras(ctx, model, scored)
    record = ws.store.add_round(
        pid,
        snapshot_id=snapshot.id,
        model_id=model_id,
        strategy=strategy,
        ranking=ranking,
        batch_size=cfg.batch_size,
        metrics=metrics.to_json(),
    )
    for item_id in reversed(extra):  # the new round's ranking: the task's extras first
        ws.store.enqueue(pid, item_id)
    step("monitor", 0.99)
    if metrics.monitor is not None:
        record_stopping(ws, record.id)
    if task.watches_concept:
        check_concept_drift(ws)
    # A connected Label Studio gets the new ranking as its queue order.
    after_round(ws)
    step("done", 1.0)
    return RoundResult(record, metrics, auto)
