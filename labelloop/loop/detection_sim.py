"""Simulated active learning for object detection: the loop with an oracle giving boxes.

The ``detection`` mode of :func:`labelloop.loop.simulation.simulate`; it
writes the same files as the classification simulation: ``curves.csv`` with the
header ``strategy,repeat,n_labeled,accuracy``, where for detection the
``accuracy`` column holds the test **mAP@0.5**; ``rounds.jsonl`` with each
round's full test metrics (mAP@0.5, mAP@[.5:.95], per-class AP@0.5) and
``"metric": "map50"``; ``summary.json`` (which says ``"metric": "map50"``);
and ``curves.png``.

Every strategy starts a repeat from the same seed set and the same detector
initialisation; the detector is warm-started from round to round, as in a
project. Rows are flushed as each round finishes.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from labelloop.data.detection_demo import DetectionDemo, detection_demo_arrays
from labelloop.errors import LabelloopError
from labelloop.learners.detection import BoxTargets, detection_map, make_detector
from labelloop.learners.registry import DETECTION_LEARNERS
from labelloop.loop.detection_ranking import detection_strategy, rank_detections
from labelloop.loop.simulation import BatchSettingsBase, Emit, SimulationMode, simulate
from labelloop.monitor.curves import CurvePoint
from labelloop.strategies.registry import DETECTION_STRATEGIES

__all__ = [
    "DETECTION_METRIC",
    "DetectionMode",
    "DetectionSimulationSettings",
    "UnknownDetectionDatasetError",
    "load_detection_dataset",
    "run_detection_simulation",
]

DETECTION_METRIC = "map50"
"""What the ``accuracy`` column of a detection simulation's ``curves.csv`` holds."""

DEMO_DATASET = "detection-demo"


class UnknownDetectionDatasetError(LabelloopError, ValueError):
    """A detection simulation was asked for a dataset it does not know."""


class DetectionSimulationSettings(BatchSettingsBase):
    """How a detection simulation runs.

    Attributes:
        strategies: detection strategy names
            (:data:`~labelloop.strategies.registry.DETECTION_STRATEGIES`).
        learner: the detector architecture
            (:data:`~labelloop.learners.registry.DETECTION_LEARNERS`).
        batch_size: images queried per round.
        budget: total labeled images per run, at least ``seed_size``.
        test_fraction: share of the dataset held out for the test mAP.
        epochs: detector epochs per round.
        min_steps: fewest optimiser steps per round (more epochs on few images).
        min_score: boxes below it are not detections for the strategies.
        empty_policy: score of images without a detection (uncertainty strategies).
        targets: mAP@0.5 levels whose labels-to-reach the summary reports.
    """

    strategy_registry = DETECTION_STRATEGIES
    learner_registry = DETECTION_LEARNERS

    learner: str = "fcos_tiny"
    budget: int = 100
    test_fraction: float = Field(0.25, gt=0.0, lt=1.0)
    epochs: int = Field(5, ge=1)
    min_steps: int = Field(160, ge=0)
    min_score: float = 0.1
    empty_policy: str = "max"
    targets: tuple[float, ...] = (0.3, 0.4, 0.5)


def load_detection_dataset(spec: str, *, n_images: int = 400, seed: int = 0) -> DetectionDemo:
    """A detection dataset for simulation by name.

    Args:
        spec: ``detection-demo`` (digits on cluttered 64x64 canvases, all ten
            classes) or ``detection-demo:0,1,2`` for a subset of the digits.
        n_images: how many images to generate.
        seed: the generator's seed.

    Returns:
        Images with their exact boxes.

    Raises:
        UnknownDetectionDatasetError: the name is not one of these.
    """
    name, _, subset = spec.partition(":")
    if name != DEMO_DATASET:
        raise UnknownDetectionDatasetError(
            f"unknown detection dataset {spec!r}; use {DEMO_DATASET!r} "
            f"(or '{DEMO_DATASET}:0,1,2' for some of the digits)"
        )
    if subset:
        classes = tuple(c.strip() for c in subset.split(",") if c.strip())
        return detection_demo_arrays(n_images, classes=classes, seed=seed)
    return detection_demo_arrays(n_images, seed=seed)


def _targets(data: DetectionDemo) -> list[BoxTargets]:
    return [
        BoxTargets(boxes=b.astype(np.float32), labels=lab)
        for b, lab in zip(data.boxes, data.labels, strict=True)
    ]


def _split(n: int, test_fraction: float, seed: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Pool and test indices, a seeded permutation cut once."""
    order = np.random.default_rng(seed).permutation(n).astype(np.int64)
    n_test = max(1, round(n * test_fraction))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


class DetectionMode(SimulationMode[DetectionDemo, DetectionSimulationSettings]):
    """Object detection: the oracle gives boxes, the curves hold the test mAP@0.5.

    The summary leads with ``"metric": "map50"`` and ``accuracy_column`` and
    reports labels-to-reach at the settings' ``targets``.
    """

    def split(
        self, data: DetectionDemo, settings: DetectionSimulationSettings
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        return _split(len(data.images), settings.test_fraction, settings.seed)

    def run_one(
        self,
        data: DetectionDemo,
        pool: NDArray[np.int64],
        test: NDArray[np.int64],
        strategy_name: str,
        repeat: int,
        settings: DetectionSimulationSettings,
        emit: Emit,
    ) -> None:
        """One strategy, one repeat: rounds until the budget is spent."""
        seed = settings.seed + repeat
        targets = _targets(data)
        X_pool, X_test = data.images[pool], data.images[test]
        pool_targets = [targets[i] for i in pool.tolist()]
        test_targets = [targets[i] for i in test.tolist()]
        rng = np.random.default_rng(seed)
        labeled = np.zeros(len(pool), dtype=bool)
        labeled[rng.choice(len(pool), size=min(settings.seed_size, len(pool)), replace=False)] = (
            True
        )
        detector = make_detector(
            settings.learner,
            data.classes,
            random_state=seed,
            epochs=settings.epochs,
            min_steps=settings.min_steps,
        )
        strategy = detection_strategy(
            strategy_name, min_score=settings.min_score, empty_policy=settings.empty_policy
        )
        for round_index in range(settings.rounds()):
            chosen = np.flatnonzero(labeled).tolist()
            detector.fit(X_pool[chosen], [pool_targets[i] for i in chosen])
            tested = detection_map(detector.predict(X_test), test_targets, data.classes)
            n_labeled = len(chosen)
            emit(
                CurvePoint(strategy_name, repeat, n_labeled, tested.map50),
                {"metric": DETECTION_METRIC, "test": tested.to_dict()},
            )
            room = settings.budget - n_labeled
            if room <= 0 or labeled.all():
                return
            ranking, _ = rank_detections(
                strategy,
                detector,
                X_pool,
                labeled,
                min(settings.batch_size, room),
                seed=seed * 1000 + round_index,
            )
            labeled[ranking.indices] = True

    def title(self, settings: DetectionSimulationSettings) -> str:
        return f"Detection active learning ({settings.learner}): test mAP@0.5"

    def header(self, settings: DetectionSimulationSettings) -> dict[str, object]:
        return {
            "metric": DETECTION_METRIC,
            "accuracy_column": "test mAP@0.5 (COCO, 101-point interpolation)",
        }

    def targets(self, settings: DetectionSimulationSettings) -> Sequence[float]:
        return settings.targets


run_detection_simulation = partial(simulate, DetectionMode())
"""``run_detection_simulation(data, settings, out, *, on_round=None)``: each strategy, each repeat.

:func:`~labelloop.loop.simulation.simulate` in the :class:`DetectionMode`; the
summary written to ``summary.json`` says ``"metric": "map50"`` and gives per
strategy the final and mean mAP@0.5 and the labels to reach each of
``settings.targets``, with the ratio to random
(see :func:`labelloop.monitor.curves.summarize_curves`).
"""
