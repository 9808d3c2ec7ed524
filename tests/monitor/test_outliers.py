"""Tests for labelloop.monitor.outliers: planted outliers among the demo digits."""

import json
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from labelloop.data.demo import digits_arrays
from labelloop.errors import LabelloopError
from labelloop.monitor.outliers import (
    OUTLIER_DETECTOR_NAMES,
    OUTLIER_POLICIES,
    InvalidOutlierInputError,
    InvalidOutlierParameterError,
    IsolationForestOutliers,
    KNNDistanceOutliers,
    OutlierDetector,
    OutlierNotFittedError,
    OutlierReport,
    UnknownOutlierDetectorError,
    apply_outlier_policy,
    detect_outliers,
    make_outlier_detector,
)

N_CLEAN = 1500

Planted = tuple[NDArray[np.float64], NDArray[np.intp]]
"""Clean digits followed by planted outliers, and the outliers' indices."""


@pytest.fixture(scope="module")
def digits() -> NDArray[np.float64]:
    X, _ = digits_arrays()
    return X.reshape(len(X), -1).astype(np.float64)


@pytest.fixture(scope="module")
def planted(digits: NDArray[np.float64]) -> Planted:
    """1500 clean digits, then 10 uniform-noise, 3 blank and 3 saturated images."""
    rng = np.random.default_rng(0)
    noise = rng.uniform(0.0, 1.0, size=(10, 64))
    data = np.vstack([digits[:N_CLEAN], noise, np.zeros((3, 64)), np.ones((3, 64))])
    return data, np.arange(N_CLEAN, len(data), dtype=np.intp)


def _detectors() -> list[OutlierDetector]:
    return [IsolationForestOutliers(random_state=0), KNNDistanceOutliers()]


@pytest.mark.parametrize("detector", _detectors(), ids=["isolation_forest", "knn"])
def test_planted_outliers_rank_in_top_two_percent(
    detector: OutlierDetector, planted: Planted
) -> None:
    data, outliers = planted
    scores = detector.fit_score(data)
    top = set(np.argsort(-scores)[: int(0.02 * len(data))].tolist())
    assert set(outliers.tolist()) <= top
    # Noise images are unlike anything: they outrank every clean digit.
    noise = outliers[:10]
    assert scores[noise].min() > scores[:N_CLEAN].max()
    assert (scores[noise] > detector.threshold_).all()


@pytest.mark.parametrize("detector", _detectors(), ids=["isolation_forest", "knn"])
def test_fitted_on_clean_reference_flags_new_noise(
    detector: OutlierDetector, digits: NDArray[np.float64]
) -> None:
    detector.fit(digits[:N_CLEAN])
    noise = np.random.default_rng(1).uniform(0.0, 1.0, size=(5, 64))
    assert detector.predict(noise).all()
    assert detector.score(noise).min() > detector.score(digits[N_CLEAN:]).max()


def test_knn_threshold_excludes_self_match(digits: NDArray[np.float64]) -> None:
    perm = np.random.default_rng(0).permutation(len(digits))
    reference, held_out = digits[perm[:1400]], digits[perm[1400:]]
    detector = KNNDistanceOutliers(n_neighbors=5, quantile=0.99).fit(reference)
    # New clean digits are flagged at about 1 - quantile. A threshold taken from
    # scores that count each point as its own neighbour would be lower and
    # flag over 10% of them.
    assert detector.predict(held_out).mean() <= 0.03
    assert detector.threshold_ == pytest.approx(np.quantile(detector.reference_scores_, 0.99))
    assert detector.threshold_ > np.quantile(detector.score(reference), 0.99)


def test_knn_fit_score_finds_isolated_reference_point() -> None:
    rng = np.random.default_rng(0)
    data = np.vstack([rng.normal(0.0, 0.1, size=(50, 2)), [[10.0, 10.0]]])
    detector = KNNDistanceOutliers(n_neighbors=1)
    scores = detector.fit_score(data)
    assert int(np.argmax(scores)) == 50
    assert scores[50] > 10.0
    # Scoring the reference as new points matches each to itself at distance 0.
    assert np.all(detector.score(data) == 0.0)


def test_knn_self_exclusion_with_exact_duplicates() -> None:
    data = np.array([[0.0], [0.0], [0.0], [5.0]])
    scores = KNNDistanceOutliers(n_neighbors=2).fit_score(data)
    np.testing.assert_allclose(scores, [0.0, 0.0, 0.0, 5.0])


def test_isolation_forest_scale_and_threshold(
    planted: Planted,
) -> None:
    data, _ = planted
    auto = IsolationForestOutliers(random_state=0).fit(data)
    assert auto.threshold_ == pytest.approx(0.5)
    scores = auto.score(data)
    assert np.all((scores > 0.0) & (scores <= 1.0))
    fixed = IsolationForestOutliers(contamination=0.01, random_state=0).fit(data)
    assert fixed.predict(data).sum() == pytest.approx(0.01 * len(data), abs=2)


def test_isolation_forest_is_deterministic_with_random_state(
    planted: Planted,
) -> None:
    data, _ = planted
    first = IsolationForestOutliers(n_estimators=50, random_state=3).fit_score(data)
    second = IsolationForestOutliers(n_estimators=50, random_state=3).fit_score(data)
    other = IsolationForestOutliers(n_estimators=50, random_state=4).fit_score(data)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def test_constructor_only_stores_parameters() -> None:
    detector = KNNDistanceOutliers(n_neighbors=-1, quantile=7.0)
    assert detector.n_neighbors == -1
    assert not hasattr(detector, "threshold_")
    with pytest.raises(InvalidOutlierParameterError, match="n_neighbors"):
        detector.fit(np.zeros((10, 2)))


@pytest.mark.parametrize(
    ("detector", "match"),
    [
        (KNNDistanceOutliers(quantile=0.0), "quantile"),
        (KNNDistanceOutliers(quantile=True), "quantile"),
        (IsolationForestOutliers(n_estimators=0), "n_estimators"),
        (IsolationForestOutliers(contamination=0.9), "contamination"),
        (IsolationForestOutliers(random_state=-1), "random_state"),
    ],
)
def test_invalid_parameters_raise_at_fit(detector: OutlierDetector, match: str) -> None:
    with pytest.raises(InvalidOutlierParameterError, match=match):
        detector.fit(np.random.default_rng(0).normal(size=(20, 3)))


@pytest.mark.parametrize(
    ("reference", "match"),
    [
        (np.zeros(10), "2-D"),
        (np.zeros((10, 0)), "2-D"),
        (np.array([[0.0, np.nan]] * 10), "NaN"),
        (np.array([["a", "b"]] * 10), "real numbers"),
        (np.zeros((5, 2)), "at least 6 rows"),
    ],
)
def test_invalid_reference_raises(reference: NDArray[Any], match: str) -> None:
    with pytest.raises(InvalidOutlierInputError, match=match) as info:
        KNNDistanceOutliers().fit(reference)
    assert isinstance(info.value, LabelloopError)
    assert isinstance(info.value, ValueError)


def test_score_before_fit_and_width_mismatch() -> None:
    with pytest.raises(OutlierNotFittedError, match="fit"):
        IsolationForestOutliers().score(np.zeros((3, 2)))
    detector = KNNDistanceOutliers().fit(np.random.default_rng(0).normal(size=(20, 3)))
    with pytest.raises(InvalidOutlierInputError, match="3"):
        detector.score(np.zeros((2, 4)))


def test_make_outlier_detector() -> None:
    assert OUTLIER_DETECTOR_NAMES == ("isolation_forest", "knn")
    detector = make_outlier_detector("knn", n_neighbors=3)
    assert isinstance(detector, KNNDistanceOutliers)
    assert detector.n_neighbors == 3
    assert isinstance(make_outlier_detector("isolation_forest"), IsolationForestOutliers)
    with pytest.raises(UnknownOutlierDetectorError, match="isolation_forest, knn"):
        make_outlier_detector("lof")
    with pytest.raises(InvalidOutlierParameterError, match="n_neighbours"):
        make_outlier_detector("knn", n_neighbours=3)


def test_report_orders_flagged_most_outlying_first() -> None:
    report = OutlierReport.from_scores("knn", np.array([0.1, 3.0, 0.5, 2.0, 2.0]), 1.0)
    assert report.flagged.tolist() == [1, 3, 4]
    assert report.flagged.dtype == np.intp
    payload = json.loads(json.dumps(report.to_dict()))
    assert payload["flagged"] == [1, 3, 4]
    assert payload["threshold"] == 1.0
    assert payload["method"] == "knn"


def test_detect_outliers_within_batch_and_against_reference(
    digits: NDArray[np.float64], planted: Planted
) -> None:
    data, outliers = planted
    within = detect_outliers(data, "knn")
    assert set(outliers[:10].tolist()) <= set(within.flagged[:10].tolist())
    batch = np.vstack([digits[N_CLEAN : N_CLEAN + 20], data[outliers[:10]]])
    against = detect_outliers(batch, "knn", reference=digits[:N_CLEAN])
    assert set(against.flagged[:10].tolist()) == set(range(20, 30))


def test_policies() -> None:
    assert OUTLIER_POLICIES == ("exclude", "keep", "review_first")
    flagged = np.array([False, True, False, True, False])
    scores = np.array([0.0, 1.0, 0.0, 5.0, 0.0])
    ranking = np.array([4, 3, 2, 1, 0])

    review = apply_outlier_policy(flagged, "review_first", scores)
    assert review.review_first.tolist() == [3, 1]
    assert not review.excluded.any()
    assert review.order(ranking).tolist() == [3, 1, 4, 2, 0]

    exclude = apply_outlier_policy(flagged, "exclude", scores)
    assert exclude.excluded.tolist() == flagged.tolist()
    assert exclude.order(ranking).tolist() == [4, 2, 0]

    keep = apply_outlier_policy(flagged, "keep")
    assert keep.order(ranking).tolist() == ranking.tolist()


def test_policy_input_errors() -> None:
    with pytest.raises(InvalidOutlierParameterError, match="review_first"):
        apply_outlier_policy(np.zeros(3, dtype=bool), "drop")  # type: ignore[arg-type]
    with pytest.raises(InvalidOutlierInputError, match="boolean"):
        apply_outlier_policy(np.zeros(3), "keep")  # type: ignore[arg-type]
    with pytest.raises(InvalidOutlierInputError, match="shape"):
        apply_outlier_policy(np.zeros(3, dtype=bool), "keep", np.zeros(4))
