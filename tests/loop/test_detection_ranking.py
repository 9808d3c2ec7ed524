"""labelloop.loop.detection_ranking: a detection strategy by name, and ranking a pool's images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labelloop.data.detection_demo import detection_demo_arrays
from labelloop.learners.detection import BoxTargets, ImageDetections, make_detector
from labelloop.loop.detection_ranking import detection_strategy, rank_detections, select_detections
from labelloop.strategies import UnknownStrategyError

CLASSES = ("0", "1", "2")


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _dets(probs: list[list[float]], *, stability: list[float] | None = None) -> ImageDetections:
    """One image's detections: a box per row of class probabilities, scored by its top class."""
    class_probs = np.array(probs, dtype=np.float32).reshape(-1, len(CLASSES))
    return ImageDetections(
        boxes=np.tile(np.array([[1, 1, 4, 4]], dtype=np.float32), (len(class_probs), 1)),
        labels=class_probs.argmax(axis=1).astype(np.int64),
        scores=class_probs.max(axis=1, initial=0.0),
        class_probs=class_probs,
        stability=None if stability is None else np.array(stability, dtype=np.float32),
    )


@pytest.mark.parametrize("name", ["coreset", "instability_sum", "entropy_sum_diverse", "random"])
def test_rank_detections_gives_each_strategy_what_it_reads(name: str) -> None:
    data = detection_demo_arrays(24, classes=CLASSES, seed=5)
    detector = make_detector(
        "fcos_tiny", CLASSES, epochs=1, min_epoch_samples=8, min_steps=0, device="cpu"
    )
    targets = [
        BoxTargets(b.astype(np.float32), lab)
        for b, lab in zip(data.boxes, data.labels, strict=True)
    ]
    detector.fit(data.images[:8], targets[:8])
    labeled = np.zeros(24, dtype=bool)
    labeled[:8] = True
    strategy = detection_strategy(name, min_score=0.05, empty_policy="max")
    ranking, detections = rank_detections(strategy, detector, data.images, labeled, 10, seed=0)
    assert len(detections) == 24 and len(ranking.indices) == 10
    assert len(set(ranking.indices.tolist())) == 10 and ranking.indices.min() >= 8
    assert (ranking.scores is None) == (name == "random")
    if name == "instability_sum":
        assert all(d.stability is not None for d in detections)


def test_rank_detections_with_nothing_to_rank_predicts_nothing() -> None:
    images = np.zeros((3, 1, 32, 32), dtype=np.float32)
    # never fitted: any predict or embed would raise NotFittedError
    detector = make_detector("fcos_tiny", CLASSES, device="cpu")
    strategy = detection_strategy("entropy_sum_diverse", min_score=0.1, empty_policy="mean")
    ranking, detections = rank_detections(
        strategy, detector, images, np.ones(3, dtype=bool), 0, seed=0
    )
    assert ranking.indices.size == 0 and detections == []


def test_detection_strategy_passes_the_projects_settings_where_the_strategy_takes_them() -> None:
    margin = detection_strategy("margin_sum", min_score=0.3, empty_policy="max").get_params()
    assert margin["min_score"] == 0.3 and margin["empty_policy"] == "max"
    # Random and core-set take neither; asking would fail, so they are left out.
    random = detection_strategy("random", min_score=0.3, empty_policy="max")
    assert "min_score" not in random.get_params()
    with pytest.raises(UnknownStrategyError, match="clairvoyant"):
        detection_strategy("clairvoyant", min_score=0.1, empty_policy="max")


def test_select_detections_ranks_the_least_certain_unlabeled_images_first() -> None:
    detections = [
        _dets([[0.34, 0.33, 0.33]]),  # the least certain, but labeled
        _dets([[0.98, 0.01, 0.01]]),
        _dets([[0.5, 0.45, 0.05]]),
        _dets([[0.8, 0.1, 0.1]]),
    ]
    labeled = np.array([True, False, False, False])
    strategy = detection_strategy("margin_max", min_score=0.0, empty_policy="max")
    ranking = select_detections(strategy, detections, None, labeled, 3, seed=0)
    assert ranking.indices.tolist() == [2, 3, 1]
    assert ranking.scores is not None and list(ranking.scores) == sorted(ranking.scores)[::-1]


def test_select_detections_seeds_random_choices_with_the_rounds_seed() -> None:
    detections = [_dets([[1.0, 0.0, 0.0]]) for _ in range(30)]
    labeled = np.zeros(30, dtype=bool)
    strategy = detection_strategy("random", min_score=0.1, empty_policy="max")
    own_seed = strategy.get_params()["random_state"]

    def picks(seed: int) -> list[int]:
        ranking = select_detections(strategy, detections, None, labeled, 5, seed=seed)
        return [int(i) for i in ranking.indices]

    assert picks(3) == picks(3) and picks(3) != picks(4)
    # The strategy passed in is left as it was: the round's seed goes to a copy.
    assert strategy.get_params()["random_state"] == own_seed


def test_select_detections_refuses_detections_without_the_stability_it_reads() -> None:
    strategy = detection_strategy("instability_sum", min_score=0.0, empty_policy="max")
    stable = [_dets([[0.9, 0.05, 0.05]], stability=[0.2])]
    ranking = select_detections(strategy, stable * 2, None, np.zeros(2, dtype=bool), 1, seed=0)
    assert len(ranking.indices) == 1
    with pytest.raises(ValueError, match="predict them with stability=True"):
        select_detections(
            strategy, [_dets([[0.9, 0.05, 0.05]])], None, np.zeros(1, dtype=bool), 1, seed=0
        )
