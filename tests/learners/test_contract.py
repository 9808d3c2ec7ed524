"""Every registered learner passes one contract, as scikit-learn's ``parametrize_with_checks``.

The cases come from :data:`~labelloop.learners.registry.LEARNERS` and
:data:`~labelloop.learners.registry.DETECTION_LEARNERS`, so a new
registration joins the suite without an edit here. Inputs are tiny (3
classes, 16x16 images, one short epoch); the torchvision backbones other
than the small-image ResNet-18 fit only under the ``slow`` marker.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from labelloop.learners import (
    InvalidParameterError,
    Learner,
    NotFittedError,
    make_learner,
)
from labelloop.learners.detection import BoxTargets, ImageDetections, TorchDetector
from labelloop.learners.registry import DETECTION_LEARNERS, LEARNERS
from labelloop.plugins import Configurable, Integer

N_CLASSES = 3
SHAPE = (1, 16, 16)
# A fit that trains at all: one epoch of a few steps.
SHORT = {"epochs": 1, "min_steps": 0, "min_epoch_samples": 0}
# A torchvision backbone costs seconds per step on a CPU even at 32 px; "resnet18"
# builds the small-image ResNet-18 unless given weights, which is cheap.
CHEAP_BACKBONES = {"resnet18"}


def _cases() -> list[Any]:
    """``(name, mode)`` pairs for every learner; backbone learners also in ``embed`` mode."""
    cases = []
    for entry in LEARNERS:
        modes = ("finetune", "embed") if "backbone" in entry.needs else ("finetune",)
        for mode in modes:
            slow = "backbone" in entry.needs and entry.name not in CHEAP_BACKBONES
            marks = [pytest.mark.slow] if slow else []
            cases.append(pytest.param((entry.name, mode), marks=marks, id=f"{entry.name}-{mode}"))
    return cases


ALL = [pytest.param(entry.name, "finetune", id=entry.name) for entry in LEARNERS]
FIT = _cases()


def _shorten(part: Configurable) -> None:
    """Cut the training budget of ``part`` and of every configurable it holds."""
    params = part.get_params()
    part.set_params(**{key: value for key, value in SHORT.items() if key in params})
    for value in params.values():
        if isinstance(value, Configurable):
            _shorten(value)


def _build(name: str, mode: str = "finetune") -> Learner:
    learner = make_learner(
        name,
        n_classes=N_CLASSES,
        input_shape=SHAPE,
        device="cpu",
        mode=mode,
        backbone_size=32,
    )
    assert isinstance(learner, Configurable)
    _shorten(learner)
    return learner


def _data(n: int, seed: int) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """``n`` noise images whose brightness says the class, every class present."""
    rng = np.random.default_rng(seed)
    y = np.arange(n, dtype=np.int64) % N_CLASSES
    X = rng.random((n, *SHAPE), dtype=np.float32) * 0.5 + y[:, None, None, None] * 0.25
    return X.astype(np.float32), y


def _bad_integer(part: Configurable) -> tuple[str, Integer]:
    """The first parameter (by name) declared an integer with a lower bound."""
    for name, constraint in sorted(part.constraints.items()):
        if isinstance(constraint, Integer) and constraint.low is not None:
            return name, constraint
    raise AssertionError(f"{type(part).__name__} declares no bounded integer parameter")


@pytest.fixture(scope="module", params=FIT)
def fitted(request: pytest.FixtureRequest) -> tuple[str, str, Learner, Learner]:
    """``(name, mode, learner, what fit returned)``, fitted on 24 images."""
    name, mode = request.param
    learner = _build(name, mode)
    returned = learner.fit(*_data(24, seed=0))
    return name, mode, learner, returned


def test_the_registry_reads_without_torch_or_sklearn() -> None:
    code = (
        "import sys, labelloop.learners.registry as r; "
        "assert r.LEARNERS.names() and r.DETECTION_LEARNERS.names(); "
        "heavy = {'torch', 'sklearn', 'torchvision'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(("name", "mode"), ALL)
def test_get_params_rebuilds_an_equal_learner(name: str, mode: str) -> None:
    learner = _build(name, mode)
    assert isinstance(learner, Configurable)
    params = learner.get_params()
    rebuilt = type(learner)(**params)
    assert rebuilt.get_params() == params
    assert repr(rebuilt) == repr(learner)
    assert rebuilt.set_params(**params) is rebuilt


@pytest.mark.parametrize(("name", "mode"), ALL)
def test_a_bad_parameter_fails_at_fit_in_the_shared_template(name: str, mode: str) -> None:
    learner = _build(name, mode)
    assert isinstance(learner, Configurable)
    param, constraint = _bad_integer(learner)
    assert constraint.low is not None
    bad = constraint.low - 1
    broken = type(learner)(**(learner.get_params() | {param: bad}))  # construction stores only
    with pytest.raises(InvalidParameterError) as caught:
        broken.fit(*_data(6, seed=1))
    assert str(caught.value).startswith(f"{param} must be {constraint.describe()}; got {bad!r}.")


@pytest.mark.parametrize(("name", "mode"), ALL)
def test_unfitted_use_raises_not_fitted(name: str, mode: str, tmp_path: Path) -> None:
    learner = _build(name, mode)
    X, _ = _data(2, seed=2)
    with pytest.raises(NotFittedError, match="fit"):
        learner.predict_proba(X)
    with pytest.raises(NotFittedError, match="fit"):
        learner.save(tmp_path / "model")
    if hasattr(learner, "predict_samples"):
        with pytest.raises(NotFittedError, match="fit"):
            learner.predict_samples(X, 2)


def test_fit_returns_self(fitted: tuple[str, str, Learner, Learner]) -> None:
    _, _, learner, returned = fitted
    assert returned is learner


def test_predict_proba_rows_are_distributions(fitted: tuple[str, str, Learner, Learner]) -> None:
    learner = fitted[2]
    probs = learner.predict_proba(_data(7, seed=3)[0])
    assert probs.shape == (7, N_CLASSES)
    assert (probs >= 0).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)


def test_predict_samples_shape(fitted: tuple[str, str, Learner, Learner]) -> None:
    learner = fitted[2]
    if not hasattr(learner, "predict_samples"):
        pytest.skip("this learner gives no samples")
    X = _data(5, seed=4)[0]
    try:
        samples = learner.predict_samples(X, 4)
    except InvalidParameterError as error:
        # Documented in SupportsSamples: a learner may decline, saying how to enable samples.
        assert "bagging" in str(error)
        return
    assert samples.ndim == 3 and 1 <= samples.shape[0] <= 4
    assert samples.shape[1:] == (5, N_CLASSES)
    np.testing.assert_allclose(samples.sum(axis=2), 1.0, atol=1e-6)


def test_save_load_gives_the_same_probabilities(
    fitted: tuple[str, str, Learner, Learner], tmp_path: Path
) -> None:
    name, mode, learner, _ = fitted
    path = tmp_path / "model"
    learner.save(path)
    restored = _build(name, mode).load(path)
    X = _data(6, seed=5)[0]
    np.testing.assert_allclose(restored.predict_proba(X), learner.predict_proba(X), atol=1e-6)


# Detection learners: the same contract, in boxes.

DETECTION = [
    pytest.param(name, marks=[pytest.mark.slow] if name != "fcos_tiny" else [], id=name)
    for name in DETECTION_LEARNERS.names()
]
CLASSES = ("a", "b")


def _detector(name: str) -> TorchDetector:
    detector = DETECTION_LEARNERS.create(
        name, classes=CLASSES, device="cpu", batch_size=4, score_threshold=0.0, **SHORT
    )
    return detector


def _scenes(n: int) -> tuple[NDArray[np.float32], list[BoxTargets]]:
    rng = np.random.default_rng(6)
    images = rng.random((n, 1, 32, 32), dtype=np.float32) * 0.2
    targets = []
    for index, image in enumerate(images[:, 0]):
        image[8:20, 8:20] = 0.9
        boxes = np.array([[8.0, 8.0, 12.0, 12.0]], dtype=np.float32)
        targets.append(BoxTargets(boxes, np.array([index % len(CLASSES)], dtype=np.int64)))
    return images, targets


@pytest.mark.parametrize("name", DETECTION)
def test_detector_params_rebuild_and_are_checked_at_fit(name: str) -> None:
    detector = _detector(name)
    params = detector.get_params()
    assert repr(type(detector)(**params)) == repr(detector)
    param, constraint = _bad_integer(detector)
    assert constraint.low is not None
    broken = type(detector)(**(params | {param: constraint.low - 1}))
    with pytest.raises(InvalidParameterError) as caught:
        broken.fit(*_scenes(2))
    assert str(caught.value).startswith(f"{param} must be {constraint.describe()};")


@pytest.mark.parametrize("name", DETECTION)
def test_detector_fits_predicts_and_round_trips(name: str, tmp_path: Path) -> None:
    images, targets = _scenes(4)
    detector = _detector(name)
    with pytest.raises(NotFittedError, match="fit"):
        detector.predict(images)
    assert detector.fit(images, targets) is detector
    found = detector.predict(images[:2])
    assert len(found) == 2 and all(isinstance(d, ImageDetections) for d in found)
    for detections in found:
        assert detections.class_probs.shape == (len(detections.boxes), len(CLASSES))
        np.testing.assert_allclose(detections.class_probs.sum(axis=1), 1.0, atol=1e-5)
    detector.save(tmp_path / "detector.pt")
    restored = _detector(name).load(tmp_path / "detector.pt")
    for mine, theirs in zip(found, restored.predict(images[:2]), strict=True):
        np.testing.assert_allclose(theirs.boxes, mine.boxes, atol=1e-4)
        np.testing.assert_allclose(theirs.scores, mine.scores, atol=1e-5)
