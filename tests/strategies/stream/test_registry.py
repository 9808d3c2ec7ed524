"""Building stream selectors by name."""

import pytest

from labelloop.strategies.stream import (
    STREAM_SELECTOR_NAMES,
    STREAM_SELECTORS,
    FixedThresholdSelector,
    InvalidParameterError,
    RandomizedVariableUncertaintySelector,
    RandomStreamSelector,
    SplitSelector,
    UnknownStrategyError,
    VariableUncertaintySelector,
    make_stream_selector,
)


def test_names_are_sorted_and_complete() -> None:
    assert STREAM_SELECTOR_NAMES == (
        "fixed_threshold",
        "random",
        "randomized_variable_uncertainty",
        "split",
        "variable_uncertainty",
    )


def test_every_entry_has_help_and_reads_no_pool_field() -> None:
    assert all(STREAM_SELECTORS.help().values())
    assert all(entry.needs == frozenset() for entry in STREAM_SELECTORS)


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("fixed_threshold", FixedThresholdSelector),
        ("random", RandomStreamSelector),
        ("randomized_variable_uncertainty", RandomizedVariableUncertaintySelector),
        ("split", SplitSelector),
        ("variable_uncertainty", VariableUncertaintySelector),
    ],
)
def test_each_name_builds_its_class_ready_to_decide(name: str, cls: type) -> None:
    selector = make_stream_selector(name, budget=0.2)
    assert type(selector) is cls
    assert selector.name == name
    assert selector.get_params()["budget"] == 0.2
    assert (selector.n_seen_, selector.n_queried_) == (0, 0)


def test_random_state_reaches_only_selectors_that_draw() -> None:
    split = make_stream_selector("split", budget=0.1, random_state=5)
    fixed = make_stream_selector("fixed_threshold", budget=0.1, random_state=5)
    assert split.get_params()["random_state"] == 5
    assert "random_state" not in fixed.get_params()


def test_other_parameters_pass_through() -> None:
    selector = make_stream_selector("fixed_threshold", budget=0.3, threshold=0.7, window=20)
    assert selector.get_params() == {"budget": 0.3, "threshold": 0.7, "window": 20}


def test_unknown_name_lists_the_allowed_ones() -> None:
    with pytest.raises(
        UnknownStrategyError, match="'uncertainty'; choose one of: fixed_threshold, random, "
    ):
        make_stream_selector("uncertainty", budget=0.1)
    with pytest.raises(ValueError, match="'Split'"):
        make_stream_selector("Split", budget=0.1)


def test_unknown_parameter_is_named_with_the_accepted_ones() -> None:
    with pytest.raises(
        InvalidParameterError,
        match=r"'fixed_threshold' takes no parameter 'step'; .* threshold, window",
    ):
        make_stream_selector("fixed_threshold", budget=0.1, step=0.01)


@pytest.mark.parametrize(("budget", "window"), [(0.0, 100), (1.5, 100), (-0.1, 100), (0.1, 0)])
def test_out_of_range_budget_or_window_fails_when_built(budget: float, window: int) -> None:
    with pytest.raises(InvalidParameterError, match=r"budget must|window must"):
        make_stream_selector("variable_uncertainty", budget=budget, window=window)
