"""No label wasted: validate on a held-out fifth, then train the ranking model on every label."""

from __future__ import annotations

import numpy as np

from labelloop.data.demo import digits_arrays
from labelloop.learners import make_learner


def _three_classes() -> tuple[np.ndarray, np.ndarray]:
    X, y = digits_arrays()
    keep = np.flatnonzero(y < 3)[:150]
    return X[keep], y[keep]


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
