"""labelloop.loop.engine: fit with a held-out side, score the pool, select and rank a batch."""

from __future__ import annotations

from typing import cast

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

from labelloop.data.demo import digits_arrays
from labelloop.learners import Learner, SklearnLearner
from labelloop.loop.engine import (
    calibration_report,
    fit_learner,
    fit_split,
    model_health,
    rank_range,
    score_pool,
    select_batch,
)
from labelloop.strategies import Pool, make_strategy


def _three_classes() -> tuple[np.ndarray, np.ndarray]:
    X, y = digits_arrays()
    keep = np.flatnonzero(y < 3)[:150]
    return X[keep], y[keep]


def _fitted(X: np.ndarray, y: np.ndarray, bagging: int = 0) -> SklearnLearner:
    learner = SklearnLearner(LogisticRegression(max_iter=1000), n_classes=3, bagging=bagging)
    learner.fit(X, y)
    return learner


def test_refit_model_has_seen_every_label_and_metrics_did_not() -> None:
    """Class 2 appears only on the validation side: the held-out model cannot know it,
    the refitted model must."""
    X, y = _three_classes()
    train = np.flatnonzero(y < 2)
    val = np.flatnonzero(y == 2)
    learner = SklearnLearner(LogisticRegression(max_iter=1000), n_classes=3)
    held_out = fit_split(learner, X, y, train, val)
    assert held_out is not None
    assert (held_out.argmax(axis=1) != 2).all()  # from the model that never saw a 2
    assert (learner.predict_proba(X[val]).argmax(axis=1) == 2).mean() > 0.9
    metrics = fit_learner(
        SklearnLearner(LogisticRegression(max_iter=1000), n_classes=3), X, y, train, val
    )
    assert metrics is not None and metrics.accuracy == 0.0  # honest: held-out figures


def test_without_refit_the_validation_side_never_trains() -> None:
    X, y = _three_classes()
    train, val = np.flatnonzero(y < 2), np.flatnonzero(y == 2)
    learner = SklearnLearner(LogisticRegression(max_iter=1000), n_classes=3)
    fit_split(learner, X, y, train, val, refit=False)
    assert (learner.predict_proba(X[val]).argmax(axis=1) != 2).all()


def test_without_a_validation_side_every_label_trains_and_there_are_no_metrics() -> None:
    X, y = _three_classes()
    learner = SklearnLearner(LogisticRegression(max_iter=1000), n_classes=3)
    empty = np.zeros(0, dtype=np.int64)
    assert fit_learner(learner, X, y, np.arange(len(y)), empty) is None
    assert (learner.predict_proba(X).argmax(axis=1) == y).mean() > 0.9


def test_model_health_judges_collapse_on_the_labeled_items() -> None:
    classes = ("a", "b", "c")
    labels = np.array([0, 1, 2] * 4)
    one_class = np.tile([0.1, 0.8, 0.1], (12, 1))
    pool = np.eye(3)[[0, 1, 2, 2]]
    found = model_health(one_class, labels, pool, classes)
    assert found["collapsed"] is True and found["dominant_class"] == "b"
    assert found["pool_classes"] == 3
    assert "predicts 'b' for 100% of its labeled images" in found["summary"]
    healthy = model_health(np.eye(3)[labels], labels, pool[:2], classes)
    assert healthy["collapsed"] is False
    assert healthy["summary"] == "predicts 2 of 3 classes on the unlabeled pool"


class _ProbsOnly:
    """A learner that gives probabilities but cannot draw samples."""

    n_classes = 3

    def predict_proba(self, X: NDArray[np.float32]) -> NDArray[np.float64]:
        return np.full((len(X), 3), 1 / 3)


def test_calibration_report_reads_what_the_learner_measured() -> None:
    X, y = _three_classes()
    report = calibration_report(cast(Learner, _fitted(X, y)))
    # A learner without calibration measured nothing: every figure is None.
    assert report == {
        "ece_before_calibration": None,
        "ece_after_calibration": None,
        "temperature": None,
    }
    calibrated = _ProbsOnly()
    calibrated.ece_before_ = 0.2  # type: ignore[attr-defined]
    calibrated.ece_after_ = 0.05  # type: ignore[attr-defined]
    calibrated.temperature_ = 1.7  # type: ignore[attr-defined]
    assert calibration_report(cast(Learner, calibrated)) == {
        "ece_before_calibration": 0.2,
        "ece_after_calibration": 0.05,
        "temperature": 1.7,
    }


def test_score_pool_computes_only_what_the_strategy_requires() -> None:
    X, y = _three_classes()
    labeled = np.zeros(len(y), dtype=bool)
    learner = cast(Learner, _fitted(X, y, bagging=3))
    margin = score_pool(make_strategy("margin"), learner, X, labeled)
    assert margin.probs is not None and margin.samples is None and margin.embeddings is None
    np.testing.assert_allclose(margin.probs, learner.predict_proba(X))
    bald = score_pool(make_strategy("bald"), learner, X, labeled, n_samples=3)
    assert bald.samples is not None and bald.samples.shape == (3, len(y), 3)
    coreset = score_pool(make_strategy("coreset"), learner, X, labeled)
    assert coreset.embeddings is not None and coreset.probs is None
    # Probabilities already computed are reused as given.
    given = np.full((len(y), 3), 1 / 3)
    assert score_pool(make_strategy("margin"), learner, X, labeled, probs=given).probs is given
    # Before any model, the pool holds only the label mask.
    cold = score_pool(make_strategy("margin"), None, None, labeled)
    assert cold.probs is None and cold.labeled is labeled


def test_score_pool_refuses_a_sampling_strategy_for_a_learner_that_cannot_sample() -> None:
    X = np.zeros((4, 1, 8, 8), dtype=np.float32)
    with pytest.raises(TypeError, match=r"'bald' needs sampled predictions.*MC dropout"):
        score_pool(make_strategy("bald"), cast(Learner, _ProbsOnly()), X, np.zeros(4, bool))


def test_select_batch_takes_unlabeled_items_most_informative_first() -> None:
    probs = np.array([[0.5, 0.5], [0.9, 0.1], [0.55, 0.45], [0.51, 0.49], [0.99, 0.01]])
    labeled = np.array([True, False, False, False, False])
    chosen = select_batch(make_strategy("margin"), Pool(labeled=labeled, probs=probs), 2)
    assert chosen.indices.tolist() == [3, 2]  # item 0 is closest to 0.5 but labeled
    assert chosen.scores is not None and chosen.scores[0] >= chosen.scores[1]
    random = select_batch(make_strategy("random", random_state=0), Pool(labeled=labeled), 3)
    assert random.scores is None and not set(random.indices.tolist()) & {0}


def test_rank_range_lets_a_batch_strategy_pick_the_batch_and_fills_the_rest_by_margin() -> None:
    rng = np.random.default_rng(0)
    n = 40
    probs = rng.dirichlet(np.ones(3), size=n)
    embeddings = rng.normal(size=(n, 4)).astype(np.float32)
    labeled = np.zeros(n, dtype=bool)
    labeled[:5] = True
    view = Pool(labeled=labeled, probs=probs, embeddings=embeddings)
    strategy = make_strategy("coreset", random_state=0)
    ranking = rank_range(strategy, view, 20, probs, batch_size=4, seed=0)
    indices = ranking.indices.tolist()
    assert len(indices) == 20 == len(set(indices)) and min(indices) >= 5
    assert ranking.scores is None
    # The head is the strategy's own batch; the rest follows by margin.
    assert indices[:4] == select_batch(strategy, view, 4).indices.tolist()
    taken = labeled.copy()
    taken[indices[:4]] = True
    margin = select_batch(make_strategy("margin"), Pool(labeled=taken, probs=probs), 16)
    assert indices[4:] == margin.indices.tolist()


def test_rank_range_lets_a_scoring_strategy_rank_the_whole_range() -> None:
    probs = np.random.default_rng(1).dirichlet(np.ones(3), size=30)
    view = Pool(labeled=np.zeros(30, dtype=bool), probs=probs)
    ranking = rank_range(make_strategy("margin"), view, 12, probs, batch_size=4, seed=0)
    expected = select_batch(make_strategy("margin"), view, 12)
    assert ranking.indices.tolist() == expected.indices.tolist()
    assert ranking.scores is not None
