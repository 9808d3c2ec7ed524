"""What a stream selector accepts as an item, and how it starts a stream."""

import math

import numpy as np
import pytest

from labelloop.strategies.stream import (
    FixedThresholdSelector,
    InvalidParameterError,
    StreamInputError,
    VariableUncertaintySelector,
    item_confidences,
)


def test_confidence_is_the_largest_class_probability() -> None:
    probs = np.array([[0.2, 0.5, 0.3], [0.9, 0.05, 0.05], [0.5, 0.5, 0.0]])
    np.testing.assert_array_equal(item_confidences(probs), [0.5, 0.9, 0.5])
    assert item_confidences(np.empty((0, 3))).shape == (0,)


def test_rounding_past_one_is_accepted_and_clipped() -> None:
    probs = np.array([[1.0 + 1e-7, -1e-7]], dtype=np.float32)
    assert item_confidences(probs).tolist() == [1.0]
    assert FixedThresholdSelector(threshold=1.0).decide(probs[0]) is False


def test_probs_and_confidence_give_the_same_decision() -> None:
    by_probs = VariableUncertaintySelector(budget=0.5, step=0.1, window=4)
    by_confidence = VariableUncertaintySelector(budget=0.5, step=0.1, window=4)
    for item in np.random.default_rng(0).dirichlet(np.ones(4), size=50):
        assert by_probs.decide(item) == by_confidence.decide(confidence=float(item.max()))
    assert by_probs.threshold_ == by_confidence.threshold_


def test_a_list_of_probabilities_is_accepted() -> None:
    assert FixedThresholdSelector(budget=1.0, threshold=0.9).decide([0.6, 0.4]) is True


@pytest.mark.parametrize(
    ("probs", "match"),
    [
        (np.array([[0.5, 0.5]]), r"shape \(n_classes,\); got shape \(1, 2\)"),
        (np.array(0.5), r"got shape \(\)"),
        (np.array([1.0]), "n_classes >= 2"),
        (np.array([0.5, math.nan]), "no NaN"),
        (np.array([1.5, -0.5]), r"not logits"),
        (["a", "b"], "cannot convert"),
        ([[0.5], [0.5, 0.5]], "cannot convert"),
    ],
)
def test_malformed_probs_are_refused(probs: object, match: str) -> None:
    selector = FixedThresholdSelector()
    with pytest.raises(StreamInputError, match=match):
        selector.decide(probs)  # type: ignore[arg-type]
    assert not hasattr(selector, "n_seen_")  # refused before the stream started


@pytest.mark.parametrize("confidence", [-0.01, 1.01, math.nan, math.inf])
def test_confidence_outside_zero_one_is_refused(confidence: float) -> None:
    with pytest.raises(StreamInputError, match=r"confidence must be in \[0, 1\].*1 - u"):
        FixedThresholdSelector().decide(confidence=confidence)


@pytest.mark.parametrize("confidence", ["0.5", True, [0.5], np.array([0.5])])
def test_confidence_that_is_not_a_number_is_refused(confidence: object) -> None:
    with pytest.raises(StreamInputError, match="confidence must be a number"):
        FixedThresholdSelector().decide(confidence=confidence)  # type: ignore[arg-type]


def test_exactly_one_of_probs_or_confidence() -> None:
    selector = FixedThresholdSelector()
    with pytest.raises(StreamInputError, match=r"exactly one of probs .* got neither"):
        selector.decide()
    with pytest.raises(StreamInputError, match="got both"):
        selector.decide(np.array([0.5, 0.5]), confidence=0.5)


def test_first_decision_starts_the_stream() -> None:
    selector = VariableUncertaintySelector()
    assert not hasattr(selector, "threshold_")
    assert selector.decide(confidence=0.5) is True
    assert (selector.n_seen_, selector.n_queried_) == (1, 1)
    assert selector.budget_manager_.get_params() == {"budget": 0.1, "window": 100}


def test_bad_parameter_surfaces_at_the_first_decision() -> None:
    selector = VariableUncertaintySelector(budget=2.0)
    with pytest.raises(InvalidParameterError, match="budget must be"):
        selector.decide(confidence=0.5)


def test_numpy_confidence_is_accepted() -> None:
    selector = FixedThresholdSelector(budget=1.0, threshold=0.5)
    assert selector.decide(confidence=np.float32(0.25)) is True  # type: ignore[arg-type]
