"""No box label wasted: detection rounds validate on a held-out side, then refit on every label."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.typing import NDArray

from labelloop.learners.detection import BoxTargets, ImageDetections, TorchDetector
from labelloop.loop.detection_round import fit_detector

CLASSES = ("square", "cross")
SIZE = 64


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _scenes(n: int, seed: int) -> tuple[NDArray[np.float32], list[BoxTargets]]:
    """``n`` noisy canvases; the even ones hold a square, the odd ones a cross (16-24 px)."""
    rng = np.random.default_rng(seed)
    images = rng.normal(0.15, 0.05, (n, 1, SIZE, SIZE)).clip(0, 1).astype(np.float32)
    targets = []
    for index, image in enumerate(images[:, 0]):
        s = int(rng.integers(16, 25))
        x, y = (int(v) for v in rng.integers(0, SIZE - s, 2))
        if index % 2 == 0:
            image[y : y + s, x : x + s] = 0.9
        else:
            image[y + s // 2 - 2 : y + s // 2 + 2, x : x + s] = 0.9
            image[y : y + s, x + s // 2 - 2 : x + s // 2 + 2] = 0.9
        targets.append(BoxTargets(np.array([[x, y, s, s]], np.float32), np.array([index % 2])))
    return images, targets


def _detector() -> TorchDetector:
    return TorchDetector(
        CLASSES,
        device="cpu",
        epochs=1,
        batch_size=4,
        min_epoch_samples=0,
        min_steps=6,
        score_threshold=0.0,
    )


def _finds_a_cross(detections: list[ImageDetections]) -> list[bool]:
    """Per image, whether any box (of any score) is labeled "cross"."""
    return [bool((d.labels == 1).any()) for d in detections]


def test_a_class_labeled_only_on_the_validation_side_is_learned_by_the_refit() -> None:
    """Crosses appear only on the validation side: the held-out detector, which gives
    the metrics, cannot know them; the refitted detector, which ranks, must."""
    images, targets = _scenes(16, seed=3)
    is_val = np.array([bool(t.labels.size and t.labels[0] == 1) for t in targets])
    held_out = _detector()
    metrics_held_out = fit_detector(held_out, images, targets, is_val, refit=False)
    refitted = _detector()
    metrics = fit_detector(refitted, images, targets, is_val)
    assert metrics is not None and metrics_held_out is not None
    assert metrics.to_dict() == metrics_held_out.to_dict()  # the held-out model's figures
    assert metrics.per_class_ap50["cross"] == 0.0
    assert not any(_finds_a_cross(held_out.predict(images[is_val])))
    assert all(_finds_a_cross(refitted.predict(images[is_val])))


def test_without_a_validation_side_the_fit_is_the_final_model() -> None:
    images, targets = _scenes(6, seed=4)
    detector = _detector()
    assert fit_detector(detector, images, targets, np.zeros(6, dtype=bool)) is None
    assert not hasattr(detector, "refit_epochs_")  # one fit on every label, no refit
