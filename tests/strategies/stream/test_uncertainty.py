"""Threshold selectors: fixed, variable and randomized variable uncertainty."""

import math

import numpy as np
import pytest

from labelloop.strategies.stream import (
    FixedThresholdSelector,
    InvalidParameterError,
    RandomizedVariableUncertaintySelector,
    RandomStreamSelector,
    VariableUncertaintySelector,
    item_confidences,
    simulate_stream,
)
from tests.strategies.stream.streams import dirichlet_stream


def test_fixed_threshold_never_queries_confident_items() -> None:
    confidences = np.random.default_rng(1).random(5_000)
    # Budget 1 with a one-item window: the budget never refuses, only the threshold.
    selector = FixedThresholdSelector(budget=1.0, threshold=0.6, window=1)
    decisions = simulate_stream(selector, confidences=confidences)
    np.testing.assert_array_equal(decisions, confidences < 0.6)


def test_fixed_threshold_is_strict_and_spends_nothing_on_a_confident_stream() -> None:
    selector = FixedThresholdSelector(budget=0.5, threshold=0.8)
    assert not simulate_stream(selector, confidences=[0.8] * 100).any()
    assert selector.budget_manager_.share_ == 0.0
    assert selector.threshold_ == 0.8


def test_fixed_threshold_spends_only_the_budget_on_uncertain_items() -> None:
    probs = dirichlet_stream(10_000)
    selector = FixedThresholdSelector(budget=0.1, threshold=0.9)
    decisions = simulate_stream(selector, probs)
    assert decisions.mean() == pytest.approx(0.1, rel=0.05)
    assert (item_confidences(probs)[decisions] < 0.9).all()


def test_variable_uncertainty_hand_computed_thresholds() -> None:
    selector = VariableUncertaintySelector(budget=1.0, step=0.1, window=1)
    steps = [
        # (confidence, queried, threshold after)
        (0.95, True, 0.9),  # 0.95 < 1: query, 1 * 0.9
        (0.97, False, 0.99),  # 0.97 >= 0.9: pass, 0.9 * 1.1
        (0.5, True, 0.891),  # 0.99 * 0.9
        (0.9, False, 0.9801),  # 0.9 >= 0.891: 0.891 * 1.1
        (0.98, True, 0.88209),  # 0.98 < 0.9801: 0.9801 * 0.9
    ]
    for confidence, queried, threshold in steps:
        assert selector.decide(confidence=confidence) is queried
        assert selector.threshold_ == pytest.approx(threshold)


def test_variable_uncertainty_threshold_stays_while_budget_refuses() -> None:
    # budget 0.5, window 2: every other item is refused after a query.
    selector = VariableUncertaintySelector(budget=0.5, step=0.1, window=2)
    steps = [
        (0.5, True, 0.9),
        (0.99, False, 0.9),  # refused by the budget: the threshold does not move
        (0.99, False, 0.99),  # allowed, confident: raised
        (0.2, True, 0.891),
    ]
    for confidence, queried, threshold in steps:
        assert selector.decide(confidence=confidence) is queried
        assert selector.threshold_ == pytest.approx(threshold)


def test_variable_uncertainty_spends_its_budget_on_a_confident_stream() -> None:
    # A fixed threshold of 0.9 would query nothing here; the variable one rises to it.
    confidences = 0.95 + 0.04 * np.random.default_rng(2).random(10_000)
    selector = VariableUncertaintySelector(budget=0.1)
    decisions = simulate_stream(selector, confidences=confidences)
    assert decisions.mean() == pytest.approx(0.1, rel=0.05)
    assert 0.95 < selector.threshold_ < 1.0


def test_variable_uncertainty_picks_less_confident_items_than_random() -> None:
    probs = dirichlet_stream(10_000)
    confidences = item_confidences(probs)
    uncertain = simulate_stream(VariableUncertaintySelector(budget=0.1), probs)
    at_random = simulate_stream(RandomStreamSelector(budget=0.1, random_state=0), probs)
    assert confidences[uncertain].mean() < confidences[at_random].mean() - 0.1


def thresholds_and_decisions(
    selector: VariableUncertaintySelector, confidences: list[float]
) -> tuple[list[float], list[bool]]:
    """The threshold before each item, and the decision on it."""
    selector.reset()
    thresholds, decisions = [], []
    for confidence in confidences:
        thresholds.append(selector.threshold_)
        decisions.append(selector.decide(confidence=confidence))
    return thresholds, decisions


def test_randomized_queries_some_items_above_the_threshold() -> None:
    confidences = item_confidences(dirichlet_stream(5_000)).tolist()
    for selector, expect_above in [
        (VariableUncertaintySelector(budget=0.1), False),
        (RandomizedVariableUncertaintySelector(budget=0.1, random_state=0), True),
    ]:
        thresholds, decisions = thresholds_and_decisions(selector, confidences)
        above = [c >= t for c, t, d in zip(confidences, thresholds, decisions, strict=True) if d]
        assert any(above) is expect_above


def test_randomized_is_reproducible_under_a_seed() -> None:
    probs = dirichlet_stream(3_000)
    runs = [
        simulate_stream(RandomizedVariableUncertaintySelector(random_state=seed), probs)
        for seed in (7, 7, 8)
    ]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])
    selector = RandomizedVariableUncertaintySelector(random_state=7)
    np.testing.assert_array_equal(simulate_stream(selector, probs), runs[0])
    np.testing.assert_array_equal(simulate_stream(selector, probs), runs[0])  # after reset


def test_randomized_without_spread_is_variable_uncertainty() -> None:
    probs = dirichlet_stream(3_000)
    plain = simulate_stream(VariableUncertaintySelector(budget=0.2, step=0.05), probs)
    randomized = RandomizedVariableUncertaintySelector(
        budget=0.2, step=0.05, delta=0.0, random_state=3
    )
    np.testing.assert_array_equal(simulate_stream(randomized, probs), plain)


@pytest.mark.parametrize(
    ("selector", "parameter"),
    [
        (FixedThresholdSelector(threshold=0.0), "threshold"),
        (FixedThresholdSelector(threshold=1.5), "threshold"),
        (FixedThresholdSelector(threshold=math.nan), "threshold"),
        (VariableUncertaintySelector(step=0.0), "step"),
        (VariableUncertaintySelector(step=1.0), "step"),
        (VariableUncertaintySelector(step="0.01"), "step"),  # type: ignore[arg-type]
        (RandomizedVariableUncertaintySelector(delta=-0.5), "delta"),
        (RandomizedVariableUncertaintySelector(delta=math.inf), "delta"),
        (RandomizedVariableUncertaintySelector(random_state=-1), "random_state"),
        (RandomizedVariableUncertaintySelector(random_state=1.5), "random_state"),  # type: ignore[arg-type]
    ],
    ids=repr,
)
def test_out_of_range_parameter_is_named_at_reset(
    selector: VariableUncertaintySelector | FixedThresholdSelector, parameter: str
) -> None:
    with pytest.raises(
        InvalidParameterError, match=rf"^{parameter} must be .* [Pp]ass e\.g\. {parameter}="
    ):
        selector.reset()
