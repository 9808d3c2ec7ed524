from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from numpy.typing import NDArray

from labelloop.learners import (
    InvalidInputError,
    InvalidParameterError,
    NotFittedError,
    TemperatureScaler,
    TorchClassifier,
    expected_calibration_error,
)
from labelloop.learners.calibration import softmax

from .conftest import Digits

FAST: dict[str, Any] = {
    "epochs": 2,
    "min_epoch_samples": 64,
    "min_steps": 0,
    "augment": "none",
    "device": "cpu",
}


def _nll(probs: NDArray[np.float64], y: NDArray[np.int64]) -> float:
    return float(-np.log(probs[np.arange(y.shape[0]), y]).mean())


def _tempered_data(
    temperature: float, n: int, n_classes: int = 5, seed: int = 0
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Logits and labels drawn from ``softmax(logits / temperature)``."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=4.0, size=(n, n_classes))
    probs = softmax(logits, temperature)
    cumulative = probs.cumsum(axis=1)
    u = rng.random((n, 1))
    labels = np.minimum((cumulative < u).sum(axis=1), n_classes - 1).astype(np.int64)
    return logits, labels


def _overconfident(seed: int = 0) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Logits that put 8 nats on the predicted class, which is right 70% of the time."""
    rng = np.random.default_rng(seed)
    n, n_classes = 2000, 4
    y = rng.integers(0, n_classes, size=n)
    wrong = rng.random(n) < 0.3
    predicted = np.where(wrong, (y + rng.integers(1, n_classes, size=n)) % n_classes, y)
    logits = rng.normal(scale=0.5, size=(n, n_classes))
    logits[np.arange(n), predicted] += 8.0
    return logits, y.astype(np.int64)


def test_overconfident_logits_get_softened() -> None:
    logits, y = _overconfident()
    scaler = TemperatureScaler(input_kind="logits").fit(logits, y)
    assert scaler.temperature_ > 1.0
    assert _nll(scaler.transform(logits), y) < _nll(softmax(logits), y)


@pytest.mark.parametrize("true_temperature", [0.5, 1.3, 2.5])
def test_recovers_known_temperature(true_temperature: float) -> None:
    logits, y = _tempered_data(true_temperature, n=20000)
    from_logits = TemperatureScaler(input_kind="logits").fit(logits, y).temperature_
    from_probs = TemperatureScaler().fit(softmax(logits), y).temperature_
    assert from_logits == pytest.approx(true_temperature, rel=0.03)
    assert from_probs == pytest.approx(from_logits, rel=1e-4)


def test_fitted_temperature_minimises_nll() -> None:
    logits, y = _tempered_data(1.3, n=5000, seed=2)
    fitted = TemperatureScaler(input_kind="logits").fit(logits, y).temperature_
    best = _nll(softmax(logits, fitted), y)
    for factor in (0.995, 1.005):
        assert best < _nll(softmax(logits, fitted * factor), y)


def test_ece_drops_on_held_out_data() -> None:
    logits, y = _tempered_data(3.0, n=6000, seed=1)
    fit, held = slice(0, 3000), slice(3000, None)
    scaler = TemperatureScaler(input_kind="logits").fit(logits[fit], y[fit])
    before = expected_calibration_error(softmax(logits[held]), y[held])
    after = expected_calibration_error(scaler.transform(logits[held]), y[held])
    assert after < before / 2


def test_fit_is_deterministic() -> None:
    logits, y = _overconfident()
    first = TemperatureScaler(input_kind="logits").fit(logits, y).temperature_
    assert TemperatureScaler(input_kind="logits").fit(logits, y).temperature_ == first


def test_transform_keeps_top_class_and_zero_columns() -> None:
    probs = np.array([[0.7, 0.0, 0.3], [0.1, 0.0, 0.9], [0.5, 0.0, 0.5]])
    y = np.array([2, 0, 0])
    scaler = TemperatureScaler().fit(probs, y)
    out = scaler.transform(probs)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    np.testing.assert_array_equal(out[:, 1], 0.0)
    np.testing.assert_array_equal(out[:2].argmax(axis=1), probs[:2].argmax(axis=1))
    assert not np.allclose(out, probs)


def test_samples_with_zero_true_probability_are_left_out() -> None:
    logits, y = _overconfident()
    probs = softmax(logits)
    alone = TemperatureScaler().fit(probs, y)
    probs_extra = np.vstack([probs, [[0.0, 1.0, 0.0, 0.0]]])
    with_zero = TemperatureScaler().fit(probs_extra, np.append(y, 0))
    assert with_zero.n_fitted_ == alone.n_fitted_ == y.shape[0]
    assert with_zero.temperature_ == alone.temperature_
    with pytest.raises(InvalidInputError, match="probability 0"):
        TemperatureScaler().fit(np.array([[0.0, 1.0]]), np.array([0]))


def test_error_free_set_hits_lower_bound_without_prior() -> None:
    logits = np.array([[3.0, 0.0], [0.0, 2.0], [4.0, 1.0]])
    y = np.array([0, 1, 0])
    plain = TemperatureScaler(input_kind="logits", bounds=(0.1, 10.0)).fit(logits, y)
    assert plain.temperature_ == pytest.approx(0.1, rel=1e-3)
    with_prior = TemperatureScaler(input_kind="logits", prior_std=0.5).fit(logits, y)
    assert 0.4 < with_prior.temperature_ < 1.0


def test_rejects_logits_passed_as_probs() -> None:
    logits, y = _overconfident()
    with pytest.raises(InvalidInputError, match="input_kind='logits'"):
        TemperatureScaler().fit(logits, y)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"input_kind": "scores"}, "input_kind"),
        ({"bounds": (0.0, 10.0)}, "bounds"),
        ({"bounds": (5.0, 1.0)}, "bounds"),
        ({"bounds": (1.0,)}, "bounds"),
        ({"prior_std": 0.0}, "prior_std"),
        ({"prior_std": True}, "prior_std"),
    ],
)
def test_rejects_bad_params(params: dict[str, Any], name: str) -> None:
    with pytest.raises(InvalidParameterError, match=name):
        TemperatureScaler(**params).fit(np.array([[0.4, 0.6]]), np.array([1]))


def test_rejects_bad_input() -> None:
    with pytest.raises(InvalidInputError, match="2-D"):
        TemperatureScaler().fit(np.array([0.4, 0.6]), np.array([1]))
    with pytest.raises(InvalidInputError, match="empty"):
        TemperatureScaler().fit(np.zeros((0, 2)), np.zeros(0, np.int64))
    with pytest.raises(InvalidInputError, match="index 2"):
        TemperatureScaler().fit(np.array([[0.4, 0.6]]), np.array([2]))


def test_transform_before_fit_raises() -> None:
    with pytest.raises(NotFittedError, match="fit"):
        TemperatureScaler().transform(np.array([[0.4, 0.6]]))


# TorchClassifier(calibrate=True)


@pytest.fixture(scope="module")
def split(digits: Digits) -> tuple[Any, ...]:
    return (
        digits.X_train[:100],
        digits.y_train[:100],
        digits.X_train[100:200],
        digits.y_train[100:200],
    )


@pytest.fixture(scope="module")
def calibrated(split: tuple[Any, ...]) -> TorchClassifier:
    # A short fit whose learning rate decays to its floor on 100 images is far
    # from calibrated (overconfident on digits), so T moves well off 1.
    params = FAST | {"calibrate": True, "dropout": 0.0, "epochs": 4}
    return TorchClassifier("cnn", 10, (1, 8, 8), **params).fit(*split)


def _raw_probs(learner: TorchClassifier, X: NDArray[np.float32]) -> NDArray[np.float64]:
    with torch.inference_mode():
        return softmax(learner.network_(torch.from_numpy(X)).numpy())


def test_calibrate_fits_temperature_on_validation(
    calibrated: TorchClassifier, split: tuple[Any, ...]
) -> None:
    X_val, y_val = split[2], split[3]
    assert abs(np.log(calibrated.temperature_)) > 0.2
    assert calibrated.ece_before_ == pytest.approx(
        expected_calibration_error(_raw_probs(calibrated, X_val), y_val)
    )
    assert calibrated.ece_after_ == pytest.approx(
        expected_calibration_error(calibrated.predict_proba(X_val), y_val)
    )
    assert calibrated.ece_after_ is not None and calibrated.ece_before_ is not None
    assert calibrated.ece_after_ < calibrated.ece_before_


def test_calibrated_outputs_divide_logits_by_temperature(
    calibrated: TorchClassifier, digits: Digits
) -> None:
    X = digits.X_test[:50]
    with torch.inference_mode():
        logits = calibrated.network_(torch.from_numpy(X)).numpy()
    probs = calibrated.predict_proba(X)
    np.testing.assert_allclose(probs, softmax(logits, calibrated.temperature_), atol=1e-9)
    assert not np.allclose(probs, softmax(logits), atol=1e-3)
    # With dropout 0 every MC sample is the calibrated prediction.
    for sample in calibrated.predict_samples(X, n_samples=2):
        np.testing.assert_array_equal(sample, probs)


def test_uncalibrated_fit_reports_ece_and_keeps_softmax(
    split: tuple[Any, ...], digits: Digits
) -> None:
    learner = TorchClassifier("cnn", 10, (1, 8, 8), **FAST).fit(*split)
    assert learner.temperature_ == 1.0
    assert learner.ece_before_ is not None
    assert learner.ece_after_ == learner.ece_before_
    X = digits.X_test[:20]
    np.testing.assert_allclose(learner.predict_proba(X), _raw_probs(learner, X), atol=1e-9)
    learner.epochs = 0
    learner.fit(split[0], split[1])
    assert learner.ece_before_ is None and learner.ece_after_ is None


def test_save_load_keeps_temperature(
    calibrated: TorchClassifier, split: tuple[Any, ...], digits: Digits, tmp_path: Path
) -> None:
    path = tmp_path / "cnn.pt"
    calibrated.save(path)
    params = FAST | {"calibrate": True, "dropout": 0.0, "epochs": 0}
    restored = TorchClassifier("cnn", 10, (1, 8, 8), **params).load(path)
    assert restored.temperature_ == calibrated.temperature_
    assert restored.ece_before_ is None
    X = digits.X_test[:30]
    np.testing.assert_array_equal(restored.predict_proba(X), calibrated.predict_proba(X))
    # New weights void the old temperature: a fit without validation resets it.
    restored.fit(split[0], split[1])
    assert restored.temperature_ == 1.0


def test_loads_files_saved_before_temperature(
    calibrated: TorchClassifier, digits: Digits, tmp_path: Path
) -> None:
    path = tmp_path / "old.pt"
    calibrated.save(path)
    state = torch.load(path, weights_only=True)
    del state["temperature"]
    state["version"] = 1
    torch.save(state, path)
    restored = TorchClassifier("cnn", 10, (1, 8, 8), device="cpu", dropout=0.0).load(path)
    assert restored.temperature_ == 1.0
    X = digits.X_test[:10]
    np.testing.assert_allclose(restored.predict_proba(X), _raw_probs(calibrated, X), atol=1e-9)


def test_calibrate_must_be_bool(split: tuple[Any, ...]) -> None:
    learner = TorchClassifier("cnn", 10, (1, 8, 8), **FAST | {"calibrate": "yes"})
    with pytest.raises(InvalidParameterError, match="calibrate"):
        learner.fit(*split)
