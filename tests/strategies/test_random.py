"""Random sampling: reproducible under a seed, uniform over unlabeled items."""

import numpy as np
import pytest

from labelloop.strategies import InvalidParameterError, Pool, RandomSampling


def half_labeled_pool(n: int) -> Pool:
    return Pool(labeled=np.arange(n) % 2 == 0)


def test_same_seed_same_pool_same_indices() -> None:
    pool = half_labeled_pool(1000)
    first = RandomSampling(random_state=11).select(pool, 20)
    np.testing.assert_array_equal(RandomSampling(random_state=11).select(pool, 20), first)


def test_different_seeds_pick_differently() -> None:
    pool = half_labeled_pool(1000)
    picks = {tuple(RandomSampling(random_state=seed).select(pool, 10)) for seed in range(5)}
    assert len(picks) == 5


def test_seed_none_picks_valid_items() -> None:
    pool = half_labeled_pool(100)
    picked = RandomSampling().select(pool, 10)
    assert len(set(picked.tolist())) == 10
    assert (picked % 2 == 1).all()


def test_coverage_is_roughly_uniform_and_skips_labeled() -> None:
    n, batch, draws = 40, 5, 2000
    counts = np.zeros(n, dtype=np.int64)
    pool = half_labeled_pool(n)
    for seed in range(draws):
        counts[RandomSampling(random_state=seed).select(pool, batch)] += 1
    assert counts[0::2].sum() == 0
    expected = draws * batch / (n // 2)  # 500 per unlabeled item
    spread = 5 * np.sqrt(expected)  # about 5 standard deviations
    assert np.abs(counts[1::2] - expected).max() < spread


def test_order_is_shuffled_not_sorted() -> None:
    picked = RandomSampling(random_state=0).select(half_labeled_pool(1000), 50)
    assert picked.tolist() != sorted(picked.tolist())


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_invalid_seed_is_stored_then_refused_at_select(seed: object) -> None:
    strategy = RandomSampling(random_state=seed)  # type: ignore[arg-type]
    assert strategy.get_params() == {"random_state": seed}
    with pytest.raises(InvalidParameterError, match="random_state"):
        strategy.select(half_labeled_pool(10), 2)


def test_numpy_integer_seed_is_accepted() -> None:
    pool = half_labeled_pool(100)
    np.testing.assert_array_equal(
        RandomSampling(random_state=np.int64(4)).select(pool, 5),  # type: ignore[arg-type]
        RandomSampling(random_state=4).select(pool, 5),
    )
