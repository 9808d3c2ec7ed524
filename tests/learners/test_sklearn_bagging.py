import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from labelloop.learners import (
    InvalidParameterError,
    SklearnLearner,
    SupportsSamples,
    WeightsMismatchError,
)

from .conftest import Digits

KEPT = [0, 2, 7]


def _bagged(bagging: int = 4, random_state: int = 0) -> SklearnLearner:
    estimator = LogisticRegression(max_iter=1000)
    return SklearnLearner(estimator, n_classes=10, bagging=bagging, random_state=random_state)


@pytest.fixture(scope="module")
def three_classes(digits: Digits) -> tuple[Any, Any]:
    keep = np.isin(digits.y_train, KEPT)
    return digits.X_train[keep][:60], digits.y_train[keep][:60]


@pytest.fixture(scope="module")
def fitted(three_classes: tuple[Any, Any]) -> SklearnLearner:
    return _bagged().fit(*three_classes)


def test_is_supports_samples(fitted: SklearnLearner) -> None:
    sampler: SupportsSamples = fitted  # mypy checks the signature
    assert isinstance(sampler, SupportsSamples)
    assert len(fitted.bags_) == 4


def test_samples_shape_and_columns(fitted: SklearnLearner, digits: Digits) -> None:
    samples = fitted.predict_samples(digits.X_test[:25])
    assert samples.shape == (4, 25, 10)
    np.testing.assert_allclose(samples.sum(axis=2), 1.0)
    missing = [c for c in range(10) if c not in KEPT]
    np.testing.assert_array_equal(samples[:, :, missing], 0.0)
    assert (samples[:, :, KEPT] > 0).all()


def test_samples_differ_between_bags(fitted: SklearnLearner, digits: Digits) -> None:
    samples = fitted.predict_samples(digits.X_test[:25])
    for i in range(1, 4):
        assert not np.allclose(samples[0], samples[i])


def test_fewer_samples_take_the_first_bags(fitted: SklearnLearner, digits: Digits) -> None:
    X = digits.X_test[:10]
    np.testing.assert_array_equal(
        fitted.predict_samples(X, n_samples=2), fitted.predict_samples(X)[:2]
    )
    assert fitted.predict_samples(X, n_samples=20).shape == (4, 10, 10)
    with pytest.raises(InvalidParameterError, match="n_samples"):
        fitted.predict_samples(X, n_samples=-2)


def test_predict_proba_is_the_full_fit(
    fitted: SklearnLearner, three_classes: tuple[Any, Any], digits: Digits
) -> None:
    plain = SklearnLearner(LogisticRegression(max_iter=1000), n_classes=10).fit(*three_classes)
    X = digits.X_test[:25]
    np.testing.assert_array_equal(fitted.predict_proba(X), plain.predict_proba(X))


def test_every_bag_sees_every_labeled_class(digits: Digits) -> None:
    # Two images of class 5 among 40: a plain bootstrap would miss it in about
    # one resample in eight; the stratified one never does.
    X = np.concatenate(
        [digits.X_train[digits.y_train == 1][:38], digits.X_train[digits.y_train == 5][:2]]
    )
    y = np.array([1] * 38 + [5] * 2)
    learner = _bagged(bagging=20).fit(X, y)
    for bag in learner.bags_:
        np.testing.assert_array_equal(bag.classes_, [1, 5])


def test_bootstrap_is_seeded(three_classes: tuple[Any, Any], digits: Digits) -> None:
    X = digits.X_test[:25]
    first = _bagged(random_state=3).fit(*three_classes).predict_samples(X)
    np.testing.assert_array_equal(
        _bagged(random_state=3).fit(*three_classes).predict_samples(X), first
    )
    assert not np.allclose(_bagged(random_state=4).fit(*three_classes).predict_samples(X), first)


def test_single_class_bags_predict_that_class(digits: Digits) -> None:
    X = digits.X_train[digits.y_train == 3][:5]
    learner = _bagged(bagging=2).fit(X, np.full(5, 3))
    samples = learner.predict_samples(digits.X_test[:4])
    np.testing.assert_array_equal(samples[:, :, 3], 1.0)


def test_without_bagging_says_how_to_enable(three_classes: tuple[Any, Any]) -> None:
    learner = _bagged(bagging=0).fit(*three_classes)
    assert learner.bags_ == []
    with pytest.raises(InvalidParameterError, match="bagging=10"):
        learner.predict_samples(three_classes[0][:3])


def test_save_load_keeps_bags(fitted: SklearnLearner, digits: Digits, tmp_path: Path) -> None:
    path = tmp_path / "bagged.pkl"
    fitted.save(path)
    restored = _bagged().load(path)
    X = digits.X_test[:25]
    np.testing.assert_array_equal(restored.predict_samples(X), fitted.predict_samples(X))
    with pytest.raises(WeightsMismatchError, match="bagging=4"):
        _bagged(bagging=0).load(path)


def test_loads_files_saved_before_bagging(fitted: SklearnLearner, tmp_path: Path) -> None:
    path = tmp_path / "old.pkl"
    fitted.save(path)
    with path.open("rb") as file:
        state = pickle.load(file)
    del state["bags"]
    with path.open("wb") as file:
        pickle.dump(state, file)
    restored = _bagged(bagging=0).load(path)
    assert restored.bags_ == []


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"bagging": -1}, "bagging"),
        ({"bagging": 2.0}, "bagging"),
        ({"random_state": -1}, "random_state"),
    ],
)
def test_fit_rejects_bad_params(
    params: dict[str, Any], name: str, three_classes: tuple[Any, Any]
) -> None:
    learner = SklearnLearner(LogisticRegression(), n_classes=10, **params)
    with pytest.raises(InvalidParameterError, match=name):
        learner.fit(*three_classes)
