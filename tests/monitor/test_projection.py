"""Learning-curve projection: recovery of planted curves, band coverage, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from labelloop.monitor.curves import plot_projection
from labelloop.monitor.projection import (
    LearningCurveFit,
    LearningCurveInputError,
    fit_learning_curve,
    inverse_power_law,
)

A, B, C = 0.95, 2.0, 0.6
N = np.arange(20, 520, 20, dtype=np.float64)


def true_gain(extra: int, start: float = 500.0) -> float:
    return float(inverse_power_law(start + extra, A, B, C) - inverse_power_law(start, A, B, C))


def fit(n: np.ndarray, acc: np.ndarray, **kwargs: bool) -> LearningCurveFit:
    result = fit_learning_curve(n, acc, **kwargs)
    assert result is not None
    return result


def test_recovers_planted_parameters_from_an_exact_curve() -> None:
    curve = fit(N, inverse_power_law(N, A, B, C))
    np.testing.assert_allclose(curve.params, [A, B, C], rtol=1e-3)
    np.testing.assert_allclose(
        curve.predict([1000, 5000]), inverse_power_law(np.array([1000, 5000]), A, B, C), atol=1e-4
    )
    for extra in (100, 1000):
        projected = curve.project_gain(extra)
        assert projected.n_from == 500 and projected.extra == extra
        assert projected.gain == pytest.approx(true_gain(extra), abs=1e-4)
    # Order of the points does not matter.
    shuffled = np.random.default_rng(0).permutation(len(N))
    np.testing.assert_allclose(
        fit(N[shuffled], inverse_power_law(N, A, B, C)[shuffled]).params, curve.params
    )


def test_band_covers_the_true_gain_on_noisy_curves() -> None:
    hits = {100: 0, 1000: 0}
    trials = 60
    for seed in range(trials):
        noise = np.random.default_rng(seed).normal(0.0, 0.01, len(N))
        curve = fit(N, np.clip(inverse_power_law(N, A, B, C) + noise, 0.0, 1.0))
        for extra in hits:
            p = curve.project_gain(extra, random_state=seed)
            assert p.low < p.high
            hits[extra] += p.low <= true_gain(extra) <= p.high
    # A 90% band from a Gaussian approximation with 22 degrees of freedom;
    # measured coverage is 0.85-0.89, far above what a band that ignored the
    # parameter uncertainty would reach.
    assert hits[100] / trials >= 0.75 and hits[1000] / trials >= 0.75, hits


def test_noisy_curve_fit_tracks_the_truth_where_it_was_measured() -> None:
    noise = np.random.default_rng(7).normal(0.0, 0.01, len(N))
    curve = fit(N, inverse_power_law(N, A, B, C) + noise)
    assert np.max(np.abs(curve.predict(N) - inverse_power_law(N, A, B, C))) < 0.015
    assert 0.0 <= curve.params[0] <= 1.0 and curve.params[1] >= 0 and curve.params[2] > 0
    assert 0.005 < curve.residual_std < 0.02
    wide = curve.project_gain(1000, level=0.99)
    narrow = curve.project_gain(1000, level=0.5)
    assert wide.low < narrow.low < narrow.high < wide.high


def test_later_points_weigh_more() -> None:
    acc = inverse_power_law(N, A, B, C)
    acc[:3] -= 0.1  # early rounds far off the curve the tail follows
    weighted = fit(N, acc)
    flat = fit(N, acc, weight_later=False)
    tail = slice(-8, None)

    def tail_error(curve: LearningCurveFit) -> float:
        return float(np.abs(curve.predict(N[tail]) - acc[tail]).max())

    assert tail_error(weighted) < tail_error(flat) / 2


def test_projection_is_repeatable_by_seed() -> None:
    noise = np.random.default_rng(1).normal(0.0, 0.01, len(N))
    curve = fit(N, inverse_power_law(N, A, B, C) + noise)
    assert curve.project_gain(100, random_state=3) == curve.project_gain(100, random_state=3)
    assert curve.project_gain(100, random_state=3) != curve.project_gain(100, random_state=4)


def test_too_few_points_give_no_fit() -> None:
    assert fit_learning_curve([20, 40, 60], [0.5, 0.6, 0.65]) is None
    # Four rounds, but only three distinct label counts.
    assert fit_learning_curve([20, 40, 60, 60], [0.5, 0.6, 0.65, 0.66]) is None
    assert fit_learning_curve([20, 40, 60, 80], [0.5, 0.6, 0.65, 0.67]) is not None


def test_malformed_points_are_refused() -> None:
    with pytest.raises(LearningCurveInputError, match="same length"):
        fit_learning_curve([20, 40, 60, 80], [0.5, 0.6])
    with pytest.raises(LearningCurveInputError, match="above 0"):
        fit_learning_curve([0, 40, 60, 80], [0.5, 0.6, 0.7, 0.8])
    with pytest.raises(LearningCurveInputError, match=r"\[0, 1\]"):
        fit_learning_curve([20, 40, 60, 80], [0.5, 0.6, 0.7, 80.0])
    curve = fit(N, inverse_power_law(N, A, B, C))
    with pytest.raises(ValueError, match="extras >= 1"):
        curve.project_gain(0)


def test_project_gains_equal_separate_projections_from_the_same_draws() -> None:
    curve = fit(N, inverse_power_law(N, A, B, C) + np.random.default_rng(5).normal(0, 0.01, len(N)))
    together = curve.project_gains((100, 1000), level=0.8, random_state=7)
    apart = tuple(curve.project_gain(e, level=0.8, random_state=7) for e in (100, 1000))
    assert together == apart
    assert together[0].low < together[0].high < together[1].high
    with pytest.raises(LearningCurveInputError, match="extras >= 1"):
        curve.project_gains((100, 0))


def test_inverse_power_law_broadcasts_parameter_draws() -> None:
    counts = np.array([10.0, 100.0])
    a = np.array([[0.9], [0.8]])
    got = inverse_power_law(counts, a, np.array([[1.0], [2.0]]), np.array([[0.5], [1.0]]))
    np.testing.assert_allclose(got, [[0.9 - 10**-0.5, 0.8], [0.8 - 0.2, 0.8 - 0.02]])


def test_to_dict_is_json_ready() -> None:
    curve = fit(N, inverse_power_law(N, A, B, C) + np.random.default_rng(2).normal(0, 0.01, len(N)))
    blob = json.loads(
        json.dumps(
            {"curve": curve.to_dict(), "p": curve.project_gain(100).to_dict()}, allow_nan=False
        )
    )
    assert blob["curve"]["n_points"] == len(N) and len(blob["curve"]["stderr"]) == 3
    assert set(blob["p"]) == {"extra", "n_from", "gain", "low", "high", "level"}


def test_curve_band_and_its_plot(tmp_path: Path) -> None:
    noise = np.random.default_rng(5).normal(0.0, 0.01, len(N))
    curve = fit(N, inverse_power_law(N, A, B, C) + noise)
    xs = np.array([100.0, 500.0, 1500.0])
    low, high = curve.predict_band(xs)
    assert np.all(low <= curve.predict(xs)) and np.all(curve.predict(xs) <= high)
    # Extrapolating is less certain than interpolating.
    assert high[2] - low[2] > high[1] - low[1]
    out = plot_projection(curve, tmp_path / "sub" / "projection.png", extra=1000)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_band_of_a_poorly_determined_fit_does_not_collapse_onto_zero() -> None:
    # Validation accuracy of a margin run on digits: 5 to 38 validation images,
    # no clear trend, so a, b and c are all uncertain (standard errors ~4).
    n = np.arange(20, 200, 10)
    acc = [0.8, 0.833, 0.875, 0.9, 0.917, 0.786, 0.75, 0.722, 0.8]
    acc += [0.773, 0.833, 0.88, 0.893, 0.897, 0.806, 0.853, 0.861, 0.868]
    curve = fit(n, np.array(acc))
    for extra in (100, 1000):
        p = curve.project_gain(extra)
        # Clipping the draws to the bounds piled them on "no gain" and left
        # the fitted gain above the whole band; truncating keeps it inside.
        assert p.low <= p.gain <= p.high and p.high > 1.5 * p.gain > 0
