"""TorchDetector on tiny synthetic scenes: bright squares and crosses on noisy canvases."""

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.typing import NDArray

from labelloop.learners import (
    InvalidInputError,
    NotFittedError,
    UnknownLearnerError,
    WeightsMismatchError,
)
from labelloop.learners.detection import (
    DETECTOR_NAMES,
    BoxTargets,
    ImageDetections,
    TorchDetector,
    detection_map,
    make_detector,
    to_box_dicts,
)

CLASSES = ("square", "cross")
SIZE = 64

torch.set_num_threads(1)


def scenes(n: int, seed: int = 0) -> tuple[NDArray[np.float32], list[BoxTargets]]:
    """``n`` noisy 64x64 canvases with 0-3 squares (class 0) or crosses (class 1), 12-24 px."""
    rng = np.random.default_rng(seed)
    images = rng.normal(0.15, 0.05, (n, 1, SIZE, SIZE)).clip(0, 1).astype(np.float32)
    targets = []
    for image in images[:, 0]:
        boxes, labels = [], []
        for _ in range(rng.integers(0, 4)):
            s = int(rng.integers(12, 25))
            x, y = (int(v) for v in rng.integers(0, SIZE - s, 2))
            label = int(rng.integers(0, 2))
            if label == 0:
                image[y : y + s, x : x + s] = 0.9
            else:
                image[y + s // 2 - 2 : y + s // 2 + 2, x : x + s] = 0.9
                image[y : y + s, x + s // 2 - 2 : x + s // 2 + 2] = 0.9
            boxes.append([x, y, s, s])
            labels.append(label)
        targets.append(
            BoxTargets(np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(labels, np.int64))
        )
    return images, targets


def quick(**params: object) -> TorchDetector:
    """A detector that trains for one short epoch."""
    settings: dict[str, object] = {
        "epochs": 1,
        "min_epoch_samples": 16,
        "batch_size": 8,
        "min_steps": 0,
    }
    settings.update(params)
    return TorchDetector(CLASSES, device="cpu", **settings)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def data() -> tuple[NDArray[np.float32], list[BoxTargets]]:
    return scenes(16)


@pytest.fixture(scope="module")
def fitted(data: tuple[NDArray[np.float32], list[BoxTargets]]) -> TorchDetector:
    # A low threshold so even a barely trained model reports boxes to check.
    return quick(epochs=2, score_threshold=0.0).fit(*data)


def check_detections(dets: ImageDetections, n_classes: int) -> None:
    m = dets.boxes.shape[0]
    assert dets.boxes.shape == (m, 4) and dets.boxes.dtype == np.float32
    assert dets.labels.shape == (m,) and dets.labels.dtype == np.int64
    assert dets.scores.shape == (m,) and dets.scores.dtype == np.float32
    assert dets.class_probs.shape == (m, n_classes) and dets.class_probs.dtype == np.float32
    x, y, w, h = dets.boxes.T
    assert (x >= 0).all() and (y >= 0).all() and (w >= 0).all() and (h >= 0).all()
    assert (x + w <= SIZE + 1e-4).all() and (y + h <= SIZE + 1e-4).all()
    np.testing.assert_allclose(dets.class_probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(dets.labels, dets.class_probs.argmax(axis=1))
    assert ((dets.scores >= 0) & (dets.scores <= 1)).all()
    assert (np.diff(dets.scores) <= 0).all()


def test_predict_returns_boxes_in_the_documented_format(
    fitted: TorchDetector, data: tuple[NDArray[np.float32], list[BoxTargets]]
) -> None:
    predictions = fitted.predict(data[0][:4])
    assert len(predictions) == 4
    assert sum(p.boxes.shape[0] for p in predictions) > 0
    for dets in predictions:
        check_detections(dets, len(CLASSES))
        assert dets.stability is None


def test_stability_is_a_mean_iou_per_box(
    fitted: TorchDetector, data: tuple[NDArray[np.float32], list[BoxTargets]]
) -> None:
    plain = fitted.predict(data[0][:4])
    with_stability = fitted.predict(data[0][:4], stability=True)
    for a, b in zip(plain, with_stability, strict=True):
        np.testing.assert_array_equal(a.boxes, b.boxes)
        assert b.stability is not None and b.stability.shape == a.scores.shape
        assert ((b.stability >= 0) & (b.stability <= 1)).all()
    stabilities = [b.stability for b in with_stability if b.stability is not None]
    assert max(float(s.max(initial=0)) for s in stabilities) > 0


def test_stability_of_a_mirror_symmetric_scene_is_high_for_the_best_box() -> None:
    # A centred square on a flat background looks the same mirrored; a trained
    # detector's best box on it must survive the mirror and the light noise.
    images, targets = scenes(48, seed=3)
    detector = quick(epochs=6, min_epoch_samples=48).fit(images, targets)
    canvas = np.full((1, 1, SIZE, SIZE), 0.15, dtype=np.float32)
    canvas[0, 0, 22:42, 22:42] = 0.9
    dets = detector.predict(canvas, stability=True)[0]
    assert dets.stability is not None and dets.stability.size > 0
    assert dets.stability[0] > 0.5


def test_embed_gives_one_pooled_vector_per_image(
    fitted: TorchDetector, data: tuple[NDArray[np.float32], list[BoxTargets]]
) -> None:
    features = fitted.embed(data[0][:5])
    assert features.shape == (5, 192)
    assert features.dtype == np.float32
    assert not np.allclose(features[0], features[1])


def test_fit_is_reproducible(data: tuple[NDArray[np.float32], list[BoxTargets]]) -> None:
    a = quick(score_threshold=0.0).fit(*data)
    b = quick(score_threshold=0.0).fit(*data)
    for pa, pb in zip(a.predict(data[0][:3]), b.predict(data[0][:3]), strict=True):
        np.testing.assert_array_equal(pa.boxes, pb.boxes)
        np.testing.assert_array_equal(pa.scores, pb.scores)
    c = quick(random_state=1).fit(*data)
    weights_a = torch.cat([p.flatten() for p in a.network_.parameters()])
    weights_c = torch.cat([p.flatten() for p in c.network_.parameters()])
    assert not torch.equal(weights_a, weights_c)


def weights(detector: TorchDetector) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in detector.network_.state_dict().items()}


def test_warm_start_continues_from_the_current_weights(
    data: tuple[NDArray[np.float32], list[BoxTargets]],
) -> None:
    detector = quick(epochs=2).fit(*data)
    after_first = weights(detector)
    detector.epochs = 0
    detector.fit(*data)  # no epoch runs: the weights must be the ones the first fit left
    assert all(torch.equal(after_first[k], v) for k, v in weights(detector).items())
    assert detector.history_ == []
    detector.epochs = 1
    detector.fit(*data)
    fresh = quick().fit(*data)
    assert detector.history_[0].train_loss < fresh.history_[0].train_loss


def test_cold_start_reinitialises(data: tuple[NDArray[np.float32], list[BoxTargets]]) -> None:
    detector = quick(epochs=2, warm_start=False).fit(*data)
    trained = weights(detector)
    detector.epochs = 0
    detector.fit(*data)
    initial = weights(quick(epochs=0).fit(*data))
    assert all(torch.equal(initial[k], v) for k, v in weights(detector).items())
    assert not all(torch.equal(trained[k], v) for k, v in weights(detector).items())


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "fresh"])
def test_refit_trains_on_every_image_from_where_the_validated_fit_started(
    data: tuple[NDArray[np.float32], list[BoxTargets]], warm: bool
) -> None:
    """The refit equals a fit on all images for the chosen epochs, from the same start:
    the weights the validated fit started from, not the validated model."""
    images, targets = data
    detector = quick(epochs=3, early_stopping_min_val=2)
    if warm:
        detector.fit(images, targets)  # a previous round's model to start from
    start = copy.deepcopy(detector)
    detector.fit(images[:10], targets[:10], images[10:], targets[10:])
    validated = (detector.history_, detector.best_epoch_)
    held_out = weights(detector)
    detector.refit(images, targets)
    assert (detector.history_, detector.best_epoch_) == validated
    assert detector.refit_epochs_ == validated[1] >= 1
    start.epochs = validated[1]
    expected = weights(start.fit(images, targets))
    assert all(torch.equal(expected[k], v) for k, v in weights(detector).items())
    assert not all(torch.equal(held_out[k], v) for k, v in weights(detector).items())


def test_refit_after_a_fit_that_ran_no_epoch_keeps_the_weights(
    data: tuple[NDArray[np.float32], list[BoxTargets]],
) -> None:
    images, targets = data
    with pytest.raises(NotFittedError, match="fit"):
        quick().refit(images, targets)
    detector = quick(epochs=0).fit(images[:10], targets[:10], images[10:], targets[10:])
    before = weights(detector)
    detector.refit(images, targets)
    assert detector.refit_epochs_ == 0
    assert all(torch.equal(before[k], v) for k, v in weights(detector).items())


def test_negative_images_and_validation_split_are_accepted() -> None:
    images, _ = scenes(6, seed=1)
    empty = [BoxTargets(np.zeros((0, 4), np.float32), np.zeros(0, np.int64)) for _ in range(6)]
    detector = quick(epochs=3).fit(images[:4], empty[:4], images[4:], empty[4:])
    assert len(detector.history_) >= 1
    assert all(stats.val_loss is not None for stats in detector.history_)
    assert 1 <= detector.best_epoch_ <= len(detector.history_)


def test_save_and_load_predict_identically(
    fitted: TorchDetector, data: tuple[NDArray[np.float32], list[BoxTargets]], tmp_path: Path
) -> None:
    path = tmp_path / "detector.pt"
    fitted.save(path)
    restored = quick(score_threshold=0.0).load(path)
    for a, b in zip(fitted.predict(data[0][:3]), restored.predict(data[0][:3]), strict=True):
        np.testing.assert_array_equal(a.boxes, b.boxes)
        np.testing.assert_array_equal(a.class_probs, b.class_probs)
    with pytest.raises(WeightsMismatchError, match="classes"):
        TorchDetector(("a", "b", "c"), device="cpu").load(path)


def test_load_of_a_file_whose_tensors_do_not_fit_raises_weights_mismatch(
    fitted: TorchDetector, tmp_path: Path
) -> None:
    path = tmp_path / "detector.pt"
    fitted.save(path)
    state = torch.load(path, weights_only=False)
    state["state_dict"] = {key: value[:1] for key, value in state["state_dict"].items()}
    torch.save(state, path)
    with pytest.raises(WeightsMismatchError, match="do not fit"):
        quick().load(path)


def test_to_box_dicts_gives_json_proposals() -> None:
    dets = ImageDetections(
        boxes=np.array([[1.0, 2.0, 3.0, 4.0]], np.float32),
        labels=np.array([1]),
        scores=np.array([0.75], np.float32),
        class_probs=np.array([[0.25, 0.75]], np.float32),
    )
    assert to_box_dicts(dets, CLASSES) == [
        {"x": 1.0, "y": 2.0, "width": 3.0, "height": 4.0, "label": "cross", "score": 0.75}
    ]


def test_errors_name_the_fix(data: tuple[NDArray[np.float32], list[BoxTargets]]) -> None:
    images, targets = data
    with pytest.raises(NotFittedError, match="fit"):
        quick().predict(images)
    with pytest.raises(InvalidInputError, match="one BoxTargets per image"):
        quick().fit(images, targets[:3])
    with pytest.raises(InvalidInputError, match="channels"):
        quick().fit(np.repeat(images, 3, axis=1), targets)
    bad = [BoxTargets(np.array([[1, 1, 5, 5]], np.float32), np.array([2]))] * len(targets)
    with pytest.raises(InvalidInputError, match="outside"):
        quick().fit(images, bad)
    with pytest.raises(InvalidInputError, match=r"\(m, 4\)"):
        BoxTargets(np.zeros((2, 3), np.float32), np.array([0, 1]))
    with pytest.raises(InvalidInputError, match="width and height"):
        BoxTargets(np.array([[1, 1, 0, 5]], np.float32), np.array([0]))
    with pytest.raises(UnknownLearnerError, match="fcos_tiny"):
        make_detector("yolo", CLASSES)


def test_make_detector_builds_by_name() -> None:
    assert tuple(sorted(DETECTOR_NAMES)) == DETECTOR_NAMES
    detector = make_detector("fcos_tiny", CLASSES, random_state=3, device="cpu", epochs=7)
    assert (detector.architecture, detector.random_state, detector.epochs) == ("fcos_tiny", 3, 7)


def test_resnet50_fpn_builds_and_predicts() -> None:
    images, targets = scenes(2)
    detector = make_detector("fcos_resnet50_fpn", CLASSES, device="cpu", epochs=0)
    detector.fit(images, targets)
    predictions = detector.predict(images)
    assert len(predictions) == 2
    assert detector.embed(images).shape == (2, 256 * 5)


@pytest.mark.slow
def test_training_learns_to_find_the_objects() -> None:
    images, targets = scenes(64, seed=5)
    untrained = quick(epochs=0).fit(images, targets)
    trained = quick(epochs=15, min_epoch_samples=64).fit(images, targets)
    before = detection_map(untrained.predict(images), targets, CLASSES)
    after = detection_map(trained.predict(images), targets, CLASSES)
    assert before.map50 < 0.1
    assert after.map50 > 0.5


def test_images_without_detections_give_empty_arrays(
    fitted: TorchDetector, data: tuple[NDArray[np.float32], list[BoxTargets]]
) -> None:
    strict = quick(score_threshold=0.999)
    strict.network_, strict.device_ = fitted.network_, fitted.device_
    for dets in strict.predict(data[0][:2], stability=True):
        check_detections(dets, len(CLASSES))
        assert dets.boxes.shape == (0, 4)
        assert dets.stability is not None and dets.stability.shape == (0,)
        assert to_box_dicts(dets, CLASSES) == []
