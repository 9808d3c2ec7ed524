"""Concept drift detectors on simulated error streams with a planted change."""

import json
import math

import numpy as np
import pytest
from numpy.typing import NDArray

from labelloop.monitor.concept import (
    CONCEPT_DETECTOR_NAMES,
    ConceptInputError,
    detect_concept_drift,
    make_concept_detector,
)

CHANGE = 1000


def error_stream(seed: int, after: float = 0.40, n: int = 2000) -> NDArray[np.bool_]:
    """Errors at rate 0.05 for the first CHANGE labels, then at rate ``after``."""
    rng = np.random.default_rng(seed)
    rate = np.where(np.arange(n) < CHANGE, 0.05, after)
    errors: NDArray[np.bool_] = rng.random(n) < rate
    return errors


@pytest.mark.parametrize("name", CONCEPT_DETECTOR_NAMES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rise_in_error_rate_is_caught_soon_after_the_change(name: str, seed: int) -> None:
    report = detect_concept_drift(error_stream(seed), name)
    assert report.drift_points, "the rise from 5% to 40% errors went unnoticed"
    first = report.drift_points[0]
    assert CHANGE <= first <= CHANGE + 200
    assert report.last_drift == report.drift_points[-1]
    assert report.error_rate_before is not None and report.error_rate_before < 0.15
    assert report.error_rate_after == pytest.approx(0.40, abs=0.05)


@pytest.mark.parametrize("name", CONCEPT_DETECTOR_NAMES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stationary_stream_raises_no_drift(name: str, seed: int) -> None:
    report = detect_concept_drift(error_stream(seed, after=0.05), name)
    assert report.drift_points == ()
    assert report.last_drift is None
    assert report.error_rate_before is None and report.error_rate_after is None


def test_river_defaults_misfit_low_error_rates() -> None:
    # Why DDM and Page-Hinkley get their own defaults (see their docstrings).
    river_ddm = {"warm_start": 30, "drift_threshold": 3.0}
    river_ph = {"delta": 0.005, "threshold": 50.0}
    steady = [error_stream(s, after=0.05) for s in range(10)]
    assert sum(len(detect_concept_drift(e, "ddm", **river_ddm).drift_points) for e in steady) > 0
    rising = error_stream(0)
    ours = detect_concept_drift(rising, "page_hinkley").drift_points[0]
    theirs = detect_concept_drift(rising, "page_hinkley", **river_ph).drift_points[0]
    assert ours + 50 < theirs


@pytest.mark.parametrize("name", CONCEPT_DETECTOR_NAMES)
def test_update_returns_true_exactly_at_drift_points(name: str) -> None:
    detector = make_concept_detector(name)
    flagged = [i for i, e in enumerate(error_stream(0).tolist()) if detector.update(e)]
    assert flagged == detector.drift_points_
    assert detector.n_seen_ == 2000
    assert flagged == list(detect_concept_drift(error_stream(0), name).drift_points)
    detector.reset()
    assert (detector.n_seen_, detector.drift_points_) == (0, [])


def test_update_accepts_booleans_and_bits() -> None:
    detector = make_concept_detector("adwin")
    for error in (True, False, 1, 0, np.bool_(True), np.int64(0)):
        detector.update(error)
    assert detector.n_seen_ == 6


def test_report_to_dict_is_json_ready() -> None:
    report = detect_concept_drift([0, 1] * 5, "adwin")
    summary = report.to_dict()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["n"] == 10
    assert summary["method"] == "adwin"


def test_page_hinkley_up_mode_ignores_a_falling_error_rate() -> None:
    rng = np.random.default_rng(0)
    falling = rng.random(2000) < np.where(np.arange(2000) < CHANGE, 0.40, 0.05)
    assert detect_concept_drift(falling, "page_hinkley").drift_points == ()
    assert detect_concept_drift(falling, "page_hinkley", mode="both").drift_points


@pytest.mark.parametrize(
    ("errors", "message"),
    [
        ([0, 1, 2], "0/1"),
        ([0.5, 1.0], "0/1"),
        (["a", "b"], "0/1"),
        ([[0, 1], [1, 0]], "1-D"),
    ],
)
def test_non_binary_streams_raise(errors: object, message: str) -> None:
    with pytest.raises(ConceptInputError, match=message):
        detect_concept_drift(errors, "adwin")  # type: ignore[arg-type]


@pytest.mark.parametrize("error", [0.5, 2, "yes", None])
def test_update_rejects_non_binary_values(error: object) -> None:
    with pytest.raises(ConceptInputError, match="boolean or 0/1"):
        make_concept_detector("ddm").update(error)  # type: ignore[arg-type]


def test_unknown_method_and_bad_parameters_raise() -> None:
    with pytest.raises(ConceptInputError, match="adwin, ddm, page_hinkley"):
        detect_concept_drift([0, 1], "cusum")
    with pytest.raises(ConceptInputError, match="bad parameters"):
        make_concept_detector("adwin", threshold=3.0)
    with pytest.raises(ConceptInputError, match="delta"):
        detect_concept_drift([0, 1], "adwin", delta=2.0)
    with pytest.raises(ConceptInputError, match="mode"):
        detect_concept_drift([0, 1], "page_hinkley", mode="sideways")


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("adwin", {"delta": 1.0}),  # documented (0, 1): 1 is outside
        ("adwin", {"delta": 0.0}),
        ("page_hinkley", {"threshold": math.inf}),
        ("page_hinkley", {"alpha": 0.0}),
        ("ddm", {"drift_threshold": math.nan}),
        ("ddm", {"warning_threshold": 0.0}),
    ],
)
def test_parameters_outside_their_documented_range_raise(
    method: str, params: dict[str, float]
) -> None:
    name = next(iter(params))
    with pytest.raises(ConceptInputError, match=name):
        detect_concept_drift([0, 1], method, **params)


def test_page_hinkley_accepts_its_closed_bounds() -> None:
    # delta >= 0 and alpha in (0, 1] include their ends.
    report = detect_concept_drift([0, 1] * 20, "page_hinkley", delta=0.0, alpha=1.0)
    assert report.n == 40
