"""Split: a random share of the stream is decided at random, the rest by uncertainty."""

import numpy as np
import pytest

from labelloop.strategies.stream import (
    InvalidParameterError,
    RandomStreamSelector,
    SplitSelector,
    VariableUncertaintySelector,
    simulate_stream,
)
from tests.strategies.stream.streams import dirichlet_stream


@pytest.mark.parametrize("random_share", [0.1, 0.2, 0.5])
@pytest.mark.parametrize("budget", [0.05, 0.2])
def test_random_share_of_decisions_and_of_queries(random_share: float, budget: float) -> None:
    selector = SplitSelector(budget=budget, random_share=random_share, random_state=0)
    decisions = simulate_stream(selector, dirichlet_stream(10_000))
    assert selector.n_random_ / selector.n_seen_ == pytest.approx(random_share, abs=0.015)
    assert selector.n_random_queried_ / selector.n_queried_ == pytest.approx(random_share, abs=0.03)
    assert decisions.mean() == pytest.approx(budget, rel=0.05)


def test_no_random_share_is_variable_uncertainty() -> None:
    probs = dirichlet_stream(3_000)
    split = SplitSelector(budget=0.1, random_share=0.0, step=0.02, random_state=1)
    plain = VariableUncertaintySelector(budget=0.1, step=0.02)
    np.testing.assert_array_equal(simulate_stream(split, probs), simulate_stream(plain, probs))
    assert split.n_random_ == 0
    assert split.threshold_ == plain.threshold_


def test_all_random_share_ignores_the_item() -> None:
    selector = SplitSelector(budget=0.1, random_share=1.0, random_state=2)
    first = simulate_stream(selector, dirichlet_stream(2_000, seed=1))
    second = simulate_stream(selector, confidences=np.zeros(2_000))
    np.testing.assert_array_equal(first, second)
    assert selector.threshold_ == 1.0  # no item reached variable uncertainty
    assert first.mean() == pytest.approx(0.1, rel=0.05)


def test_reproducible_under_a_seed() -> None:
    probs = dirichlet_stream(2_000)
    runs = [simulate_stream(SplitSelector(random_state=s), probs) for s in (5, 5, 6)]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])
    assert not np.array_equal(runs[0], simulate_stream(RandomStreamSelector(random_state=5), probs))


@pytest.mark.parametrize("random_share", [-0.1, 1.5, float("nan"), "0.2"])
def test_random_share_outside_zero_one_is_refused(random_share: object) -> None:
    selector = SplitSelector(random_share=random_share)  # type: ignore[arg-type]
    with pytest.raises(
        InvalidParameterError, match=r"random_share must be a finite number in \[0\.0, 1\.0\]"
    ):
        selector.reset()
