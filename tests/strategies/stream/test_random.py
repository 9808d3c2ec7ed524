"""Random stream selection: blind to the item, reproducible, and spends its budget."""

import numpy as np
import pytest

from labelloop.strategies.stream import RandomStreamSelector, simulate_stream
from tests.strategies.stream.streams import dirichlet_stream


def test_decisions_ignore_the_item() -> None:
    selector = RandomStreamSelector(budget=0.2, random_state=4)
    first = simulate_stream(selector, dirichlet_stream(2_000, seed=1))
    second = simulate_stream(selector, dirichlet_stream(2_000, n_classes=5, seed=2))
    np.testing.assert_array_equal(first, second)


def test_same_seed_same_decisions_other_seed_other_decisions() -> None:
    probs = dirichlet_stream(2_000)
    runs = [simulate_stream(RandomStreamSelector(random_state=s), probs) for s in (3, 3, 4)]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


@pytest.mark.parametrize("budget", [0.01, 0.1, 0.25, 0.5])
def test_spends_the_budget_which_a_plain_coin_would_not(budget: float) -> None:
    selector = RandomStreamSelector(budget=budget, random_state=0)
    decisions = simulate_stream(selector, confidences=np.full(10_000, 0.5))
    assert decisions.mean() == pytest.approx(budget, rel=0.02)
    # A Bernoulli(budget) coin behind the same manager loses the heads the full window
    # refuses: this is why the selector's coin is paced.
    rng = np.random.default_rng(0)
    manager = RandomStreamSelector(budget=budget).reset().budget_manager_
    for head in rng.random(10_000) < budget:
        manager.record(bool(head) and manager.allows())
    assert manager.share_ < 0.95 * budget


def test_gaps_vary_around_one_over_budget() -> None:
    decisions = simulate_stream(
        RandomStreamSelector(budget=0.1, random_state=0), confidences=np.full(20_000, 0.5)
    )
    gaps = np.diff(np.flatnonzero(decisions))
    assert gaps.mean() == pytest.approx(10, rel=0.01)
    assert np.percentile(gaps, 5) <= 7
    assert np.percentile(gaps, 95) >= 13


def test_every_position_is_queried_at_the_budget_rate_across_seeds() -> None:
    # One run favours some positions modulo 1/budget; seeds must not all favour the same.
    n_seeds, n_items, budget = 1_000, 100, 0.1
    counts = np.zeros(n_items)
    for seed in range(n_seeds):
        selector = RandomStreamSelector(budget=budget, random_state=seed)
        counts += simulate_stream(selector, confidences=np.full(n_items, 0.5))
    rate = counts[20:] / n_seeds  # after the first 1/budget items' ramp-up
    assert np.abs(rate / budget - 1).max() < 0.45  # 100 expected hits: 4.5 sigma
    assert rate.mean() == pytest.approx(budget, rel=0.05)


@pytest.mark.parametrize("seed", range(5))
def test_full_budget_queries_every_item(seed: int) -> None:
    selector = RandomStreamSelector(budget=1.0, random_state=seed, window=1)
    assert simulate_stream(selector, confidences=np.full(50, 0.5)).all()
