"""Building strategies by name."""

from typing import get_args

import pytest

from labelloop.strategies import (
    STRATEGY_NAMES,
    EntropySampling,
    LeastConfidence,
    MarginSampling,
    RandomSampling,
    StrategyName,
    UnknownStrategyError,
    make_strategy,
)


def test_names_are_sorted_and_complete() -> None:
    assert STRATEGY_NAMES == ("entropy", "least_confidence", "margin", "random")


def test_literal_type_lists_the_registered_names() -> None:
    assert get_args(StrategyName) == STRATEGY_NAMES


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("entropy", EntropySampling),
        ("least_confidence", LeastConfidence),
        ("margin", MarginSampling),
        ("random", RandomSampling),
    ],
)
def test_each_name_builds_its_class(name: str, cls: type) -> None:
    strategy = make_strategy(name)
    assert type(strategy) is cls
    assert strategy.name == name


def test_random_state_reaches_strategies_that_take_one() -> None:
    assert make_strategy("random", random_state=5).get_params() == {"random_state": 5}
    assert make_strategy("entropy", random_state=5).get_params() == {}


def test_unknown_name_lists_the_allowed_ones() -> None:
    with pytest.raises(UnknownStrategyError, match="entropy, least_confidence, margin, random"):
        make_strategy("bald")
    with pytest.raises(ValueError, match="'Entropy'"):
        make_strategy("Entropy")
