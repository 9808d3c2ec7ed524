"""Batch awareness: near-duplicates never share a batch while distinct items remain."""

import numpy as np
import pytest

from labelloop.strategies import (
    DiverseMarginSampling,
    InvalidParameterError,
    MarginSampling,
    Pool,
    diverse_top_k,
)
from labelloop.strategies._topk import top_k


def test_two_identical_embeddings_with_the_top_scores_are_not_both_chosen() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    embeddings = np.array([[1.0, 2.0], [1.0, 2.0], [-2.0, 1.0], [0.0, -1.0]])
    assert diverse_top_k(scores, embeddings, 2).tolist() == [0, 2]


def test_margin_diverse_skips_the_duplicate_that_plain_margin_takes() -> None:
    probs = np.array([[0.5, 0.5], [0.5, 0.5], [0.6, 0.4], [0.9, 0.1]])
    embeddings = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    pool = Pool(labeled=np.zeros(4, dtype=bool), probs=probs, embeddings=embeddings)
    assert MarginSampling().select(pool, 2).tolist() == [0, 1]
    assert DiverseMarginSampling().select(pool, 2).tolist() == [0, 2]


def test_threshold_is_cosine_similarity_not_distance() -> None:
    # [1, 0] and [10, 0.5] are far apart but nearly parallel: cos 0.9988.
    scores = np.array([2.0, 1.0, 0.0])
    embeddings = np.array([[1.0, 0.0], [10.0, 0.5], [0.0, 1.0]])
    assert diverse_top_k(scores, embeddings, 2).tolist() == [0, 2]
    assert diverse_top_k(scores, embeddings, 2, max_similarity=0.999).tolist() == [0, 1]


def test_fills_with_skipped_items_when_all_are_redundant() -> None:
    scores = np.array([0.1, 0.5, 0.3, 0.4])
    embeddings = np.ones((4, 3))
    assert diverse_top_k(scores, embeddings, 3).tolist() == [1, 3, 2]


def test_similarity_one_is_plain_top_k_and_exclusions_hold() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random(2000)
    embeddings = rng.normal(size=(2000, 4))
    exclude = rng.random(2000) < 0.3
    expected = top_k(scores.copy(), 50, exclude=exclude)
    picked = diverse_top_k(scores, embeddings, 50, max_similarity=1.0, exclude=exclude)
    np.testing.assert_array_equal(picked, expected)


def test_duplicates_past_the_first_candidate_blocks_are_skipped() -> None:
    # 1,000 copies of one vector outrank 20 distinct ones: the copies fill the first
    # four candidate blocks and the candidate list must grow past them.
    scores = np.concatenate([np.linspace(2, 1, 1000), np.linspace(0.9, 0.1, 20)])
    embeddings = np.vstack(
        [np.tile([1.0, 0.0, 0.0], (1000, 1)), np.random.default_rng(1).normal(size=(20, 3))]
    )
    picked = diverse_top_k(scores, embeddings, 5, max_similarity=0.99)
    assert picked[0] == 0
    assert all(i >= 1000 for i in picked[1:])
    units = embeddings[picked] / np.linalg.norm(embeddings[picked], axis=1, keepdims=True)
    similarity = units @ units.T
    assert (similarity[~np.eye(5, dtype=bool)] <= 0.99).all()


def test_scores_are_left_unchanged() -> None:
    scores = np.array([0.3, 0.2, 0.1])
    diverse_top_k(scores, np.eye(3), 2, exclude=np.array([True, False, False]))
    np.testing.assert_array_equal(scores, [0.3, 0.2, 0.1])


@pytest.mark.parametrize("bad", [1.5, -2.0, float("nan")])
def test_similarity_outside_minus_one_to_one_is_refused(bad: float) -> None:
    with pytest.raises(InvalidParameterError, match="max_similarity"):
        diverse_top_k(np.zeros(3), np.eye(3), 1, max_similarity=bad)


def test_k_beyond_the_available_items_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="k must be between 1 and the 2"):
        diverse_top_k(np.zeros(3), np.eye(3), 3, exclude=np.array([True, False, False]))
