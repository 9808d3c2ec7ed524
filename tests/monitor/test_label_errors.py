"""Tests for labelloop.monitor.label_errors: planted label flips among the demo digits."""

import json
from pathlib import Path
from typing import Self

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.neighbors import KNeighborsClassifier

from labelloop.data.demo import digits_arrays
from labelloop.errors import LabelloopError
from labelloop.learners.base import Learner
from labelloop.learners.factory import make_learner
from labelloop.monitor.label_errors import (
    InvalidLabelInputError,
    LabelErrorReport,
    activelab_scores,
    find_label_errors,
    out_of_sample_probs,
    relabel_order,
)

FLIP_FRACTION = 0.05

Digits = tuple[NDArray[np.float32], NDArray[np.int64], NDArray[np.int64], NDArray[np.intp]]
"""Images, true labels, labels with some flipped, and the flipped indices."""


def _flip(y: NDArray[np.int64], seed: int) -> tuple[NDArray[np.int64], NDArray[np.intp]]:
    """Labels with FLIP_FRACTION of them changed to another class, and the flipped indices."""
    rng = np.random.default_rng(seed)
    flipped = rng.choice(len(y), size=int(FLIP_FRACTION * len(y)), replace=False)
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + rng.integers(1, 10, len(flipped))) % 10
    return noisy, np.sort(flipped).astype(np.intp)


def _logreg() -> Learner:
    return make_learner("logreg", n_classes=10, input_shape=(1, 8, 8), random_state=0)


@pytest.fixture(scope="module")
def noisy_digits() -> Digits:
    """Digits, true labels, labels with 5% flipped, and the flipped indices."""
    X, y = digits_arrays()
    noisy, flipped = _flip(y, seed=0)
    return X, y, noisy, flipped


@pytest.fixture(scope="module")
def report(
    noisy_digits: Digits,
) -> LabelErrorReport:
    X, _, noisy, _ = noisy_digits
    probs = out_of_sample_probs(_logreg, X, noisy, n_folds=5, random_state=0)
    return find_label_errors(noisy, probs)


def test_finds_most_flipped_labels(
    noisy_digits: Digits,
    report: LabelErrorReport,
) -> None:
    _, y, _, flipped = noisy_digits
    found, truth = set(report.flagged.tolist()), set(flipped.tolist())
    hits = found & truth
    # Measured with this seed: recall 0.84, precision 0.88.
    assert len(hits) / len(truth) >= 0.7
    assert len(hits) / len(found) >= 0.7
    # The most suspect are nearly all planted, and the model suggests the true label.
    top = report.flagged[:20]
    assert np.isin(top, flipped).mean() >= 0.9
    top_hits = top[np.isin(top, flipped)]
    assert (report.suggested[top_hits] == y[top_hits]).mean() >= 0.9


def test_report_ranks_by_quality_and_serializes(report: LabelErrorReport) -> None:
    assert report.flagged.dtype == np.intp
    assert len(set(report.flagged.tolist())) == len(report.flagged)
    assert np.all(np.diff(report.quality[report.flagged]) >= 0)
    assert report.quality[report.flagged].mean() < np.delete(report.quality, report.flagged).mean()
    payload = json.loads(json.dumps(report.to_dict()))
    assert payload["filter_by"] == "prune_by_noise_rate"
    assert payload["rank_by"] == "self_confidence"
    first = payload["issues"][0]
    index = report.flagged[0]
    assert first == {
        "index": int(index),
        "label": int(report.labels[index]),
        "suggested": int(report.suggested[index]),
        "quality": pytest.approx(float(report.quality[index])),
    }


class _Memorizer:
    """A 1-nearest-neighbour learner: in sample, each item's own label gets probability 1."""

    def __init__(self, n_classes: int) -> None:
        self.n_classes = n_classes

    def fit(
        self,
        X: NDArray[np.floating],
        y: NDArray[np.integer],
        X_val: NDArray[np.floating] | None = None,
        y_val: NDArray[np.integer] | None = None,
    ) -> Self:
        self.model = KNeighborsClassifier(n_neighbors=1).fit(X.reshape(len(X), -1), y)
        return self

    def predict_proba(self, X: NDArray[np.floating]) -> NDArray[np.float64]:
        probs = np.zeros((len(X), self.n_classes))
        probs[:, self.model.classes_] = self.model.predict_proba(X.reshape(len(X), -1))
        return probs

    def embed(self, X: NDArray[np.floating]) -> NDArray[np.float32]:
        return X.reshape(len(X), -1).astype(np.float32)

    def save(self, path: Path) -> None:
        raise NotImplementedError

    def load(self, path: Path) -> Self:
        raise NotImplementedError


def test_out_of_sample_probs_never_see_the_items_own_label(
    noisy_digits: Digits,
) -> None:
    X, _, noisy, flipped = noisy_digits
    in_sample = _Memorizer(10).fit(X, noisy).predict_proba(X)
    assert np.all(in_sample[flipped, noisy[flipped]] == 1.0)
    probs = out_of_sample_probs(lambda: _Memorizer(10), X, noisy, n_folds=5, random_state=0)
    assert probs.shape == (len(X), 10)
    assert (probs[flipped, noisy[flipped]] == 0.0).mean() >= 0.9


class _Spy(_Memorizer):
    """Records which items (identified by their first pixel) each fold trains and predicts on."""

    folds: list[tuple[set[int], set[int]]] = []  # noqa: RUF012  # shared across instances on purpose

    def fit(
        self,
        X: NDArray[np.floating],
        y: NDArray[np.integer],
        X_val: NDArray[np.floating] | None = None,
        y_val: NDArray[np.integer] | None = None,
    ) -> Self:
        self.train = set(X[:, 0, 0, 0].astype(int).tolist())
        return super().fit(X, y)

    def predict_proba(self, X: NDArray[np.floating]) -> NDArray[np.float64]:
        self.folds.append((self.train, set(X[:, 0, 0, 0].astype(int).tolist())))
        return super().predict_proba(X)


def _tagged(n: int) -> NDArray[np.float32]:
    X = np.random.default_rng(0).uniform(size=(n, 1, 2, 2)).astype(np.float32)
    X[:, 0, 0, 0] = np.arange(n)
    return X


def test_folds_are_disjoint_cover_everything_and_are_stratified() -> None:
    y = np.repeat(np.arange(3), [20, 11, 2])
    _Spy.folds = []
    out_of_sample_probs(lambda: _Spy(3), _tagged(len(y)), y, n_folds=4, random_state=0)
    assert len(_Spy.folds) == 4
    tested: list[int] = []
    for train, test in _Spy.folds:
        assert not train & test
        assert train | test == set(range(len(y)))
        tested.extend(test)
        counts = np.bincount(y[sorted(test)], minlength=3)
        assert counts[0] == 5
        assert counts[1] in (2, 3)
    assert sorted(tested) == list(range(len(y)))


def test_fold_assignment_follows_random_state() -> None:
    y = np.repeat(np.arange(2), 10)

    def folds(seed: int) -> list[set[int]]:
        _Spy.folds = []
        out_of_sample_probs(lambda: _Spy(2), _tagged(20), y, n_folds=5, random_state=seed)
        return [test for _, test in _Spy.folds]

    assert folds(1) == folds(1)
    assert folds(1) != folds(2)


def test_class_smaller_than_folds_keeps_all_columns() -> None:
    X, y = digits_arrays()
    keep = np.concatenate(
        [np.flatnonzero(y == 0)[:30], np.flatnonzero(y == 1)[:30], [np.flatnonzero(y == 2)[0]]]
    )
    probs = out_of_sample_probs(_logreg, X[keep], y[keep], n_folds=5, random_state=0)
    assert probs.shape == (61, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    # The lone 2 was never seen in training by the fold that scored it.
    assert probs[-1, 2] < 0.1


def test_out_of_sample_input_errors() -> None:
    X, y = _tagged(10), np.repeat(np.arange(2), 5)
    with pytest.raises(InvalidLabelInputError, match="n_folds") as info:
        out_of_sample_probs(lambda: _Memorizer(2), X, y, n_folds=1)
    assert isinstance(info.value, LabelloopError)
    with pytest.raises(InvalidLabelInputError, match="n_folds"):
        out_of_sample_probs(lambda: _Memorizer(2), X, y, n_folds=11)
    with pytest.raises(InvalidLabelInputError, match="one label per image"):
        out_of_sample_probs(lambda: _Memorizer(2), X[:9], y)
    with pytest.raises(InvalidLabelInputError, match=r"\[0, 2\)"):
        out_of_sample_probs(lambda: _Memorizer(2), X, y + 1)


def test_find_label_errors_input_errors() -> None:
    probs = np.full((4, 2), 0.5)
    labels = np.array([0, 1, 0, 1])
    with pytest.raises(InvalidLabelInputError, match="sum to 1"):
        find_label_errors(labels, np.full((4, 2), 0.4))
    with pytest.raises(InvalidLabelInputError, match="n_classes"):
        find_label_errors(labels, np.ones((4, 1)))
    with pytest.raises(InvalidLabelInputError, match="integer"):
        find_label_errors(labels.astype(float), probs)
    with pytest.raises(InvalidLabelInputError, match="filter_by"):
        find_label_errors(labels, probs, filter_by="vote")  # type: ignore[arg-type]
    with pytest.raises(InvalidLabelInputError, match="rank_by"):
        find_label_errors(labels, probs, rank_by="entropy")  # type: ignore[arg-type]


def _annotations(
    seed: int = 0,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.intp]]:
    """40 items, 3 classes, 3 annotators: items 0..9 get three different labels."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, 40)
    labels = np.tile(truth[:, np.newaxis], (1, 3)).astype(np.float64)
    disputed = np.arange(10)
    labels[disputed, 1] = (truth[disputed] + 1) % 3
    labels[disputed, 2] = (truth[disputed] + 2) % 3
    labels[20:30, 2] = np.nan  # annotator 2 skipped some items
    probs = np.full((40, 3), 0.1)
    probs[np.arange(40), truth] = 0.8
    return labels, probs, disputed


def test_activelab_ranks_disputed_items_first() -> None:
    labels, probs, disputed = _annotations()
    scores = activelab_scores(labels, probs)
    assert scores.shape == (40,)
    assert scores[disputed].max() < np.delete(scores, disputed).min()
    assert set(relabel_order(labels, probs, n=10).tolist()) == set(disputed.tolist())
    assert len(relabel_order(labels, probs)) == 40


def test_activelab_single_annotator_follows_the_model() -> None:
    labels, probs, _ = _annotations()
    single = labels[:, :1].copy()
    doubted = np.array([30, 31, 32])
    single[doubted, 0] = (single[doubted, 0] + 1) % 3  # the model disagrees with these
    assert set(relabel_order(single, probs, n=3).tolist()) == set(doubted.tolist())


def test_activelab_tie_breaking_is_seeded_and_leaves_global_state() -> None:
    # Two equally reliable annotators who disagree on item 0 and a model with no opinion:
    # cleanlab must break the tie at random.
    labels = np.array([[0.0, 1.0], [0.0, 0.0], [1.0, 1.0], [0.0, 0.0], [1.0, 1.0]])
    probs = np.full((5, 2), 0.5)
    np.random.seed(7)
    expected = np.random.rand()
    np.random.seed(7)
    first = activelab_scores(labels, probs, random_state=3)
    assert np.random.rand() == expected
    np.testing.assert_array_equal(first, activelab_scores(labels, probs, random_state=3))


def test_activelab_input_errors() -> None:
    labels, probs, _ = _annotations()
    empty_row = labels.copy()
    empty_row[5] = np.nan
    with pytest.raises(InvalidLabelInputError, match=r"items \[5\]"):
        activelab_scores(empty_row, probs)
    empty_column = labels.copy()
    empty_column[:, 1] = np.nan
    with pytest.raises(InvalidLabelInputError, match=r"columns \[1\]"):
        activelab_scores(empty_column, probs)
    with pytest.raises(InvalidLabelInputError, match="class indices"):
        activelab_scores(labels + 0.5, probs)
    with pytest.raises(InvalidLabelInputError, match="class indices"):
        activelab_scores(labels * 3, probs)
    with pytest.raises(InvalidLabelInputError, match="one row per"):
        activelab_scores(labels[:5], probs)
    with pytest.raises(InvalidLabelInputError, match="n must be"):
        relabel_order(labels, probs, n=-1)
