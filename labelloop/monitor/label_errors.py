"""Label errors: out-of-sample probabilities, confident learning, and ActiveLab.

A label is suspect when a model that never saw it is confident in another
class. :func:`out_of_sample_probs` gives such probabilities by
cross-validation; :func:`find_label_errors` feeds them to cleanlab's confident
learning (Northcutt et al., 2021) and ranks the suspects; :func:`activelab_scores`
and :func:`relabel_order` use cleanlab's ActiveLab (Goh and Mueller, 2023) to
choose which labeled items a further annotator should label again.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, get_args

import numpy as np
from cleanlab.filter import find_label_issues
from cleanlab.multiannotator import get_active_learning_scores
from cleanlab.rank import get_label_quality_scores
from numpy.typing import NDArray

from labelloop.learners import check_labels
from labelloop.monitor.errors import InvalidLabelInputError
from labelloop.plugins import Choice, Configurable, Constraint, Integer

if TYPE_CHECKING:
    from labelloop.learners.base import Learner

__all__ = [
    "FILTER_METHODS",
    "RANK_METHODS",
    "ConfidentLearning",
    "FilterMethod",
    "InvalidLabelInputError",
    "LabelErrorReport",
    "RankMethod",
    "activelab_scores",
    "find_label_errors",
    "out_of_sample_probs",
    "relabel_order",
]

FilterMethod = Literal["both", "confident_learning", "prune_by_class", "prune_by_noise_rate"]
"""cleanlab's ``filter_by`` choices that :func:`find_label_errors` accepts."""

FILTER_METHODS: tuple[str, ...] = get_args(FilterMethod)
"""The values of :data:`FilterMethod`, sorted."""

RankMethod = Literal["normalized_margin", "self_confidence"]
"""Label quality scores used to rank suspects, as cleanlab names them."""

RANK_METHODS: tuple[str, ...] = get_args(RankMethod)
"""The values of :data:`RankMethod`, sorted."""


def _check_probs(probs: object) -> NDArray[np.float64]:
    array = np.asarray(probs, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] < 2:
        raise InvalidLabelInputError(
            f"probs must have shape (n_samples, n_classes) with n_classes >= 2; got {array.shape}."
        )
    if array.shape[0] == 0:
        raise InvalidLabelInputError(
            "probs has no rows; label-error search needs at least one labeled item."
        )
    if (
        not np.isfinite(array).all()
        or (array < 0).any()
        or not np.allclose(array.sum(axis=1), 1.0, atol=1e-4)
    ):
        raise InvalidLabelInputError(
            "probs must be finite, non-negative, and each row must sum to 1; "
            "pass a learner's predict_proba output."
        )
    return array


def _fold_ids(
    labels: NDArray[np.int64], n_folds: int, rng: np.random.Generator
) -> NDArray[np.intp]:
    """Stratified fold of each item: each class's members, shuffled, dealt round-robin.

    Dealing the classes one after another, continuing the count, keeps every
    fold within one item of the same size, and a class smaller than
    ``n_folds`` simply misses from some folds' test sets.
    """
    order = np.concatenate(
        [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    )
    folds = np.empty(len(labels), dtype=np.intp)
    folds[order] = np.arange(len(labels)) % n_folds
    return folds


def out_of_sample_probs(
    make_model: Callable[[], Learner],
    X: NDArray[np.floating],
    y: NDArray[np.integer],
    n_folds: int = 5,
    random_state: int | None = None,
    on_fold: Callable[[int, int], None] | None = None,
) -> NDArray[np.float64]:
    """Cross-validated class probabilities over a labeled set.

    Every item is scored by a model fitted on the other folds only, so its own
    label never influences its probabilities. Folds are stratified: each
    class's members are shuffled and dealt to the folds in turn. A class with
    fewer members than folds is absent from the training set of the folds
    that hold its members; the learner still returns all ``n_classes``
    columns, and such items come out with a low probability for their label,
    which is the honest answer when no other example of the class exists.

    Args:
        make_model: Returns a fresh, unfitted learner, e.g.
            ``lambda: make_learner("logreg", n_classes=10, input_shape=(1, 8, 8))``.
        X: Images, shape ``(n_samples, channels, height, width)`` (whatever the
            learner accepts, with samples first).
        y: Class indices in ``[0, n_classes)``, shape ``(n_samples,)``.
        n_folds: Folds, at least 2 and at most ``n_samples``.
        random_state: Seed of the fold shuffle; ``None`` differs run to run.
        on_fold: Called with ``(folds done, n_folds)`` after each fold, for progress.

    Returns:
        Probabilities, shape ``(n_samples, n_classes)``.

    Raises:
        InvalidLabelInputError: If ``n_folds`` is out of range, ``X`` and ``y``
            differ in length, or ``y`` is not integer labels in range.
    """
    n = len(y)
    Integer(low=2, high=n).check("n_folds", n_folds, InvalidLabelInputError)
    if len(X) != n:
        raise InvalidLabelInputError(
            f"X has {len(X)} items but y has {n}; pass one label per image."
        )
    n_classes = make_model().n_classes
    labels = check_labels(
        y, n_samples=n, n_classes=n_classes, error=InvalidLabelInputError, range_fix=""
    )
    folds = _fold_ids(labels, n_folds, np.random.default_rng(random_state))
    probs = np.empty((n, n_classes), dtype=np.float64)
    for fold in range(n_folds):
        test = folds == fold
        model = make_model().fit(X[~test], labels[~test])
        probs[test] = model.predict_proba(X[test])
        if on_fold is not None:
            on_fold(fold + 1, n_folds)
    return probs


@dataclass(frozen=True)
class LabelErrorReport:
    """Items whose given label is probably wrong.

    Attributes:
        flagged: Indices of suspect items, most likely wrong first, shape ``(n_flagged,)``.
        quality: Label quality score of every item in ``[0, 1]``, lower = more
            likely wrong, shape ``(n,)``.
        labels: The given labels, shape ``(n,)``.
        suggested: The model's most probable class per item, shape ``(n,)``.
        filter_by: The cleanlab filter that chose ``flagged``.
        rank_by: The score that ranks ``flagged`` and fills ``quality``.
    """

    flagged: NDArray[np.intp]
    quality: NDArray[np.float64]
    labels: NDArray[np.int64]
    suggested: NDArray[np.int64]
    filter_by: FilterMethod
    rank_by: RankMethod

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: the methods, and each flagged item in rank order."""
        return {
            "filter_by": self.filter_by,
            "rank_by": self.rank_by,
            "n_items": len(self.labels),
            "issues": [
                {
                    "index": int(i),
                    "label": int(self.labels[i]),
                    "suggested": int(self.suggested[i]),
                    "quality": float(self.quality[i]),
                }
                for i in self.flagged
            ],
        }


@dataclass(eq=False, repr=False)
class ConfidentLearning(Configurable):
    """Find probably-wrong labels by confident learning (cleanlab's ``find_label_issues``).

    Args:
        filter_by: How cleanlab decides which items are issues;
            ``"prune_by_noise_rate"`` (its default) removes, per pair of
            classes, the items with the largest margin for the other class.
        rank_by: Label quality score that orders the suspects and fills ``quality``.

    Attributes:
        report_: The :class:`LabelErrorReport` of the last :meth:`fit`.
    """

    name = "confident_learning"
    constraints: ClassVar[Mapping[str, Constraint]] = {
        "filter_by": Choice(FILTER_METHODS),
        "rank_by": Choice(RANK_METHODS),
    }
    parameter_error = InvalidLabelInputError

    filter_by: FilterMethod = "prune_by_noise_rate"
    rank_by: RankMethod = "self_confidence"
    report_: LabelErrorReport = field(init=False)

    def fit(self, labels: NDArray[np.integer], probs: NDArray[np.floating]) -> Self:
        """Find the suspects among ``labels``.

        Args:
            labels: Given class indices, shape ``(n,)``.
            probs: Out-of-sample probabilities (see :func:`out_of_sample_probs`),
                shape ``(n, n_classes)``. In-sample probabilities hide errors the
                model has memorized.

        Returns:
            The finder, with :attr:`report_`.

        Raises:
            InvalidLabelInputError: If a parameter is unknown, or shapes or values are invalid.
        """
        params: dict[str, Any] = self.check_params()
        p = _check_probs(probs)
        given = check_labels(
            labels,
            n_samples=len(p),
            n_classes=p.shape[1],
            name="labels",
            error=InvalidLabelInputError,
            range_fix="",
        )
        with warnings.catch_warnings():
            # cleanlab warns when a class has too few items to prune from; it then
            # flags none of that class by noise rate, and the report stays valid.
            warnings.filterwarnings("ignore", message="May not flag all label issues in class")
            flagged = find_label_issues(
                given,
                p,
                filter_by=params["filter_by"],
                return_indices_ranked_by=params["rank_by"],
                n_jobs=1,
            )
        quality = get_label_quality_scores(given, p, method=params["rank_by"])
        self.report_ = LabelErrorReport(
            flagged=np.asarray(flagged, dtype=np.intp),
            quality=np.asarray(quality, dtype=np.float64),
            labels=given,
            suggested=np.argmax(p, axis=1).astype(np.int64),
            filter_by=params["filter_by"],
            rank_by=params["rank_by"],
        )
        return self


def find_label_errors(
    labels: NDArray[np.integer],
    probs: NDArray[np.floating],
    *,
    filter_by: FilterMethod = "prune_by_noise_rate",
    rank_by: RankMethod = "self_confidence",
) -> LabelErrorReport:
    """Find probably-wrong labels by confident learning (see :class:`ConfidentLearning`).

    Args:
        labels: Given class indices, shape ``(n,)``.
        probs: Out-of-sample probabilities, shape ``(n, n_classes)``.
        filter_by: How cleanlab decides which items are issues.
        rank_by: Label quality score that orders the suspects.

    Returns:
        The report.

    Raises:
        InvalidLabelInputError: If shapes or values are invalid, or a method unknown.
    """
    return ConfidentLearning(filter_by=filter_by, rank_by=rank_by).fit(labels, probs).report_


def _check_multiannotator(labels: object, n: int, n_classes: int) -> NDArray[np.float64]:
    array = np.asarray(labels, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] != n:
        raise InvalidLabelInputError(
            f"labels_multiannotator must have shape ({n}, n_annotators), one row per "
            f"row of probs; got {array.shape}."
        )
    given = ~np.isnan(array)
    if not given.any(axis=1).all():
        rows = np.flatnonzero(~given.any(axis=1)).tolist()
        raise InvalidLabelInputError(
            f"items {rows} have no label from any annotator; score unlabeled items by "
            "uncertainty instead and leave them out here."
        )
    if not given.any(axis=0).all():
        columns = np.flatnonzero(~given.any(axis=0)).tolist()
        raise InvalidLabelInputError(
            f"annotator columns {columns} label no item; drop those columns."
        )
    values = array[given]
    if (values != np.round(values)).any() or values.min() < 0 or values.max() >= n_classes:
        raise InvalidLabelInputError(
            f"labels_multiannotator must hold class indices in [0, {n_classes}) or NaN."
        )
    return array


def activelab_scores(
    labels_multiannotator: NDArray[np.floating],
    probs: NDArray[np.floating],
    random_state: int = 0,
) -> NDArray[np.float64]:
    """ActiveLab scores: how sure we are of each labeled item's consensus label.

    Args:
        labels_multiannotator: Labels given by each annotator, NaN where
            annotator ``j`` did not label item ``i``, shape ``(n, n_annotators)``;
            every row and every column holds at least one label.
        probs: Model probabilities (out of sample), shape ``(n, n_classes)``.
        random_state: Seed for cleanlab's random tie-breaking between
            equally supported consensus labels.

    Returns:
        Scores in ``[0, 1]``, shape ``(n,)``; lower = collect another label sooner.

    Raises:
        InvalidLabelInputError: If shapes or values are invalid.
    """
    p = _check_probs(probs)
    annotations = _check_multiannotator(labels_multiannotator, len(p), p.shape[1])
    # cleanlab breaks ties between equally supported consensus labels with
    # NumPy's global generator, and warns that it does: seed it for
    # reproducible scores, and give the caller's global state back.
    global_state = np.random.get_state()
    try:
        np.random.seed(random_state)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="breaking ties of examples")
            # With two annotators who never agree (a relabel that overruled
            # every import it saw) the scores still rank; the warning says only that.
            warnings.filterwarnings("ignore", message="Annotators do not agree on any example")
            scores, _ = get_active_learning_scores(annotations, p)
    finally:
        np.random.set_state(global_state)
    return np.asarray(scores, dtype=np.float64)


def relabel_order(
    labels_multiannotator: NDArray[np.floating],
    probs: NDArray[np.floating],
    n: int | None = None,
    random_state: int = 0,
) -> NDArray[np.intp]:
    """Items to send for another label, most needed first.

    Args:
        labels_multiannotator: As for :func:`activelab_scores`, shape ``(n_items, n_annotators)``.
        probs: Model probabilities, shape ``(n_items, n_classes)``.
        n: How many to return; ``None`` returns all.
        random_state: As for :func:`activelab_scores`.

    Returns:
        Item indices by ascending ActiveLab score (ties in index order), shape
        ``(min(n, n_items),)``.

    Raises:
        InvalidLabelInputError: If inputs are invalid or ``n`` is negative.
    """
    if n is not None:
        Integer(low=0).check("n", n, InvalidLabelInputError)
    scores = activelab_scores(labels_multiannotator, probs, random_state)
    order = np.argsort(scores, kind="stable").astype(np.intp)
    return order if n is None else order[:n]
