"""The contract every registered query strategy must keep.

Parametrized over ``STRATEGY_NAMES``, so a strategy joins these checks as soon as
it is registered. The pool carries every optional field (probs, samples,
embeddings), so strategies that need any of them run here too.
"""

from dataclasses import fields
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from labelloop.strategies import (
    POOL_FIELDS,
    STRATEGY_NAMES,
    MissingPoolFieldError,
    Pool,
    QueryStrategy,
    make_strategy,
)

N_ITEMS = 12
LABELED = (0, 3, 4, 9, 10)  # leaves 7 unlabeled items
N_UNLABELED = N_ITEMS - len(LABELED)
REQUIRED_FIELDS = [
    (name, field) for name in STRATEGY_NAMES for field in sorted(make_strategy(name).requires)
]


def full_pool(
    labeled: NDArray[np.bool_] | None = None, dtype: type[np.floating[Any]] = np.float64
) -> Pool:
    """A seeded pool of N_ITEMS items with every optional field set."""
    rng = np.random.default_rng(42)
    if labeled is None:
        labeled = np.zeros(N_ITEMS, dtype=bool)
        labeled[list(LABELED)] = True
    n = labeled.shape[0]
    samples = rng.dirichlet(np.ones(4), size=(5, n)).astype(dtype)
    return Pool(
        labeled=labeled,
        probs=samples.mean(axis=0),
        samples=samples,
        embeddings=rng.normal(size=(n, 3)).astype(dtype),
    )


def select(name: str, pool: Pool, batch_size: int) -> NDArray[np.int64]:
    return make_strategy(name, random_state=0).select(pool, batch_size)


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_returns_1d_int64(name: str) -> None:
    picked = select(name, full_pool(), 3)
    assert picked.dtype == np.int64
    assert picked.ndim == 1


@pytest.mark.parametrize("batch_size", [1, 3, N_UNLABELED, N_UNLABELED + 1, 100])
@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_length_is_batch_size_capped_by_unlabeled(name: str, batch_size: int) -> None:
    assert len(select(name, full_pool(), batch_size)) == min(batch_size, N_UNLABELED)


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_indices_are_distinct_unlabeled_and_in_range(name: str) -> None:
    pool = full_pool()
    for batch_size in (1, 4, N_UNLABELED, 50):
        picked = select(name, pool, batch_size)
        assert len(set(picked.tolist())) == len(picked)
        assert picked.min() >= 0
        assert picked.max() < N_ITEMS
        assert not pool.labeled[picked].any()


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_large_batch_returns_every_unlabeled_item(name: str) -> None:
    pool = full_pool()
    picked = select(name, pool, 50)
    assert sorted(picked.tolist()) == np.flatnonzero(~pool.labeled).tolist()


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_deterministic_under_fixed_random_state(name: str) -> None:
    pool = full_pool()
    strategy = make_strategy(name, random_state=3)
    first = strategy.select(pool, 4)
    np.testing.assert_array_equal(strategy.select(pool, 4), first)
    np.testing.assert_array_equal(make_strategy(name, random_state=3).select(pool, 4), first)


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_all_labeled_pool_gives_empty_int64(name: str) -> None:
    picked = select(name, full_pool(np.ones(N_ITEMS, dtype=bool)), 5)
    assert picked.shape == (0,)
    assert picked.dtype == np.int64


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_empty_pool_gives_empty_int64(name: str) -> None:
    picked = select(name, full_pool(np.zeros(0, dtype=bool)), 5)
    assert picked.shape == (0,)
    assert picked.dtype == np.int64


@pytest.mark.parametrize("batch_size", [0, -1])
@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_batch_size_below_one_is_refused(name: str, batch_size: int) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        select(name, full_pool(), batch_size)


@pytest.mark.parametrize(("name", "field"), REQUIRED_FIELDS)
def test_missing_required_field_is_named(name: str, field: str) -> None:
    pool = full_pool()
    fields: dict[str, Any] = {f: getattr(pool, f) for f in ("probs", "samples", "embeddings")}
    fields[field] = None
    if field == "probs":
        fields["samples"] = None  # samples are checked against probs; drop both
    with pytest.raises(MissingPoolFieldError, match=f"pool.{field}"):
        select(name, Pool(labeled=pool.labeled, **fields), 2)


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_runs_with_only_the_required_fields(name: str) -> None:
    # The loop computes only what `requires` names, so nothing else may be read.
    pool = full_pool()
    strategy = make_strategy(name, random_state=0)
    fields = {field: getattr(pool, field) for field in strategy.requires}
    picked = strategy.select(Pool(labeled=pool.labeled, **fields), 3)
    np.testing.assert_array_equal(picked, strategy.select(pool, 3))


@pytest.mark.parametrize(("name", "field"), REQUIRED_FIELDS)
def test_required_field_with_wrong_length_is_refused(name: str, field: str) -> None:
    pool = full_pool()
    longer = full_pool(np.zeros(N_ITEMS + 1, dtype=bool))
    with pytest.raises(ValueError, match=f"Pool.{field}"):
        Pool(labeled=pool.labeled, **{field: getattr(longer, field)})


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_constructor_stores_parameters_unchanged(name: str) -> None:
    strategy = make_strategy(name, random_state=7)
    params = strategy.get_params()
    cls = type(strategy)
    assert cls(**params).get_params() == params
    if "random_state" in params:
        assert params["random_state"] == 7
    # scikit-learn's rule: __init__ neither validates nor converts what it is given.
    markers = {key: object() for key in params}
    rebuilt = cls(**markers).get_params()
    assert all(rebuilt[key] is marker for key, marker in markers.items())
    assert repr(strategy).startswith(f"{cls.__name__}(")


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_parameters_are_declared_once_as_dataclass_fields(name: str) -> None:
    strategy = make_strategy(name)
    taken = {field.name for field in fields(strategy) if field.init}
    assert taken == set(strategy.get_params())


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_class_declares_name_and_known_requirements(name: str) -> None:
    strategy = make_strategy(name)
    assert isinstance(strategy, QueryStrategy)
    assert strategy.name == name
    assert strategy.requires <= POOL_FIELDS


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_float32_and_float64_pools_pick_the_same_items(name: str) -> None:
    # The seeded probabilities have no near-ties, so precision cannot change the order.
    picked32 = select(name, full_pool(dtype=np.float32), 5)
    picked64 = select(name, full_pool(dtype=np.float64), 5)
    assert picked32.dtype == picked64.dtype == np.int64
    np.testing.assert_array_equal(picked32, picked64)
