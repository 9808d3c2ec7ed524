import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import SVC

from labelloop.learners import (
    InvalidInputError,
    Learner,
    ModelFileCorruptError,
    ModelFileNotFoundError,
    NoPredictProbaError,
    NotFittedError,
    SklearnLearner,
    WeightsMismatchError,
)

from .conftest import Digits


def _logreg(n_classes: int = 10) -> SklearnLearner:
    return SklearnLearner(LogisticRegression(max_iter=1000), n_classes=n_classes)


def test_is_a_learner() -> None:
    assert isinstance(_logreg(), Learner)


def test_missing_classes_get_zero_columns_in_place(digits: Digits) -> None:
    keep = np.isin(digits.y_train, [0, 2, 7])
    learner = _logreg().fit(digits.X_train[keep], digits.y_train[keep])
    test = np.isin(digits.y_test, [0, 2, 7])
    probs = learner.predict_proba(digits.X_test[test])
    assert probs.shape == (test.sum(), 10)
    np.testing.assert_array_equal(probs[:, [1, 3, 4, 5, 6, 8, 9]], 0.0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    # Columns sit at the class index: the top column is the true digit.
    assert (probs.argmax(axis=1) == digits.y_test[test]).mean() > 0.95


def test_single_class_predicts_that_class(digits: Digits) -> None:
    X = digits.X_train[digits.y_train == 3][:5]
    learner = _logreg().fit(X, np.full(5, 3))
    probs = learner.predict_proba(digits.X_test[:4])
    expected = np.zeros((4, 10))
    expected[:, 3] = 1.0
    np.testing.assert_array_equal(probs, expected)
    assert learner.embed(digits.X_test[:4]).shape == (4, 64)


def test_single_class_keeps_pipeline_transform(digits: Digits) -> None:
    pipeline = make_pipeline(PCA(n_components=3), LogisticRegression())
    X = digits.X_train[:6]
    learner = SklearnLearner(pipeline, n_classes=10).fit(X, np.full(6, 1))
    assert learner.predict_proba(X)[:, 1] == pytest.approx(1.0)
    assert learner.embed(X).shape == (6, 3)


def test_fit_clones_the_estimator(digits: Digits) -> None:
    estimator = LogisticRegression(max_iter=1000)
    learner = SklearnLearner(estimator, n_classes=10).fit(digits.X_train, digits.y_train)
    assert not hasattr(estimator, "coef_")
    assert learner.estimator_ is not estimator
    assert learner.estimator is estimator


def test_embed_uses_pipeline_transform(digits: Digits) -> None:
    pipeline = make_pipeline(StandardScaler(), PCA(n_components=5), LogisticRegression())
    learner = SklearnLearner(pipeline, n_classes=10).fit(digits.X_train, digits.y_train)
    features = learner.embed(digits.X_test[:7])
    assert features.shape == (7, 5)
    assert features.dtype == np.float32
    expected = learner.estimator_[:-1].transform(digits.X_test[:7].reshape(7, -1))
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-6)


def test_embed_without_transform_is_flat_pixels(digits: Digits) -> None:
    learner = _logreg().fit(digits.X_train, digits.y_train)
    np.testing.assert_array_equal(
        learner.embed(digits.X_test[:3]), digits.X_test[:3].reshape(3, 64)
    )


def test_estimator_without_predict_proba_is_rejected(digits: Digits) -> None:
    learner = SklearnLearner(SVC(), n_classes=10)
    with pytest.raises(NoPredictProbaError, match="SVC") as info:
        learner.fit(digits.X_train, digits.y_train)
    assert isinstance(info.value, TypeError)


def test_predict_before_fit_raises(digits: Digits) -> None:
    with pytest.raises(NotFittedError, match="fit"):
        _logreg().predict_proba(digits.X_test)


def test_predict_checks_image_shape(digits: Digits) -> None:
    learner = _logreg().fit(digits.X_train, digits.y_train)
    with pytest.raises(InvalidInputError, match="channels"):
        learner.predict_proba(np.zeros((2, 3, 8, 8), dtype=np.float32))


@pytest.mark.parametrize(
    ("X", "y"),
    [
        (np.zeros((4, 64), dtype=np.float32), np.zeros(4, dtype=np.int64)),
        (np.zeros((4, 1, 8, 8), dtype=np.float32), np.zeros(3, dtype=np.int64)),
        (np.zeros((4, 1, 8, 8), dtype=np.float32), np.array([0, 1, 2, 10])),
        (np.zeros((4, 1, 8, 8), dtype=np.float32), np.array([0.0, 1.0, 2.0, 3.0])),
        (np.zeros((0, 1, 8, 8), dtype=np.float32), np.zeros(0, dtype=np.int64)),
    ],
)
def test_fit_rejects_bad_input(X: np.ndarray, y: np.ndarray) -> None:
    with pytest.raises(InvalidInputError):
        _logreg().fit(X, y)


def test_save_load_round_trip(digits: Digits, tmp_path: Path) -> None:
    learner = _logreg().fit(digits.X_train[:100], digits.y_train[:100])
    path = tmp_path / "model.pkl"
    learner.save(path)
    restored = _logreg().load(path)
    np.testing.assert_array_equal(
        restored.predict_proba(digits.X_test), learner.predict_proba(digits.X_test)
    )
    np.testing.assert_array_equal(restored.classes_, learner.classes_)


def test_load_missing_file_names_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.pkl"
    with pytest.raises(ModelFileNotFoundError, match=re.escape(str(path))):
        _logreg().load(path)


def test_load_corrupt_file_names_path(tmp_path: Path) -> None:
    path = tmp_path / "junk.pkl"
    path.write_bytes(b"not a pickle")
    with pytest.raises(ModelFileCorruptError, match=re.escape(str(path))):
        _logreg().load(path)


def test_load_rejects_other_n_classes(digits: Digits, tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    _logreg().fit(digits.X_train, digits.y_train).save(path)
    with pytest.raises(WeightsMismatchError, match="n_classes=10"):
        _logreg(n_classes=12).load(path)


def test_save_before_fit_raises(tmp_path: Path) -> None:
    with pytest.raises(NotFittedError):
        _logreg().save(tmp_path / "model.pkl")


def test_flatten_off_passes_4d_images(digits: Digits) -> None:
    seen: list[int] = []

    def record(X: np.ndarray) -> np.ndarray:
        seen.append(X.ndim)
        return X.reshape(len(X), -1)

    pipeline = make_pipeline(FunctionTransformer(record), LogisticRegression(max_iter=1000))
    learner = SklearnLearner(pipeline, n_classes=10, flatten=False)
    learner.fit(digits.X_train[:100], digits.y_train[:100])
    assert learner.predict_proba(digits.X_test[:5]).shape == (5, 10)
    assert seen and set(seen) == {4}
