"""The contract every registered stream selector must keep.

Parametrized over ``STREAM_SELECTOR_NAMES``, so a selector joins these checks as
soon as it is registered.
"""

from dataclasses import fields
from typing import Any

import numpy as np
import pytest

from labelloop.strategies.stream import (
    STREAM_SELECTOR_NAMES,
    BudgetManager,
    InvalidParameterError,
    StreamSelector,
    make_stream_selector,
    simulate_stream,
)
from tests.strategies.stream.streams import dirichlet_stream, max_window_queries, window_cap

N_ITEMS = 10_000
PROBS = dirichlet_stream(N_ITEMS, seed=11)


def make(name: str, budget: float = 0.1, window: int = 100) -> StreamSelector:
    return make_stream_selector(name, budget=budget, window=window, random_state=0)


def learned_state(selector: StreamSelector) -> dict[str, Any]:
    """Every attribute ending in ``_``, the budget manager's spelled out."""
    state = {key: value for key, value in vars(selector).items() if key.endswith("_")}
    manager: BudgetManager = state.pop("budget_manager_")
    state["budget_manager_"] = {
        key: value for key, value in vars(manager).items() if key.endswith("_")
    }
    return state


@pytest.mark.parametrize("name", STREAM_SELECTOR_NAMES)
def test_class_declares_its_registry_name(name: str) -> None:
    selector = make(name)
    assert isinstance(selector, StreamSelector)
    assert selector.name == name


@pytest.mark.parametrize(
    ("budget", "window"), [(0.01, 1000), (0.05, 100), (0.1, 100), (0.3, 100), (0.15, 10)]
)
@pytest.mark.parametrize("name", STREAM_SELECTOR_NAMES)
def test_spends_the_budget_and_never_more_in_any_window(
    name: str, budget: float, window: int
) -> None:
    # fixed_threshold's default 0.9 leaves about 97% of these items below it, so
    # every selector here wants more than its budget.
    decisions = simulate_stream(make(name, budget, window), PROBS)
    assert 0.95 * budget <= decisions.mean() <= 1.05 * budget
    most = max_window_queries(decisions, window)
    assert most <= window_cap(budget, window) <= budget * window + 1


@pytest.mark.slow
@pytest.mark.parametrize("name", STREAM_SELECTOR_NAMES)
def test_spends_the_budget_over_a_long_stream(name: str) -> None:
    selector = make(name, budget=0.05, window=200)
    decisions = simulate_stream(selector, dirichlet_stream(200_000, seed=12))
    assert decisions.mean() == pytest.approx(0.05, rel=0.02)
    assert max_window_queries(decisions, 200) <= 11


@pytest.mark.parametrize("name", STREAM_SELECTOR_NAMES)
def test_decisions_are_python_bools_counted_in_the_state(name: str) -> None:
    selector = make(name, budget=0.3)
    decisions = [selector.decide(item) for item in PROBS[:200]]
    assert all(type(decision) is bool for decision in decisions)
    assert selector.n_seen_ == 200
    assert selector.n_queried_ == sum(decisions) == selector.budget_manager_.spent_


@pytest.mark.parametrize("name", STREAM_SELECTOR_NAMES)
def test_probs_and_their_confidences_give_the_same_decisions(name: str) -> None:
    by_probs = simulate_stream(make(name), PROBS[:2_000])
    by_confidence = simulate_stream(make(name), confidences=PROBS[:2_000].max(axis=1))
    np.testing.assert_array_equal(by_probs, by_confidence)


@pytest.mark.parametrize("name", STREAM_SELECTOR_NAMES)
def test_same_seed_same_decisions(name: str) -> None:
    first = simulate_stream(make(name), PROBS[:2_000])
    np.testing.assert_array_equal(simulate_stream(make(name), PROBS[:2_000]), first)


@pytest.mark.parametrize("name", STREAM_SELECTOR_NAMES)
def test_reset_restores_the_initial_state(name: str) -> None:
    selector = make(name)
    initial = learned_state(selector)
    first = [selector.decide(item) for item in PROBS[:500]]
    assert learned_state(selector) != initial
    assert selector.reset() is selector
    assert learned_state(selector) == initial
    assert [selector.decide(item) for item in PROBS[:500]] == first


@pytest.mark.parametrize("name", STREAM_SELECTOR_NAMES)
def test_constructor_stores_parameters_unchanged(name: str) -> None:
    selector = make(name, budget=0.25, window=40)
    params = selector.get_params()
    assert params["budget"] == 0.25
    assert params["window"] == 40
    cls = type(selector)
    assert cls(**params).get_params() == params
    # scikit-learn's rule: __init__ neither validates nor converts what it is given.
    markers: dict[str, Any] = {key: object() for key in params}
    rebuilt = cls(**markers).get_params()
    assert all(rebuilt[key] is marker for key, marker in markers.items())
    assert repr(selector).startswith(f"{cls.__name__}(budget=0.25, ")
    simulate_stream(selector, PROBS[:100])
    assert selector.get_params() == params  # deciding leaves the parameters alone


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"budget": 0.0}, "budget must be"),
        ({"budget": 1.2}, "budget must be"),
        ({"budget": -0.1}, "budget must be"),
        ({"window": 0}, "window must be"),
        ({"window": 2.5}, "window must be"),
    ],
)
@pytest.mark.parametrize("name", STREAM_SELECTOR_NAMES)
def test_out_of_range_budget_or_window_is_refused(
    name: str, params: dict[str, Any], match: str
) -> None:
    cls = type(make(name))
    selector = cls(**params)
    with pytest.raises(InvalidParameterError, match=match):
        selector.reset()
    with pytest.raises(ValueError, match=match):
        make_stream_selector(name, **{"budget": 0.1, **params})


# (name, parameter) for every declared constraint of every registered selector.
CONSTRAINED = [
    (name, parameter)
    for name in STREAM_SELECTOR_NAMES
    for parameter in sorted(make(name).constraints)
]


@pytest.mark.parametrize(("name", "parameter"), CONSTRAINED)
def test_bad_parameter_is_stored_then_refused_at_reset_with_the_template(
    name: str, parameter: str
) -> None:
    marker = object()  # no constraint accepts it
    selector = type(make(name))(**{**make(name).get_params(), parameter: marker})
    assert selector.get_params()[parameter] is marker
    with pytest.raises(InvalidParameterError, match=rf"^{parameter} must be .*; got <object"):
        selector.reset()


@pytest.mark.parametrize("name", STREAM_SELECTOR_NAMES)
def test_parameters_are_dataclass_fields_and_state_is_not_taken(name: str) -> None:
    selector = make(name)
    declared = {field.name: field.init for field in fields(selector)}
    assert {key for key, taken in declared.items() if taken} == set(selector.get_params())
    state = {key for key in declared if key.endswith("_")}
    assert {"budget_manager_", "n_queried_", "n_seen_"} <= state
    assert not any(declared[key] for key in state)


@pytest.mark.parametrize("name", STREAM_SELECTOR_NAMES)
def test_every_parameter_is_constrained(name: str) -> None:
    selector = make(name)
    assert set(selector.constraints) == set(selector.get_params())
