"""labelloop.loop.oracle: the simulated person who reveals true labels, and what a run bought."""

from __future__ import annotations

from typing import cast

import numpy as np

from labelloop.learners import Learner
from labelloop.loop.oracle import LabeledSet, Oracle


class _RecordingLearner:
    """Records the pool indices (stored as each image's only pixel) of every fit."""

    n_classes = 2

    def __init__(self) -> None:
        self.fits: list[tuple[list[int], list[int], list[int] | None]] = []

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
    ) -> _RecordingLearner:
        held_out = None if X_val is None else X_val.ravel().astype(int).tolist()
        self.fits.append((X.ravel().astype(int).tolist(), y.tolist(), held_out))
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.tile([1.0, 0.0], (len(X), 1))


def test_a_labeled_set_asks_the_oracle_and_validates_on_a_fifth_of_each_class() -> None:

    oracle = Oracle(np.array([0, 1] * 5, dtype=np.int64))
    bought = LabeledSet(oracle, ("a", "b"))
    bought.add(np.array([4, 0, 2, 6, 8], dtype=np.int64))  # five of class "a"
    bought.add(np.array([1, 3], dtype=np.int64))  # two of "b": too few for validation
    assert bought.indices == [4, 0, 2, 6, 8, 1, 3] and len(bought) == oracle.queries_ == 7
    assert bought.labels == [0, 0, 0, 0, 0, 1, 1]
    # The third "a" is the first at which a fifth of the class rounds to one.
    assert bought.sides == ["train", "train", "val", "train", "train", "train", "train"]
    X = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    learner = _RecordingLearner()
    metrics = bought.fit(cast(Learner, learner), X)
    assert metrics is not None and metrics.n == 1 and metrics.accuracy == 1.0
    # Held out first, then (refit) every label in the order they were bought.
    assert learner.fits == [
        ([4, 0, 6, 8, 1, 3], [0, 0, 0, 0, 1, 1], [2]),
        ([4, 0, 2, 6, 8, 1, 3], [0, 0, 0, 0, 0, 1, 1], None),
    ]
    learner.fits.clear()
    bought.fit(cast(Learner, learner), X, refit=False)
    assert len(learner.fits) == 1


def test_the_oracle_reveals_true_labels_and_counts_every_query() -> None:
    oracle = Oracle(np.array([2, 0, 1, 1], dtype=np.int64))
    assert oracle.queries_ == 0
    assert oracle.label(np.array([3, 0], dtype=np.int64)).tolist() == [1, 2]
    assert oracle.label(np.array([0], dtype=np.int64)).tolist() == [2]  # asked again: paid again
    assert oracle.label(np.zeros(0, dtype=np.int64)).tolist() == []
    assert oracle.queries_ == 3


def test_a_labeled_set_without_a_validation_side_fits_on_everything_and_has_no_metrics() -> None:
    bought = LabeledSet(Oracle(np.array([0, 1, 0, 1], dtype=np.int64)), ("a", "b"))
    bought.add(np.array([1, 2], dtype=np.int64))  # one of each: too few to validate on
    assert bought.sides == ["train", "train"] and len(bought) == 2
    learner = _RecordingLearner()
    X = np.arange(4, dtype=np.float32).reshape(4, 1, 1, 1)
    assert bought.fit(cast(Learner, learner), X) is None
    assert learner.fits == [([1, 2], [1, 0], None)]
