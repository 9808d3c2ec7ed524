"""One round of a detection project: snapshot → fit the detector → score → rank → auto-label.

The detection counterpart of :func:`labelloop.loop.round.run_round`, which
hands detection projects to :func:`run_detection_round`. The detector is
warm-started from the last round's saved weights. Each ranked item carries
the model's proposals (boxes scoring at least ``detection.min_score``) as JSON
text in ``predicted`` and the score of its least certain box in
``confidence``, so the labeling view can prefill the boxes and review can
start from the least certain one.

An image is auto-labeled only when the model proposes at least one box and
every proposed box scores at least ``auto_label_threshold``; an image without
proposals is never auto-labeled "no objects", since no box score measures how
sure the model is that nothing is there. Auto labels never train the model.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelloop.learners.detection_metrics import DetectionMetrics, detection_map
from labelloop.learners.detector import (
    BoxTargets,
    ImageDetections,
    TorchDetector,
    make_detector,
    to_box_dicts,
)
from labelloop.learners.errors import WeightsMismatchError
from labelloop.loop.engine import Selection, select_batch
from labelloop.loop.models import latest_model
from labelloop.loop.round import RoundResult, _trained_on
from labelloop.loop.workspace import Workspace
from labelloop.store import Item, LabelEvent, RankedItem
from labelloop.strategies import Pool, make_strategy
from labelloop.strategies.detection import (
    DetectionPool,
    DetectionStrategy,
    least_certain_box,
    make_detection_strategy,
)

__all__ = [
    "boxes_to_targets",
    "detection_strategy",
    "fit_detector",
    "proposals",
    "rank_detections",
    "run_detection_round",
    "warm_detector",
]

Progress = Callable[[str, float], None]


def boxes_to_targets(
    value: Sequence[dict[str, Any]], classes: Sequence[str], scale: tuple[float, float] = (1, 1)
) -> BoxTargets:
    """A stored detection label as the detector's targets.

    Args:
        value: the label: ``{"x", "y", "width", "height", "label"}`` per box,
            in pixels of the original image; empty for "no objects".
        classes: the project's classes, indexed by the targets' labels.
        scale: ``(sx, sy)`` from original pixels to model-input pixels.

    Returns:
        ``boxes (m, 4)`` xywh in model-input pixels and ``labels (m,)``.
    """
    sx, sy = scale
    boxes = np.array(
        [[b["x"] * sx, b["y"] * sy, b["width"] * sx, b["height"] * sy] for b in value],
        dtype=np.float32,
    ).reshape(-1, 4)
    labels = np.array([classes.index(str(b["label"])) for b in value], dtype=np.int64)
    return BoxTargets(boxes=boxes, labels=labels)


def _rescaled(dets: ImageDetections, scale: tuple[float, float]) -> ImageDetections:
    """Detections in model-input pixels moved back to original pixels (divide by ``scale``)."""
    if scale == (1.0, 1.0):
        return dets
    factor = np.array([scale[0], scale[1], scale[0], scale[1]], dtype=np.float32)
    return ImageDetections(
        boxes=dets.boxes / factor,
        labels=dets.labels,
        scores=dets.scores,
        class_probs=dets.class_probs,
        stability=dets.stability,
    )


def proposals(
    dets: ImageDetections, classes: Sequence[str], min_score: float
) -> list[dict[str, Any]]:
    """The boxes proposed to a person: those scoring at least ``min_score``.

    Args:
        dets: one image's detections, in pixels of the original image.
        classes: class names indexed by the detections' labels.
        min_score: the lowest score a proposal may have.

    Returns:
        ``{"x", "y", "width", "height", "label", "score"}`` per kept box, most
        confident first.
    """
    return [box for box in to_box_dicts(dets, classes) if box["score"] >= min_score]


def fit_detector(
    detector: TorchDetector,
    X: NDArray[np.float32],
    targets: Sequence[BoxTargets],
    is_val: NDArray[np.bool_],
) -> DetectionMetrics | None:
    """Fit on the training split (early stopping on the validation split) and validate.

    Args:
        detector: the detector, warm-started if it was fitted or loaded before.
        X: ``(n, C, H, W)`` the labeled images.
        targets: one :class:`BoxTargets` per image.
        is_val: ``(n,)`` True for images of the validation split.

    Returns:
        mAP on the validation split, or None when it is empty. With an empty
        training split the validation images are trained on instead.
    """
    train, val = np.flatnonzero(~is_val).tolist(), np.flatnonzero(is_val).tolist()
    if not train:  # nothing to train on but validation images: train on them
        train, val = val, []
    if not val:
        detector.fit(X[train], [targets[i] for i in train])
        return None
    val_targets = [targets[i] for i in val]
    detector.fit(X[train], [targets[i] for i in train], X[val], val_targets)
    return detection_map(detector.predict(X[val]), val_targets, list(detector.classes))


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


def rank_detections(
    strategy: DetectionStrategy,
    detector: TorchDetector,
    X: NDArray[np.float32],
    labeled: NDArray[np.bool_],
    size: int,
    *,
    seed: int,
) -> tuple[Selection, list[ImageDetections]]:
    """Rank the unlabeled images of a pool by a detection strategy.

    The pool is predicted (and embedded, for strategies that read
    embeddings) once and scored once.

    Args:
        strategy: the detection strategy.
        detector: the fitted detector.
        X: ``(n, C, H, W)`` every image of the pool, labeled ones included
            (core-set measures coverage from them).
        labeled: ``(n,)`` True where an image has a label; never ranked.
        size: how many to rank.
        seed: seed of the strategy's random choices.

    Returns:
        The ranking (indices into ``X``, the strategy's scores or None for
        random), and the detections of every image in model-input pixels;
        with ``size < 1`` (nothing to rank) neither is computed and both are
        empty.
    """
    if size < 1:  # every image is labeled: nothing to rank
        return Selection(np.zeros(0, dtype=np.int64), None), []
    stability = "stability" in strategy.requires
    detections = detector.predict(X, stability=stability)
    pool = DetectionPool(
        class_probs=[d.class_probs for d in detections],
        scores=[d.scores for d in detections],
        stability=[_stable(d) for d in detections] if stability else None,
        embeddings=detector.embed(X) if "embeddings" in strategy.requires else None,
        labeled=labeled,
    )
    picked, scores = strategy.select_scored(pool, size, random_state=seed)
    indices = np.asarray(picked, dtype=np.int64)
    ranked = None if strategy.name == "random" else scores[indices]
    return Selection(indices, ranked), detections


def _stable(dets: ImageDetections) -> NDArray[np.float32]:
    if dets.stability is None:  # predict(stability=True) always fills it
        raise ValueError("detections lack stability; predict them with stability=True")
    return dets.stability


def warm_detector(ws: Workspace) -> TorchDetector:
    """The project's detector, holding the last round's weights when there are any."""
    cfg = ws.config
    detector = make_detector(
        cfg.learner,
        cfg.classes,
        image_channels=ws.input_geometry()[0],
        random_state=cfg.seed,
        epochs=cfg.detection.epochs,
        min_steps=cfg.detection.min_steps,
    )
    last = latest_model(ws)
    if last is not None and last.path is not None:
        # Saved for other classes or channels: start afresh.
        with contextlib.suppress(WeightsMismatchError):
            detector.load(ws.root / last.path)
    return detector


def _scales(items: Sequence[Item], X: NDArray[np.float32]) -> list[tuple[float, float]]:
    """``(sx, sy)`` from each item's original pixels to model-input pixels."""
    height, width = X.shape[2:]
    return [(width / item.width, height / item.height) for item in items]


def _cold_ranking(
    ws: Workspace, items: list[Item], human: NDArray[np.bool_], size: int
) -> Selection:
    """Before any model: the configured cold start on pixels, the rest at random."""
    cfg = ws.config
    seed = cfg.seed + len(ws.store.rounds(ws.project.id))
    if cfg.cold_start == "random":
        view = Pool(labeled=human)
        return select_batch(make_strategy("random", random_state=seed), view, size)
    pixels = ws.load_arrays(items).reshape(len(items), -1)
    first = select_batch(
        make_strategy(cfg.cold_start, random_state=seed),
        Pool(labeled=human, embeddings=pixels),
        min(size, cfg.batch_size),
    )
    taken = human.copy()
    taken[first.indices] = True
    rest = select_batch(
        make_strategy("random", random_state=seed),
        Pool(labeled=taken),
        size - len(first.indices),
    )
    return Selection(np.concatenate([first.indices, rest.indices]), None)


def _box_scores(boxes: Sequence[dict[str, Any]]) -> NDArray[np.float64]:
    return np.array([b["score"] for b in boxes], dtype=np.float64)


def _auto_candidates(
    proposed: dict[int, list[dict[str, Any]]],
) -> list[tuple[int, Any, float]]:
    """``(item_id, boxes without scores, least certain box's score)``; no boxes scores 0."""
    return [
        (
            item_id,
            [{k: b[k] for k in ("x", "y", "width", "height", "label")} for b in boxes],
            least_certain_box(_box_scores(boxes), empty=0.0),
        )
        for item_id, boxes in proposed.items()
    ]


def _ranked_items(
    items: Sequence[Item], ranking: Selection, proposed: dict[int, list[dict[str, Any]]]
) -> list[RankedItem]:
    """The round's ranking rows: score, proposals as JSON text, least certain box's score."""
    ranked = []
    for rank, i in enumerate(ranking.indices.tolist()):
        boxes = proposed.get(items[i].id)
        ranked.append(
            RankedItem(
                item_id=items[i].id,
                score=None if ranking.scores is None else float(ranking.scores[rank]),
                predicted=None if boxes is None else json.dumps(boxes),
                confidence=least_certain_box(_box_scores(boxes)) if boxes else None,
            )
        )
    return ranked


@dataclass
class _Fitted:
    """What the fit-and-score part of a round produced."""

    model_id: int
    version: str
    ranking: Selection
    proposed: dict[int, list[dict[str, Any]]]


def _fit_and_rank(
    ws: Workspace,
    snapshot_id: int,
    pairs: list[tuple[Item, LabelEvent]],
    items: list[Item],
    human: NDArray[np.bool_],
    size: int,
    metrics: dict[str, Any],
    step: Progress,
) -> _Fitted:
    """Fit the warm detector on the labeled items, save it, rank and propose for the rest."""
    cfg = ws.config
    pid = ws.project.id
    position = {item.id: i for i, item in enumerate(items)}
    step("load images", 0.1)
    X = ws.load_arrays(items)
    scales = _scales(items, X)
    idx = np.array([position[item.id] for item, _ in pairs], dtype=np.int64)
    targets = [
        boxes_to_targets(event.value, cfg.classes, scales[i])
        for (_, event), i in zip(pairs, idx.tolist(), strict=True)
    ]
    is_val = np.array([item.split == "val" for item, _ in pairs])
    detector = warm_detector(ws)
    step("fit", 0.3)
    validation = fit_detector(detector, X[idx], targets, is_val)
    metrics |= {"n_train": int((~is_val).sum()), "n_val": int(is_val.sum())}
    if validation is not None:
        metrics["validation"] = validation.to_dict()
    model = ws.store.add_model(pid, snapshot_id, cfg.learner, metrics)
    ws.models_dir.mkdir(parents=True, exist_ok=True)
    path = ws.models_dir / f"{model.version}.pt"
    detector.save(path)
    ws.store.set_model_path(model.id, path.relative_to(ws.root).as_posix())
    step("score pool", 0.7)
    strategy = detection_strategy(
        cfg.strategy, min_score=cfg.detection.min_score, empty_policy=cfg.detection.empty_policy
    )
    seed = cfg.seed + len(ws.store.rounds(pid))
    ranking, detections = rank_detections(strategy, detector, X, human, size, seed=seed)
    proposed = {
        items[i].id: proposals(
            _rescaled(detections[i], scales[i]), cfg.classes, cfg.detection.min_score
        )
        for i in np.flatnonzero(~human).tolist()
    }
    return _Fitted(model.id, model.version, ranking, proposed)


def run_detection_round(ws: Workspace, *, on_step: Progress | None = None) -> RoundResult:
    """Run one round of a detection project and swap in its ranking.

    With no labels yet the round ranks by the project's cold start and records
    no model. Otherwise it fits the detector on the snapshot's human (and
    imported) labels, records validation mAP@0.5 and mAP@[.5:.95] when the
    validation split has images, saves the model, and ranks every unlabeled
    image (up to ``ranking_size``) by the project's detection strategy.

    Args:
        ws: the open detection project.
        on_step: called with each step's name and the fraction of the round done.

    Returns:
        The recorded round, its metrics, and the number of auto-label events.
    """
    step = on_step or (lambda _name, _done: None)
    cfg = ws.config
    pid = ws.project.id
    step("snapshot", 0.0)
    snapshot = ws.store.create_snapshot(pid, note="round")
    pairs = _trained_on(ws.store.snapshot_labels(pid, snapshot.id))
    items = ws.store.items(pid)
    position = {item.id: i for i, item in enumerate(items)}
    human = np.zeros(len(items), dtype=bool)
    human[[position[item.id] for item, _ in pairs]] = True
    metrics: dict[str, Any] = {"n_labeled": len(pairs), "n_pool": len(items)}
    size = min(int((~human).sum()), max(cfg.ranking_size, cfg.batch_size))
    fitted = None
    if pairs:
        fitted = _fit_and_rank(ws, snapshot.id, pairs, items, human, size, metrics, step)
        ranking = fitted.ranking
    elif size:
        ranking = _cold_ranking(ws, items, human, size)
    else:
        ranking = Selection(np.zeros(0, dtype=np.int64), None)
    step("rank", 0.85)
    ranked = _ranked_items(items, ranking, {} if fitted is None else fitted.proposed)
    auto = 0
    trusted = len(pairs) >= cfg.auto_label_min_labels
    if fitted is not None and cfg.auto_label_threshold is not None and trusted:
        step("auto-label", 0.95)
        auto = ws.store.leases.record_auto_labels(
            pid,
            model_version=fitted.version,
            predictions=_auto_candidates(fitted.proposed),
            threshold=cfg.auto_label_threshold,
        )
        metrics["auto_labels_written"] = auto
    record = ws.store.add_round(
        pid,
        snapshot_id=snapshot.id,
        model_id=None if fitted is None else fitted.model_id,
        strategy=cfg.strategy if fitted is not None else cfg.cold_start,
        ranking=ranked,
        batch_size=cfg.batch_size,
        metrics=metrics,
    )
    step("done", 1.0)
    return RoundResult(record, metrics, auto)
