"""Image outliers at import: detectors over embeddings and a report.

What the loop does with the flagged images is :mod:`labelloop.monitor.outlier_policy`
(its names are re-exported here).

An outlier is an image unlike the reference set: a blank or saturated frame, a
photo of the wrong thing, sensor noise. Detectors score embeddings of shape
``(n_samples, n_features)`` (a learner's ``embed`` output, or flattened pixels
when there is no model yet); a higher score always means more outlying, and
each detector learns a ``threshold_`` above which an image counts as one.

Detectors follow the scikit-learn contract: the constructor only stores its
parameters, :meth:`fit` validates them and learns, state ends in ``_``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, Self, runtime_checkable

import numpy as np
from numpy.typing import NDArray
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import NearestNeighbors

from labelloop.monitor._constraints import OrValue
from labelloop.monitor.errors import (
    InvalidOutlierInputError,
    InvalidOutlierParameterError,
    OutlierError,
    OutlierNotFittedError,
    UnknownOutlierDetectorError,
)
from labelloop.monitor.outlier_policy import (
    OUTLIER_POLICIES,
    OutlierPlan,
    OutlierPolicy,
    apply_outlier_policy,
)
from labelloop.monitor.registry import OUTLIER_DETECTORS
from labelloop.plugins import Configurable, Constraint, Integer, Number, Seed

__all__ = [
    "OUTLIER_DETECTOR_NAMES",
    "OUTLIER_POLICIES",
    "InvalidOutlierInputError",
    "InvalidOutlierParameterError",
    "IsolationForestOutliers",
    "KNNDistanceOutliers",
    "OutlierDetector",
    "OutlierError",
    "OutlierNotFittedError",
    "OutlierPlan",
    "OutlierPolicy",
    "OutlierReport",
    "UnknownOutlierDetectorError",
    "apply_outlier_policy",
    "detect_outliers",
    "make_outlier_detector",
]

OUTLIER_DETECTOR_NAMES: tuple[str, ...] = OUTLIER_DETECTORS.names()
"""The names :func:`make_outlier_detector` accepts (the registry's, sorted)."""


def _check_embeddings(X: object, name: str, *, min_rows: int = 1) -> NDArray[np.float64]:
    """Return ``X`` as a finite float64 array of shape ``(n, d)`` with ``n >= min_rows``."""
    array = np.asarray(X)
    if array.ndim != 2 or array.shape[1] == 0:
        raise InvalidOutlierInputError(
            f"{name} must be a 2-D array (n_samples, n_features); got shape {array.shape}. "
            "Flatten images first, e.g. X.reshape(len(X), -1)."
        )
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise InvalidOutlierInputError(f"{name} must hold real numbers; got dtype {array.dtype}.")
    if array.shape[0] < min_rows:
        raise InvalidOutlierInputError(
            f"{name} needs at least {min_rows} rows; got {array.shape[0]}."
        )
    result = array.astype(np.float64)
    if not np.isfinite(result).all():
        raise InvalidOutlierInputError(
            f"{name} contains NaN or infinite values; drop or repair those rows first."
        )
    return result


@dataclass(eq=False, repr=False)
class _Detector(Configurable):
    """Shared ``predict``, ``fit_score`` and fitted-state checks."""

    parameter_error = InvalidOutlierParameterError

    threshold_: float = field(init=False)
    n_features_in_: int = field(init=False)

    def fit(self, reference: NDArray[np.floating]) -> Self:
        raise NotImplementedError

    def score(self, X: NDArray[np.floating]) -> NDArray[np.float64]:
        raise NotImplementedError

    def _check_fitted(self, X: object) -> NDArray[np.float64]:
        if not hasattr(self, "threshold_"):
            raise OutlierNotFittedError(
                f"{type(self).__name__} is not fitted; call fit(reference) before score or predict."
            )
        array = _check_embeddings(X, "X")
        if array.shape[1] != self.n_features_in_:
            raise InvalidOutlierInputError(
                f"X has {array.shape[1]} features but the detector was fitted on "
                f"{self.n_features_in_}; score embeddings from the same model as the reference."
            )
        return array

    def predict(self, X: NDArray[np.floating]) -> NDArray[np.bool_]:
        """Flag outliers.

        Args:
            X: Embeddings, shape ``(n_samples, n_features)``.

        Returns:
            ``True`` where the score exceeds ``threshold_``, shape ``(n_samples,)``.
        """
        return self.score(X) > self.threshold_

    def fit_score(self, reference: NDArray[np.floating]) -> NDArray[np.float64]:
        """Fit on ``reference`` and score the reference itself.

        Use this, not ``fit(X).score(X)``, to find outliers within one set.

        Args:
            reference: Embeddings, shape ``(n_samples, n_features)``.

        Returns:
            Scores of the reference, higher = more outlying, shape ``(n_samples,)``.
        """
        return self.fit(reference).score(reference)


@dataclass(eq=False, repr=False)
class IsolationForestOutliers(_Detector):
    """Outliers as points that random axis-aligned splits isolate quickly.

    Wraps scikit-learn's :class:`~sklearn.ensemble.IsolationForest`. The score
    is the anomaly score of Liu et al. (2008), in ``(0, 1]``: the negation of
    ``IsolationForest.score_samples``. ``threshold_`` is the forest's decision
    boundary on that scale: 0.5 with ``contamination="auto"``, else the
    reference's ``1 - contamination`` quantile.

    Args:
        n_estimators: Trees in the forest.
        contamination: Expected fraction of outliers in the reference, in
            ``(0, 0.5]``, or ``"auto"``.
        random_state: Seed for the trees; ``None`` differs run to run.

    Attributes:
        forest_: The fitted forest.
        threshold_: Scores above it are outliers.
        n_features_in_: Features of the reference.
    """

    name = "isolation_forest"
    constraints: ClassVar[Mapping[str, Constraint]] = {
        "contamination": OrValue(Number(low=0.0, high=0.5, low_open=True), "auto"),
        "n_estimators": Integer(low=1),
        "random_state": Seed(),
    }

    n_estimators: int = 200
    contamination: float | Literal["auto"] = "auto"
    random_state: int | None = None
    forest_: IsolationForest = field(init=False)

    def fit(self, reference: NDArray[np.floating]) -> Self:
        """Grow the forest on the reference embeddings.

        Args:
            reference: Embeddings of typical images, shape ``(n_samples, n_features)``.

        Returns:
            The fitted detector.

        Raises:
            InvalidOutlierParameterError: If a constructor parameter is out of range.
            InvalidOutlierInputError: If ``reference`` is not a finite 2-D array
                with at least 2 rows.
        """
        params = self.check_params()
        array = _check_embeddings(reference, "reference", min_rows=2)
        self.forest_ = IsolationForest(**params).fit(array)
        self.n_features_in_ = array.shape[1]
        self.threshold_ = float(-self.forest_.offset_)
        return self

    def score(self, X: NDArray[np.floating]) -> NDArray[np.float64]:
        """Anomaly scores.

        Args:
            X: Embeddings, shape ``(n_samples, n_features)``.

        Returns:
            Scores in ``(0, 1]``, higher = more outlying, shape ``(n_samples,)``.

        Raises:
            OutlierNotFittedError: Before :meth:`fit`.
            InvalidOutlierInputError: If ``X`` is malformed or has another width.
        """
        array = self._check_fitted(X)
        return np.asarray(-self.forest_.score_samples(array), dtype=np.float64)


@dataclass(eq=False, repr=False)
class KNNDistanceOutliers(_Detector):
    """Outliers as points far from their nearest reference neighbours.

    The score of a point is its mean Euclidean distance to its
    ``n_neighbors`` nearest reference points. When the reference scores
    itself (:meth:`fit`, :meth:`fit_score`) each point's own entry is left
    out, so a reference point is measured exactly as a new point would be;
    ``fit(X).score(X)`` instead counts each point as its own neighbour at
    distance 0 and understates every score.

    Args:
        n_neighbors: Neighbours averaged over.
        quantile: ``threshold_`` is this quantile of the reference's own
            scores, in ``(0, 1]``; about ``1 - quantile`` of images like the
            reference are flagged.

    Attributes:
        neighbors_: The fitted index over the reference.
        reference_scores_: The reference's own scores, self excluded, shape
            ``(n_reference,)``.
        threshold_: Scores above it are outliers.
        n_features_in_: Features of the reference.
    """

    name = "knn"
    constraints: ClassVar[Mapping[str, Constraint]] = {
        "n_neighbors": Integer(low=1),
        "quantile": Number(low=0.0, high=1.0, low_open=True),
    }

    n_neighbors: int = 5
    quantile: float = 0.99
    neighbors_: NearestNeighbors = field(init=False)
    reference_scores_: NDArray[np.float64] = field(init=False)

    def fit(self, reference: NDArray[np.floating]) -> Self:
        """Index the reference and learn the threshold from its own scores.

        Args:
            reference: Embeddings of typical images, shape ``(n_samples, n_features)``,
                with ``n_samples > n_neighbors``.

        Returns:
            The fitted detector.

        Raises:
            InvalidOutlierParameterError: If a constructor parameter is out of range.
            InvalidOutlierInputError: If ``reference`` is not a finite 2-D array
                with more than ``n_neighbors`` rows.
        """
        params = self.check_params()
        k, quantile = params["n_neighbors"], params["quantile"]
        array = _check_embeddings(reference, "reference", min_rows=k + 1)
        self.neighbors_ = NearestNeighbors(n_neighbors=k).fit(array)
        self.n_features_in_ = array.shape[1]
        self.reference_scores_ = self._self_excluded_scores(array, k)
        self.threshold_ = float(np.quantile(self.reference_scores_, quantile))
        return self

    def _self_excluded_scores(self, array: NDArray[np.float64], k: int) -> NDArray[np.float64]:
        distances, indices = self.neighbors_.kneighbors(array, n_neighbors=k + 1)
        rows = np.arange(len(array))
        is_self = indices == rows[:, np.newaxis]
        # Exact duplicates can push a point's own entry out of position 0, or
        # out of the k + 1 found; drop the entry that is the point itself, or
        # else the farthest one, so k remain either way.
        drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
        keep = np.ones_like(is_self)
        keep[rows, drop] = False
        return np.asarray(distances[keep].reshape(len(array), k).mean(axis=1), dtype=np.float64)

    def score(self, X: NDArray[np.floating]) -> NDArray[np.float64]:
        """Mean distance to the nearest reference points.

        Args:
            X: Embeddings, shape ``(n_samples, n_features)``. Points of the
                reference itself are counted as their own neighbour; use
                :meth:`fit_score` to score the reference.

        Returns:
            Scores, higher = more outlying, shape ``(n_samples,)``.

        Raises:
            OutlierNotFittedError: Before :meth:`fit`.
            InvalidOutlierInputError: If ``X`` is malformed or has another width.
        """
        array = self._check_fitted(X)
        distances, _ = self.neighbors_.kneighbors(array)
        return np.asarray(distances.mean(axis=1), dtype=np.float64)

    def fit_score(self, reference: NDArray[np.floating]) -> NDArray[np.float64]:
        """Fit on ``reference`` and return its own scores, each point's self-match excluded.

        Args:
            reference: Embeddings, shape ``(n_samples, n_features)``.

        Returns:
            Scores of the reference, higher = more outlying, shape ``(n_samples,)``.
        """
        return self.fit(reference).reference_scores_.copy()


@runtime_checkable
class OutlierDetector(Protocol):
    """What the loop needs from an outlier detector."""

    threshold_: float

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters, sorted by name."""
        ...

    def set_params(self, **params: Any) -> Any:
        """Set parameters by name; return ``self``."""
        ...

    def fit(self, reference: NDArray[np.floating]) -> Self:
        """Learn from reference embeddings ``(n, d)``; return ``self``."""
        ...

    def score(self, X: NDArray[np.floating]) -> NDArray[np.float64]:
        """Scores ``(n,)`` of embeddings ``(n, d)``, higher = more outlying."""
        ...

    def fit_score(self, reference: NDArray[np.floating]) -> NDArray[np.float64]:
        """Fit on the reference and score it, ``(n,)``."""
        ...

    def predict(self, X: NDArray[np.floating]) -> NDArray[np.bool_]:
        """``True`` where a score exceeds ``threshold_``, ``(n,)``."""
        ...


def make_outlier_detector(name: str, **params: Any) -> OutlierDetector:
    """Build an unfitted detector by name.

    Args:
        name: One of :data:`OUTLIER_DETECTOR_NAMES`.
        **params: Constructor parameters of that detector, e.g. ``n_neighbors=10``.

    Returns:
        The detector.

    Raises:
        UnknownOutlierDetectorError: If ``name`` is not known.
        InvalidOutlierParameterError: If a parameter name is not one the detector takes.
    """
    detector = OUTLIER_DETECTORS.create(name)
    if params:
        detector.set_params(**params)
    return detector


@dataclass(frozen=True)
class OutlierReport:
    """Outlier scores of a set of images and the ones flagged.

    Attributes:
        method: Detector name, e.g. ``"knn"``.
        scores: Scores, higher = more outlying, shape ``(n,)``.
        threshold: Scores above it are flagged.
        flagged: Indices of flagged images, most outlying first, shape ``(n_flagged,)``.
    """

    method: str
    scores: NDArray[np.float64]
    threshold: float
    flagged: NDArray[np.intp]

    @classmethod
    def from_scores(
        cls, method: str, scores: NDArray[np.floating], threshold: float
    ) -> OutlierReport:
        """Build a report, flagging scores above ``threshold``.

        Args:
            method: Detector name.
            scores: Scores, shape ``(n,)``.
            threshold: Flagging threshold.

        Returns:
            The report; ties in score keep index order.
        """
        values = np.asarray(scores, dtype=np.float64)
        order = np.argsort(-values, kind="stable")
        flagged = order[values[order] > threshold].astype(np.intp)
        return cls(method, values, float(threshold), flagged)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: method, threshold, flagged indices and all scores."""
        return {
            "method": self.method,
            "threshold": self.threshold,
            "flagged": [int(i) for i in self.flagged],
            "scores": [float(s) for s in self.scores],
        }


def detect_outliers(
    embeddings: NDArray[np.floating],
    method: str = "knn",
    *,
    reference: NDArray[np.floating] | None = None,
    **params: object,
) -> OutlierReport:
    """Score a batch of images for outliers, against a reference or against itself.

    Args:
        embeddings: Embeddings of the images to check, shape ``(n, d)``.
        method: One of :data:`OUTLIER_DETECTOR_NAMES`.
        reference: Embeddings of known-typical images, shape ``(n_ref, d)``;
            ``None`` finds outliers within ``embeddings`` itself.
        **params: Detector parameters, as for :func:`make_outlier_detector`.

    Returns:
        The report over ``embeddings``.
    """
    detector = make_outlier_detector(method, **params)
    if reference is None:
        scores = detector.fit_score(embeddings)
    else:
        scores = detector.fit(reference).score(embeddings)
    return OutlierReport.from_scores(method, scores, detector.threshold_)
