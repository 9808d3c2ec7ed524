"""No label wasted: validate on a held-out fifth, then train the ranking model on every label."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from labelloop.data.demo import digits_arrays
from labelloop.learners import SklearnLearner, make_learner
from labelloop.loop.engine import fit_learner, fit_split


def _three_classes() -> tuple[np.ndarray, np.ndarray]:
    X, y = digits_arrays()
    keep = np.flatnonzero(y < 3)[:150]
    return X[keep], y[keep]


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


def test_network_refit_keeps_the_validated_figures() -> None:
    X, y = _three_classes()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    train, val = order[:100], order[100:]
    learner = make_learner("cnn", n_classes=3, input_shape=(1, 8, 8), calibrate=True)
    learner.min_steps = 40  # type: ignore[attr-defined]
    learner.epochs = 4  # type: ignore[attr-defined]
    learner.early_stopping_min_val = 10  # type: ignore[attr-defined]
    learner.fit(X[train], y[train], X[val], y[val])
    held_out = learner.predict_proba(X[val])
    validated = (learner.temperature_, learner.best_epoch_, len(learner.history_))  # type: ignore[attr-defined]
    assert validated[0] != 1.0  # calibrated on the validation side
    learner.refit(X, y)  # type: ignore[attr-defined]
    assert learner.refit_epochs_ == max(1, validated[1])  # type: ignore[attr-defined]
    after = (learner.temperature_, learner.best_epoch_, len(learner.history_))  # type: ignore[attr-defined]
    assert after == validated
    # The refitted network is not the validated one: it trained on the validation side too.
    assert not np.allclose(learner.predict_proba(X[val]), held_out)
