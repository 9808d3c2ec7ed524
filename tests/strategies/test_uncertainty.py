"""Hand-computed cases for the uncertainty strategies, and checks against naive formulas."""

import math
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from labelloop.strategies import (
    EntropySampling,
    LeastConfidence,
    MarginSampling,
    Pool,
    PoolShapeError,
    UncertaintyStrategy,
)
from labelloop.strategies.uncertainty import _COLUMN_LOOP_MAX_CLASSES

# Five rows whose three rankings all differ, so swapping formulas is caught.
PROBS = np.array(
    [
        [0.7, 0.2, 0.1],  # lc 0.3, margin -0.5, entropy 0.8018
        [0.4, 0.35, 0.25],  # lc 0.6, margin -0.05, entropy 1.0805
        [0.5, 0.49, 0.01],  # lc 0.5, margin -0.01, entropy 0.7422
        [0.0, 1.0, 0.0],  # lc 0.0, margin -1.0, entropy 0 (one-hot)
        [1 / 3, 1 / 3, 1 / 3],  # lc 2/3, margin 0.0, entropy ln 3
    ]
)
UNCERTAINTY = [EntropySampling, LeastConfidence, MarginSampling]


def pool_of(probs: NDArray[np.floating], labeled: tuple[int, ...] = ()) -> Pool:
    mask = np.zeros(len(probs), dtype=bool)
    mask[list(labeled)] = True
    return Pool(labeled=mask, probs=probs)


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (LeastConfidence(), [0.3, 0.6, 0.5, 0.0, 2 / 3]),
        (MarginSampling(), [-0.5, -0.05, -0.01, -1.0, 0.0]),
        (
            EntropySampling(),
            [
                -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1)),
                -(0.4 * math.log(0.4) + 0.35 * math.log(0.35) + 0.25 * math.log(0.25)),
                -(0.5 * math.log(0.5) + 0.49 * math.log(0.49) + 0.01 * math.log(0.01)),
                0.0,
                math.log(3),
            ],
        ),
    ],
)
def test_scores_match_hand_computed_values(
    strategy: UncertaintyStrategy, expected: list[float]
) -> None:
    scores = strategy.score(PROBS)
    assert scores.dtype == np.float64
    np.testing.assert_allclose(scores, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (LeastConfidence(), [4, 1, 2, 0, 3]),
        (MarginSampling(), [4, 2, 1, 0, 3]),
        (EntropySampling(), [4, 1, 0, 2, 3]),
    ],
)
def test_select_orders_by_hand_computed_ranking(
    strategy: UncertaintyStrategy, expected: list[int]
) -> None:
    assert strategy.select(pool_of(PROBS), 5).tolist() == expected
    assert strategy.select(pool_of(PROBS), 2).tolist() == expected[:2]


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (LeastConfidence(), [2, 0, 3]),
        (MarginSampling(), [2, 0, 3]),
        (EntropySampling(), [0, 2, 3]),
    ],
)
def test_labeled_items_are_never_chosen_even_when_most_uncertain(
    strategy: UncertaintyStrategy, expected: list[int]
) -> None:
    # Rows 4 and 1 top every ranking; once labeled, the rest follow in order.
    assert strategy.select(pool_of(PROBS, labeled=(1, 4)), 5).tolist() == expected


@pytest.mark.parametrize("cls", UNCERTAINTY)
def test_equal_scores_go_to_lower_index_first(cls: type[UncertaintyStrategy]) -> None:
    sure, unsure = [0.9, 0.05, 0.05], [0.4, 0.3, 0.3]
    probs = np.array([sure, unsure, sure, unsure, unsure, sure, unsure])
    strategy = cls()
    # Four tied rows (1, 3, 4, 6) straddle the cut at k = 2 and k = 3.
    assert strategy.select(pool_of(probs), 2).tolist() == [1, 3]
    assert strategy.select(pool_of(probs), 3).tolist() == [1, 3, 4]
    assert strategy.select(pool_of(probs, labeled=(3,)), 3).tolist() == [1, 4, 6]
    assert strategy.select(pool_of(probs), 6).tolist() == [1, 3, 4, 6, 0, 2]


def test_one_hot_rows_have_zero_entropy_not_nan() -> None:
    probs = np.eye(4)[[2, 0, 3, 1, 1]]
    for dtype in (np.float32, np.float64):
        scores = EntropySampling().score(probs.astype(dtype))
        assert scores.tolist() == [0.0] * 5
        assert not np.signbit(scores).any()
    # All tied at zero: the unlabeled rows come back in index order.
    assert EntropySampling().select(pool_of(probs, labeled=(1,)), 4).tolist() == [0, 2, 3, 4]


def test_zero_probability_adds_nothing_to_entropy() -> None:
    scores = EntropySampling().score(np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 1e-300]]))
    np.testing.assert_allclose(scores, [math.log(2), math.log(2)], rtol=1e-12)


@pytest.mark.parametrize("cls", UNCERTAINTY)
def test_float16_probs_are_scored_in_float64(cls: type[UncertaintyStrategy]) -> None:
    probs16 = PROBS.astype(np.float16)
    scores = cls().score(probs16)
    assert scores.dtype == np.float64
    np.testing.assert_array_equal(scores, cls().score(probs16.astype(np.float64)))


@pytest.mark.parametrize("cls", UNCERTAINTY)
@pytest.mark.parametrize(
    "probs",
    [PROBS[:, 0], PROBS[:, :1], PROBS.astype(np.int64), PROBS[None]],
    ids=["1-D", "one class", "integer", "3-D"],
)
def test_score_refuses_arrays_that_are_not_probabilities(
    cls: type[UncertaintyStrategy], probs: NDArray[np.generic]
) -> None:
    with pytest.raises(PoolShapeError, match=r"\(n, n_classes\)"):
        cls().score(probs)  # type: ignore[arg-type]


def naive_scores(name: str, probs: NDArray[np.float64]) -> NDArray[np.float64]:
    """Textbook formulas, with a full sort, for comparison."""
    ordered = np.sort(probs, axis=1)
    if name == "least_confidence":
        return 1.0 - ordered[:, -1]
    if name == "margin":
        return ordered[:, -2] - ordered[:, -1]
    logs = np.log(probs, out=np.zeros_like(probs), where=probs > 0)
    entropy: NDArray[np.float64] = -(probs * logs).sum(axis=1)
    return entropy


@pytest.mark.parametrize("cls", UNCERTAINTY)
@pytest.mark.parametrize("n_classes", [2, 3, _COLUMN_LOOP_MAX_CLASSES + 8])
def test_large_pool_matches_naive_formulas_and_stable_sort(
    cls: type[UncertaintyStrategy], n_classes: int
) -> None:
    # Large enough to take the sampled prefilter; rows drawn from a few distinct
    # ones, so scores tie in big groups and the tie-break is exercised at scale.
    rng = np.random.default_rng(n_classes)
    distinct = rng.dirichlet(np.ones(n_classes), size=50)
    distinct[0] = np.eye(n_classes)[0]
    distinct[1] = 1 / n_classes  # every class ties for the top
    probs = distinct[rng.integers(0, 50, size=40_000)]
    labeled = rng.random(40_000) < 0.3
    strategy = cls()
    expected_scores = naive_scores(strategy.name, probs)
    np.testing.assert_allclose(strategy.score(probs), expected_scores, rtol=1e-9, atol=1e-12)
    masked = np.where(labeled, -np.inf, strategy.score(probs))
    expected = np.argsort(-masked, kind="stable")[:300]
    picked = strategy.select(Pool(labeled=labeled, probs=probs), 300)
    np.testing.assert_array_equal(picked, expected)


@pytest.mark.parametrize("n_classes", [3, _COLUMN_LOOP_MAX_CLASSES + 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", [EntropySampling, LeastConfidence, MarginSampling])
def test_select_scored_gives_the_scores_of_the_picked_rows(
    cls: type[UncertaintyStrategy], dtype: type[np.floating[Any]], n_classes: int
) -> None:
    # The loop stores these scores; they must equal scoring the picked rows on
    # their own (what it did before strategies handed their scores back), bit
    # for bit, across score blocks and top_k's prefiltered path.
    rng = np.random.default_rng(5)
    probs = rng.dirichlet(np.ones(n_classes), size=40_000).astype(dtype)
    labeled = rng.random(40_000) < 0.3
    strategy = cls()
    picked, scores = strategy.select_scored(Pool(labeled=labeled, probs=probs), 300)
    assert scores is not None and scores.dtype == np.float64
    np.testing.assert_array_equal(scores, strategy.score(probs[picked]))
    np.testing.assert_array_equal(picked, strategy.select(Pool(labeled=labeled, probs=probs), 300))
