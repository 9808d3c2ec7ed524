"""Choosing synthesized queries: flips first, most unsure next, few per source."""

import math

import numpy as np
import pytest

from labelloop.synthesis import (
    QUERY_MODES,
    SynthesisInputError,
    prediction_flips,
    select_queries,
    uncertainty_scores,
)

# Two sources: source 0 predicted class 0, source 1 predicted class 1.
SOURCES = np.array([[0.9, 0.1], [0.2, 0.8]])
# Variants, with (source row, flip?, margin score):
VARIANTS = np.array(
    [
        [0.55, 0.45],  # 0: row 0, same class, -0.10 (most unsure)
        [0.05, 0.95],  # 1: row 0, flip, -0.90 (very sure)
        [0.40, 0.60],  # 2: row 1, same class, -0.20
        [0.70, 0.30],  # 3: row 1, flip, -0.40
        [0.52, 0.48],  # 4: row 1, flip, -0.04 (most unsure of all)
        [0.85, 0.15],  # 5: row 0, same class, -0.70
    ]
)
ROWS = np.array([0, 0, 1, 1, 1, 0])


def test_flips_are_detected_against_the_source_prediction() -> None:
    flips = prediction_flips(VARIANTS, SOURCES, ROWS)
    np.testing.assert_array_equal(flips, [False, True, False, True, True, False])


def test_both_puts_flips_first_then_the_most_unsure() -> None:
    chosen = select_queries(VARIANTS, SOURCES, ROWS, k=6, mode="both", max_per_source=6)
    np.testing.assert_array_equal(chosen, [4, 3, 1, 0, 2, 5])


def test_uncertain_ignores_flips() -> None:
    chosen = select_queries(VARIANTS, SOURCES, ROWS, k=6, mode="uncertain", max_per_source=6)
    np.testing.assert_array_equal(chosen, [4, 0, 2, 3, 5, 1])


def test_flip_returns_only_flips_and_fewer_than_k_when_short() -> None:
    chosen = select_queries(VARIANTS, SOURCES, ROWS, k=5, mode="flip", max_per_source=6)
    np.testing.assert_array_equal(chosen, [4, 3, 1])


def test_max_per_source_keeps_the_best_of_each_source() -> None:
    one = select_queries(VARIANTS, SOURCES, ROWS, k=5, mode="both")
    np.testing.assert_array_equal(one, [4, 1])
    two = select_queries(VARIANTS, SOURCES, ROWS, k=5, mode="both", max_per_source=2)
    np.testing.assert_array_equal(two, [4, 3, 1, 0])


def test_k_cuts_the_ranking() -> None:
    chosen = select_queries(VARIANTS, SOURCES, ROWS, k=2, mode="uncertain", max_per_source=3)
    np.testing.assert_array_equal(chosen, [4, 0])


def test_ties_go_to_the_lower_index() -> None:
    same = np.tile([[0.6, 0.4]], (4, 1))
    chosen = select_queries(same, SOURCES, np.arange(4) % 2, k=4, mode="uncertain")
    np.testing.assert_array_equal(chosen, [0, 1])


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("margin", [-0.5, -0.05, 0.0]),
        ("least_confidence", [0.3, 0.6, 2 / 3]),
        (
            "entropy",
            [
                -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1)),
                -(0.4 * math.log(0.4) + 0.35 * math.log(0.35) + 0.25 * math.log(0.25)),
                math.log(3),
            ],
        ),
    ],
)
def test_uncertainty_scores_match_hand_computed_values(
    strategy: str, expected: list[float]
) -> None:
    probs = np.array([[0.7, 0.2, 0.1], [0.4, 0.35, 0.25], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(uncertainty_scores(probs, strategy), expected, atol=1e-12)  # type: ignore[arg-type]


def test_entropy_of_a_one_hot_row_is_zero() -> None:
    assert uncertainty_scores(np.array([[0.0, 1.0, 0.0]]), "entropy")[0] == 0.0


def test_strategy_changes_the_order() -> None:
    probs = np.array([[0.5, 0.5, 0.0], [0.4, 0.3, 0.3]])
    sources = np.array([[0.5, 0.5, 0.0], [0.4, 0.3, 0.3]])
    by_margin = select_queries(probs, sources, [0, 1], k=2, mode="uncertain", strategy="margin")
    by_entropy = select_queries(probs, sources, [0, 1], k=2, mode="uncertain", strategy="entropy")
    np.testing.assert_array_equal(by_margin, [0, 1])
    np.testing.assert_array_equal(by_entropy, [1, 0])


def test_modes_are_listed() -> None:
    assert QUERY_MODES == ("both", "flip", "uncertain")


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(SynthesisInputError, match="k must be"):
        select_queries(VARIANTS, SOURCES, ROWS, k=0)
    with pytest.raises(SynthesisInputError, match="max_per_source"):
        select_queries(VARIANTS, SOURCES, ROWS, k=1, max_per_source=0)
    with pytest.raises(SynthesisInputError, match="unknown mode"):
        select_queries(VARIANTS, SOURCES, ROWS, k=1, mode="surprise")  # type: ignore[arg-type]
    with pytest.raises(SynthesisInputError, match="unknown uncertainty"):
        select_queries(VARIANTS, SOURCES, ROWS, k=1, strategy="bald")  # type: ignore[arg-type]
    with pytest.raises(SynthesisInputError, match="same model"):
        select_queries(VARIANTS, np.ones((2, 3)) / 3, ROWS, k=1)
    with pytest.raises(SynthesisInputError, match="index the 2 source rows"):
        select_queries(VARIANTS, SOURCES, ROWS + 1, k=1)
    with pytest.raises(SynthesisInputError, match=r"must be \(6,\) ints"):
        select_queries(VARIANTS, SOURCES, ROWS[:5], k=1)
