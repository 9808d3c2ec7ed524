"""The contract every registered detection strategy must keep.

Parametrized over ``DETECTION_STRATEGY_NAMES``, so a strategy joins these checks
as soon as its line is added to ``labelloop/strategies/registry.py``. The pool
carries every optional field (box scores, stability, embeddings), so strategies
that need any of them run here too.
"""

from dataclasses import fields
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from labelloop.strategies import InvalidParameterError, MissingPoolFieldError
from labelloop.strategies.detection import (
    DETECTION_STRATEGIES,
    DETECTION_STRATEGY_NAMES,
    DetectionPool,
    DetectionStrategy,
    make_detection_strategy,
)

BOXES = (0, 3, 1, 2, 0, 4, 5, 1, 2, 3)  # boxes per image; two images have none
LABELED = (1, 4, 7)
N_IMAGES = len(BOXES)
N_UNLABELED = N_IMAGES - len(LABELED)
OPTIONAL_FIELDS = ("embeddings", "stability")
REQUIRED_FIELDS = [
    (name, field)
    for name in DETECTION_STRATEGY_NAMES
    for field in sorted(make_detection_strategy(name).requires)
]
# (name, parameter) for every declared constraint of every registered strategy.
CONSTRAINED = [
    (name, parameter)
    for name in DETECTION_STRATEGY_NAMES
    for parameter in sorted(make_detection_strategy(name).constraints)
]


def full_pool(labeled: NDArray[np.bool_] | None = None, **drop: Any) -> DetectionPool:
    """A seeded pool of N_IMAGES images with every optional field set (``drop`` unsets some)."""
    rng = np.random.default_rng(7)
    if labeled is None:
        labeled = np.zeros(N_IMAGES, dtype=bool)
        labeled[list(LABELED)] = True
    fields: dict[str, Any] = {
        "class_probs": [rng.dirichlet(np.ones(3), size=m) for m in BOXES],
        "scores": [rng.uniform(0.2, 1.0, size=m) for m in BOXES],
        "stability": [rng.random(m) for m in BOXES],
        "embeddings": rng.normal(size=(N_IMAGES, 4)),
        "labeled": labeled,
    }
    return DetectionPool(**{**fields, **drop})


def make(name: str, random_state: int | None = 0) -> DetectionStrategy:
    return make_detection_strategy(name, random_state=random_state)


@pytest.mark.parametrize("batch_size", [1, 3, N_UNLABELED, N_UNLABELED + 1, 100])
@pytest.mark.parametrize("name", DETECTION_STRATEGY_NAMES)
def test_picks_are_distinct_unlabeled_int64_capped_by_unlabeled(name: str, batch_size: int) -> None:
    pool = full_pool()
    picked = make(name).select(pool, batch_size)
    assert picked.dtype == np.int64 and picked.ndim == 1
    assert len(picked) == min(batch_size, N_UNLABELED)
    assert len(set(picked.tolist())) == len(picked)
    assert picked.min() >= 0 and picked.max() < N_IMAGES
    assert not np.isin(picked, LABELED).any()


@pytest.mark.parametrize("name", DETECTION_STRATEGY_NAMES)
def test_deterministic_for_a_seed(name: str) -> None:
    pool = full_pool()
    first = make(name, random_state=3).select_scored(pool, 4)
    again = make(name, random_state=3).select_scored(pool, 4)
    np.testing.assert_array_equal(again[0], first[0])
    np.testing.assert_array_equal(again[1], first[1])


@pytest.mark.parametrize("name", DETECTION_STRATEGY_NAMES)
def test_scores_align_with_picks(name: str) -> None:
    pool = full_pool()
    strategy = make(name)
    picked, scores = strategy.select_scored(pool, 5)
    np.testing.assert_array_equal(picked, strategy.select(pool, 5))
    if not strategy.scored:
        assert scores is None
        return
    assert scores is not None and scores.dtype == np.float64
    assert scores.shape == picked.shape
    np.testing.assert_array_equal(scores, strategy.score(pool)[picked])


@pytest.mark.parametrize("name", DETECTION_STRATEGY_NAMES)
def test_nothing_to_pick_gives_empty_picks(name: str) -> None:
    strategy = make(name)
    picked, scores = strategy.select_scored(full_pool(np.ones(N_IMAGES, dtype=bool)), 5)
    assert picked.shape == (0,) and picked.dtype == np.int64
    assert scores is None if not strategy.scored else scores is not None and scores.shape == (0,)


@pytest.mark.parametrize("batch_size", [0, -1, 2.0, True])
@pytest.mark.parametrize("name", DETECTION_STRATEGY_NAMES)
def test_batch_size_below_one_or_not_integer_is_refused(name: str, batch_size: Any) -> None:
    with pytest.raises(InvalidParameterError, match=r"^batch_size must be an integer >= 1; got"):
        make(name).select(full_pool(), batch_size)


@pytest.mark.parametrize(("name", "parameter"), CONSTRAINED)
def test_bad_parameter_is_stored_then_refused_at_select_with_the_template(
    name: str, parameter: str
) -> None:
    marker = object()  # no constraint accepts it
    strategy = make(name).set_params(**{parameter: marker})
    assert strategy.get_params()[parameter] is marker
    with pytest.raises(InvalidParameterError, match=rf"^{parameter} must be .*; got <object"):
        strategy.select(full_pool(), 2)
    with pytest.raises(InvalidParameterError, match=rf"^{parameter} must be "):
        strategy.score(full_pool())


@pytest.mark.parametrize(("name", "field"), REQUIRED_FIELDS)
def test_missing_required_field_is_named(name: str, field: str) -> None:
    with pytest.raises(MissingPoolFieldError, match=rf"needs pool\.{field}"):
        make(name).select(full_pool(**{field: None}), 2)


@pytest.mark.parametrize("name", DETECTION_STRATEGY_NAMES)
def test_runs_with_only_the_required_fields(name: str) -> None:
    # The loop computes stability and embeddings only where `requires` names them.
    strategy = make(name)
    unused = {field: None for field in OPTIONAL_FIELDS if field not in strategy.requires}
    np.testing.assert_array_equal(
        strategy.select(full_pool(**unused), 4), strategy.select(full_pool(), 4)
    )


@pytest.mark.parametrize("name", DETECTION_STRATEGY_NAMES)
def test_get_params_round_trip_and_unchecked_constructor(name: str) -> None:
    strategy = make(name, random_state=7)
    params = strategy.get_params()
    cls = type(strategy)
    assert cls(**params).get_params() == params
    assert repr(cls(**params)) == repr(strategy)
    if "random_state" in params:
        assert params["random_state"] == 7
    # scikit-learn's rule: __init__ neither validates nor converts what it is given.
    markers = {key: object() for key in params}
    rebuilt = cls(**markers).get_params()
    assert all(rebuilt[key] is marker for key, marker in markers.items())
    strategy.select(full_pool(), 3)
    assert strategy.get_params() == params  # selecting leaves the parameters alone


@pytest.mark.parametrize("name", DETECTION_STRATEGY_NAMES)
def test_parameters_are_declared_once_as_dataclass_fields(name: str) -> None:
    strategy = make(name)
    taken = {field.name for field in fields(strategy) if field.init}
    assert taken == set(strategy.get_params())


@pytest.mark.parametrize("name", DETECTION_STRATEGY_NAMES)
def test_registry_entry_names_the_class_and_what_it_needs(name: str) -> None:
    strategy = make(name)
    assert isinstance(strategy, DetectionStrategy)
    assert strategy.name == name
    assert DETECTION_STRATEGIES.entry(name).needs == strategy.requires
    assert DETECTION_STRATEGIES.help()[name]
