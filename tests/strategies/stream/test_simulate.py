"""Running a selector over a recorded stream."""

from collections.abc import Iterator

import numpy as np
import pytest
from numpy.typing import NDArray

from labelloop.strategies.stream import (
    SplitSelector,
    StreamInputError,
    VariableUncertaintySelector,
    make_stream_selector,
    simulate_stream,
)
from tests.strategies.stream.streams import dirichlet_stream


def test_array_list_generator_and_confidences_agree() -> None:
    probs = dirichlet_stream(500)
    selector = SplitSelector(budget=0.2, random_state=0)
    from_array = simulate_stream(selector, probs)

    def items() -> Iterator[NDArray[np.float64]]:
        yield from probs

    assert from_array.dtype == np.bool_
    assert from_array.shape == (500,)
    np.testing.assert_array_equal(simulate_stream(selector, list(probs)), from_array)
    np.testing.assert_array_equal(simulate_stream(selector, items()), from_array)
    confidences = probs.max(axis=1)
    np.testing.assert_array_equal(simulate_stream(selector, confidences=confidences), from_array)
    np.testing.assert_array_equal(
        simulate_stream(selector, confidences=confidences.tolist()), from_array
    )


def test_selector_keeps_the_run_state() -> None:
    selector = VariableUncertaintySelector(budget=0.1)
    decisions = simulate_stream(selector, dirichlet_stream(1_000))
    assert selector.n_seen_ == 1_000
    assert selector.n_queried_ == decisions.sum() == selector.budget_manager_.spent_


def test_restart_false_continues_the_stream() -> None:
    probs = dirichlet_stream(600)
    whole = simulate_stream(make_stream_selector("split", budget=0.1, random_state=1), probs)
    selector = make_stream_selector("split", budget=0.1, random_state=1)
    first = simulate_stream(selector, probs[:250])
    rest = simulate_stream(selector, probs[250:], restart=False)
    np.testing.assert_array_equal(np.concatenate([first, rest]), whole)
    assert selector.n_seen_ == 600
    # With restart (the default) the second part starts over and decides differently.
    assert not np.array_equal(simulate_stream(selector, probs[250:]), rest)


def test_empty_stream_gives_empty_decisions() -> None:
    selector = VariableUncertaintySelector()
    assert simulate_stream(selector, np.empty((0, 3))).shape == (0,)
    assert simulate_stream(selector, confidences=[]).dtype == np.bool_


def test_exactly_one_of_probs_or_confidences() -> None:
    selector = VariableUncertaintySelector()
    with pytest.raises(StreamInputError, match="got neither"):
        simulate_stream(selector)
    with pytest.raises(StreamInputError, match="got both"):
        simulate_stream(selector, dirichlet_stream(3), confidences=[0.5] * 3)


def test_malformed_array_is_refused_before_any_decision() -> None:
    selector = VariableUncertaintySelector()
    simulate_stream(selector, confidences=[0.5] * 5)
    probs = dirichlet_stream(10)
    probs[7, 0] = np.nan
    with pytest.raises(StreamInputError, match="no NaN"):
        simulate_stream(selector, probs, restart=False)
    assert selector.n_seen_ == 5
    with pytest.raises(StreamInputError, match=r"\(n_items, n_classes\)"):
        simulate_stream(selector, probs[0])
