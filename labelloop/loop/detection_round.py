"""The detection plug-in of the round pipeline (:mod:`labelloop.loop.pipeline`).

The detector is warm-started from the last round's saved weights and fitted
on the box labels; the pool streams through it a chunk at a time. Boxes are
stored in each image's own pixels (upright) and carried to the model's input
and back by the project's resize policy (:func:`labelloop.data.arrays.placement`),
so photos of any size work at any model input size. Each ranked item carries
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
import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from labelloop.data.arrays import Placement, placement
from labelloop.learners.detection import (
    BoxTargets,
    DetectionMetrics,
    ImageDetections,
    TorchDetector,
    detection_map,
    make_detector,
    to_box_dicts,
)
from labelloop.learners.errors import WeightsMismatchError
from labelloop.loop.engine import Selection, rank_range
from labelloop.loop.models import latest_model
from labelloop.loop.pipeline import RoundContext, ScoredPool
from labelloop.loop.workspace import Workspace
from labelloop.scale import PoolScores, ScoreRequest
from labelloop.scale.local import stream_images
from labelloop.store import Item, RankedItem
from labelloop.strategies import Pool, make_strategy
from labelloop.strategies.detection import (
    DetectionPool,
    DetectionStrategy,
    least_certain_box,
    make_detection_strategy,
)

__all__ = [
    "DETECTION",
    "DetectionTask",
    "boxes_to_targets",
    "detection_strategy",
    "fit_detector",
    "proposals",
    "rank_detections",
    "select_detections",
    "to_original",
    "warm_detector",
]


def boxes_to_targets(
    value: Sequence[dict[str, Any]],
    classes: Sequence[str],
    where: Placement | None = None,
) -> BoxTargets:
    """A stored detection label as the detector's targets.

    Args:
        value: the label: ``{"x", "y", "width", "height", "label"}`` per box,
            in pixels of the original (upright) image; empty for "no objects".
        classes: the project's classes, indexed by the targets' labels.
        where: how the image was placed in the model input (its resize
            policy; :func:`labelloop.data.arrays.placement`); None for as is.

    Returns:
        ``boxes (m, 4)`` xywh in model-input pixels and ``labels (m,)``.
    """
    where = where or Placement()
    boxes = np.array(
        [
            [
                b["x"] * where.sx + where.ox,
                b["y"] * where.sy + where.oy,
                b["width"] * where.sx,
                b["height"] * where.sy,
            ]
            for b in value
        ],
        dtype=np.float32,
    ).reshape(-1, 4)
    labels = np.array([classes.index(str(b["label"])) for b in value], dtype=np.int64)
    return BoxTargets(boxes=boxes, labels=labels)


def to_original(dets: ImageDetections, where: Placement, image: tuple[int, int]) -> ImageDetections:
    """Detections in model-input pixels moved back to the image's own pixels.

    Args:
        dets: one image's detections in model-input pixels.
        where: how the image was placed in the model input.
        image: the image's ``(height, width)``; boxes are clipped to it (a
            letterboxed image's padding is not part of it).

    Returns:
        The detections with ``boxes`` in the image's pixels.
    """
    if where == Placement():
        return dets
    height, width = image
    x0 = np.clip((dets.boxes[:, 0] - where.ox) / where.sx, 0, width)
    y0 = np.clip((dets.boxes[:, 1] - where.oy) / where.sy, 0, height)
    x1 = np.clip((dets.boxes[:, 0] + dets.boxes[:, 2] - where.ox) / where.sx, 0, width)
    y1 = np.clip((dets.boxes[:, 1] + dets.boxes[:, 3] - where.oy) / where.sy, 0, height)
    boxes = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1).astype(np.float32).reshape(-1, 4)
    return ImageDetections(
        boxes=boxes,
        labels=dets.labels,
        scores=dets.scores,
        class_probs=dets.class_probs,
        stability=dets.stability,
    )


def _iou_with(box: NDArray[np.float64], others: NDArray[np.float64]) -> NDArray[np.float64]:
    """Intersection over union of one ``x, y, width, height`` box with each of ``others``."""
    left = np.maximum(box[0], others[:, 0])
    top = np.maximum(box[1], others[:, 1])
    right = np.minimum(box[0] + box[2], others[:, 0] + others[:, 2])
    bottom = np.minimum(box[1] + box[3], others[:, 1] + others[:, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    union = box[2] * box[3] + others[:, 2] * others[:, 3] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def proposals(
    dets: ImageDetections,
    classes: Sequence[str],
    min_score: float,
    merge_iou: float | None = 0.6,
) -> list[dict[str, Any]]:
    """The boxes proposed to a person: one per object, scoring at least ``min_score``.

    The detector suppresses overlapping boxes only within a class, so one
    object often comes back twice, once per likely class. Proposals go through
    class-agnostic non-maximum suppression: boxes are taken by score
    descending, and a box overlapping a kept one by more than ``merge_iou``
    joins it instead of being proposed. The kept box's class distribution is
    the score-weighted mean of its group's, so the evidence of the suppressed
    boxes is kept; its label is that distribution's most likely class and its
    score the group's best.

    Args:
        dets: one image's detections, in pixels of the original image.
        classes: class names indexed by the detections' labels.
        min_score: the lowest score a proposal may have.
        merge_iou: overlap above which boxes are one object; None keeps every box.

    Returns:
        ``{"x", "y", "width", "height", "label", "score", "classes"}`` per kept
        box, most confident first; ``classes`` maps the likeliest classes
        (probability at least 0.05, at most three) to their probability.
    """
    boxes = to_box_dicts(dets, classes)
    order = [
        i
        for i in np.argsort(-dets.scores, kind="stable").tolist()
        if boxes[i]["score"] >= min_score
    ]
    if not order:
        return []
    xywh = dets.boxes.astype(np.float64)
    probs = dets.class_probs.astype(np.float64)
    groups: list[list[int]] = []
    for i in order:
        if merge_iou is not None and groups:
            heads = np.array([g[0] for g in groups])
            overlap = _iou_with(xywh[i], xywh[heads])
            best = int(np.argmax(overlap))
            if overlap[best] > merge_iou:
                groups[best].append(i)
                continue
        groups.append([i])
    out = []
    for group in groups:
        weights = dets.scores[group].astype(np.float64)
        mixed = weights @ probs[group] / max(float(weights.sum()), 1e-12)
        top = np.argsort(-mixed, kind="stable")[:3]
        out.append(
            {
                **boxes[group[0]],
                "label": classes[int(top[0])],
                "classes": {
                    classes[int(k)]: round(float(mixed[k]), 4) for k in top if mixed[k] >= 0.05
                },
            }
        )
    return out


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


def _placements(ws: Workspace, items: Sequence[Item]) -> list[Placement]:
    """How each item's image is placed in the model input."""
    size = ws.input_geometry()[1]
    return [placement((item.height, item.width), size, ws.config.resize) for item in items]


def _nothing(n_classes: int) -> ImageDetections:
    """The detections of an image that could not be read: none."""
    return ImageDetections(
        boxes=np.zeros((0, 4), dtype=np.float32),
        labels=np.zeros(0, dtype=np.int64),
        scores=np.zeros(0, dtype=np.float32),
        class_probs=np.zeros((0, n_classes), dtype=np.float32),
        stability=np.zeros(0, dtype=np.float32),
    )


@dataclass
class _Scored(ScoredPool):
    """A pass over the pool: detections in each image's own pixels, or cold-start thumbnails."""

    detections: list[ImageDetections] | None = None


class DetectionTask:
    """Boxes per image: the detector, its proposals, and auto labels from confident boxes."""

    name = "detection"
    watches_concept = False

    def fit(self, ctx: RoundContext) -> TorchDetector:
        """Load the labeled images, carry their boxes into model pixels, fit the warm detector."""
        cfg = ctx.ws.config
        items = [item for item, _ in ctx.pairs]
        X = ctx.ws.load_arrays(items)
        targets = [
            boxes_to_targets(event.value, cfg.classes, where)
            for (_, event), where in zip(ctx.pairs, _placements(ctx.ws, items), strict=True)
        ]
        is_val = np.array([item.split == "val" for item in items])
        detector = warm_detector(ctx.ws)
        ctx.step("fit", 0.3)
        validation = fit_detector(detector, X, targets, is_val)
        ctx.metrics.n_train, ctx.metrics.n_val = int((~is_val).sum()), int(is_val.sum())
        if validation is not None:
            ctx.metrics.validation = validation.to_dict()
        return detector

    def score(self, ctx: RoundContext, model: Any, strategy: str) -> _Scored | None:
        """Stream the pool through the detector, a chunk at a time.

        Without a model, the cold start's thumbnails come from the pool
        scorer (none for a random start).
        """
        ws, cfg = ctx.ws, ctx.ws.config
        channels, size = ws.input_geometry()
        assert size is not None, "a project with items has an input size"
        paths = [ws.image_path(item) for item in ctx.items]
        if model is None:
            if not make_strategy(strategy, random_state=ctx.seed).requires:
                return None
            request = ScoreRequest(
                paths,
                channels,
                size,
                cfg.resize,
                frozenset({"pixels"}),
                cache_dir=ws.root / "cache" / "cold-start",
            )
            return _Scored(ctx.scorer.score(None, request))
        detector = cast(TorchDetector, model)
        chosen = detection_strategy(
            strategy, min_score=cfg.detection.min_score, empty_policy=cfg.detection.empty_policy
        )
        request = ScoreRequest(
            paths, channels, size, cfg.resize, frozenset(), cache_dir=ws.root / "cache" / "round"
        )
        scores = PoolScores.allocate(None, request, len(paths))
        placements = _placements(ws, ctx.items)
        stability = "stability" in chosen.requires
        detections: list[ImageDetections] = []
        n = len(paths)
        chunks = stream_images(request, cfg.scale.chunk_size, cfg.scale.workers)
        for rows, images, ok in chunks:
            scores.ok[rows] = ok
            found = detector.predict(images, stability=stability)
            for offset, dets in enumerate(found):
                i = rows.start + offset
                image = (ctx.items[i].height, ctx.items[i].width)
                good = bool(ok[offset])
                detections.append(
                    to_original(dets, placements[i], image) if good else _nothing(len(cfg.classes))
                )
            if "embeddings" in chosen.requires:
                features = detector.embed(images)
                if scores.embeddings is None:
                    scores.embeddings = scores.new_array("embeddings", (n, features.shape[1]))
                scores.embeddings[rows] = features
            ctx.step("score pool", 0.6 + 0.2 * rows.stop / n)
        scores.flush()
        return _Scored(scores, detections)

    def judge(self, ctx: RoundContext, model: Any, scored: Any) -> bool:
        """A detector is trusted as soon as it is fitted (no collapse measure for boxes)."""
        return True

    def observe(self, ctx: RoundContext, scored: Any) -> None:
        """The stopping rules read classification rounds only."""

    def rank(
        self,
        ctx: RoundContext,
        strategy: str,
        scored: Any,
        taken: NDArray[np.bool_],
        size: int,
    ) -> Selection:
        """By the detection strategy over the detections; before a model, the cold start."""
        cfg = ctx.ws.config
        if scored is None or scored.detections is None:
            pixels = None if scored is None else scored.scores.pixels
            if pixels is not None:
                pixels = np.where(scored.ok[:, None], pixels, 0.0)
            cold = make_strategy(strategy, random_state=ctx.seed)
            view = Pool(labeled=taken, embeddings=pixels)
            return rank_range(cold, view, size, None, batch_size=cfg.batch_size, seed=cfg.seed)
        chosen = detection_strategy(
            strategy, min_score=cfg.detection.min_score, empty_policy=cfg.detection.empty_policy
        )
        embeddings = scored.scores.embeddings
        if embeddings is not None:
            embeddings = np.where(scored.ok[:, None], embeddings, 0.0)
        return select_detections(chosen, scored.detections, embeddings, taken, size, seed=ctx.seed)

    def _proposed(self, ctx: RoundContext, scored: Any) -> dict[int, list[dict[str, Any]]]:
        if "proposed" not in ctx.state:
            cfg = ctx.ws.config
            ctx.state["proposed"] = {
                ctx.items[i].id: proposals(
                    scored.detections[i],
                    cfg.classes,
                    cfg.detection.min_score,
                    cfg.detection.proposal_iou,
                )
                for i in np.flatnonzero(~ctx.human & scored.ok).tolist()
            }
        proposed: dict[int, list[dict[str, Any]]] = ctx.state["proposed"]
        return proposed

    def ranked_items(
        self, ctx: RoundContext, selection: Selection, scored: Any
    ) -> list[RankedItem]:
        """Each ranked item with the boxes proposed for it (in its own pixels)."""
        proposed = {} if scored is None else self._proposed(ctx, scored)
        return _ranked_items(ctx.items, selection, proposed)

    def auto_candidates(self, ctx: RoundContext, scored: Any) -> list[tuple[int, Any, float]]:
        """Proposed boxes per unlabeled image, with the score of the least certain one."""
        return _auto_candidates(self._proposed(ctx, scored))

    def extras(self, ctx: RoundContext, model: Any, scored: Any) -> list[int]:
        """Detection adds nothing to the queue."""
        return []


DETECTION = DetectionTask()
"""The detection plug-in the pipeline uses."""
