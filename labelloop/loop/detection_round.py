"""The detection plug-in of the round pipeline (:mod:`labelloop.loop.pipeline`).

The detector is warm-started from the last round's saved weights, fitted on
the training side of the box labels and validated (mAP) on the held-out side,
then, with ``refit_on_all_labels``, refitted on every label from the same
start (:func:`fit_detector`); the pool streams through it a chunk at a time. Boxes are
stored in each image's own pixels (upright) and carried to the model's input
and back by the project's resize policy (:func:`labelloop.data.arrays.placement`),
so photos of any size work at any model input size. Each ranked item carries
the model's proposals (boxes scoring at least ``detection.min_score``) as JSON
text in ``predicted`` and the score of its least certain box in
``confidence``, so the labeling view can prefill the boxes and review can
start from the least certain one. How boxes move between the image's pixels
and the model's, and how proposals are merged, is
:mod:`labelloop.loop.detection_boxes`; ranking by a detection strategy is
:mod:`labelloop.loop.detection_ranking`.

An image is auto-labeled only when the model proposes at least one box and
every proposed box scores at least ``auto_label_threshold``; an image without
proposals is never auto-labeled "no objects", since no box score measures how
sure the model is that nothing is there. Auto labels never train the model.
"""

from __future__ import annotations

import contextlib
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
)
from labelloop.learners.errors import WeightsMismatchError
from labelloop.loop.detection_boxes import boxes_to_targets, proposals, to_original
from labelloop.loop.detection_ranking import detection_strategy, select_detections
from labelloop.loop.engine import Selection
from labelloop.loop.models import latest_model
from labelloop.loop.pipeline import RoundContext, ScoredPool
from labelloop.loop.round import rank_cold_start
from labelloop.loop.workspace import Workspace
from labelloop.scale import PoolScores, ScoreRequest
from labelloop.scale.local import stream_images
from labelloop.store import Item, RankedItem
from labelloop.strategies import make_strategy
from labelloop.strategies.detection import least_certain_box

__all__ = ["DETECTION", "DetectionTask", "fit_detector", "warm_detector"]


def fit_detector(
    detector: TorchDetector,
    X: NDArray[np.float32],
    targets: Sequence[BoxTargets],
    is_val: NDArray[np.bool_],
    *,
    refit: bool = True,
) -> DetectionMetrics | None:
    """Fit on the training split (early stopping on the validation split), validate, refit.

    No label is wasted, as for classification (:func:`labelloop.loop.engine.fit_split`):
    the validation split gives honest metrics and early stopping from a model
    that did not see it, and then, with ``refit``, the detector trains again
    on every image for the epochs validation chose (:meth:`TorchDetector.refit`).
    The refitted detector is the one that ranks the pool and proposes boxes.

    Args:
        detector: the detector, warm-started if it was fitted or loaded before.
        X: ``(n, C, H, W)`` the labeled images.
        targets: one :class:`BoxTargets` per image.
        is_val: ``(n,)`` True for images of the validation split.
        refit: train the final detector on all labels.

    Returns:
        mAP on the validation split of the detector that did not see it, or
        None when it is empty. With an empty training split the validation
        images are trained on instead.
    """
    train, val = np.flatnonzero(~is_val).tolist(), np.flatnonzero(is_val).tolist()
    if not train:  # nothing to train on but validation images: train on them
        train, val = val, []
    if not val:
        detector.fit(X[train], [targets[i] for i in train])
        return None
    val_targets = [targets[i] for i in val]
    detector.fit(X[train], [targets[i] for i in train], X[val], val_targets)
    held_out = detection_map(detector.predict(X[val]), val_targets, list(detector.classes))
    if refit:
        detector.refit(X, targets)
    return held_out


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
        # Validated on the held-out side, then refitted on every label (no label wasted).
        refit = cfg.refit_on_all_labels
        validation = fit_detector(detector, X, targets, is_val, refit=refit)
        metrics = ctx.metrics
        metrics.n_train, metrics.n_val = int((~is_val).sum()), int(is_val.sum())
        metrics.refit_on = len(targets) if refit or validation is None else metrics.n_train
        if validation is not None:
            metrics.validation = validation.to_dict()
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
        if scored is None or scored.detections is None:
            return rank_cold_start(ctx, strategy, scored, taken, size)
        cfg = ctx.ws.config
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
