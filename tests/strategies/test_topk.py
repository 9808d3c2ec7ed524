"""Exact top-k: the result must equal a stable sort of -scores, on every path."""

import numpy as np
import pytest
from numpy.typing import NDArray

from labelloop.strategies._topk import (
    _MIN_PREFILTER_SIZE,
    _SAMPLE_STRIDE,
    _prefiltered_top_k,
    top_k,
)


def reference(
    scores: NDArray[np.float64], k: int, exclude: NDArray[np.bool_] | None
) -> NDArray[np.int64]:
    order = np.argsort(-scores, kind="stable")
    if exclude is not None:
        order = order[~exclude[order]]
    return order[:k]


@pytest.mark.parametrize("n", [1, 2, 9, 1000, _MIN_PREFILTER_SIZE, 100_000])
@pytest.mark.parametrize("with_exclude", [False, True])
@pytest.mark.parametrize("n_levels", [3, 1_000_000])
def test_matches_stable_sort(n: int, with_exclude: bool, n_levels: int) -> None:
    # Few levels make huge tie groups; many levels make ties rare.
    rng = np.random.default_rng(n + n_levels)
    scores = rng.integers(0, n_levels, size=n).astype(np.float64)
    exclude = rng.random(n) < 0.25 if with_exclude else None
    eligible = n if exclude is None else int(np.count_nonzero(~exclude))
    for k in sorted({1, 2, 7, 1000, eligible // 3, eligible}):
        if not 1 <= k <= eligible:
            continue
        picked = top_k(scores.copy(), k, exclude)
        assert picked.dtype == np.int64
        np.testing.assert_array_equal(picked, reference(scores, k, exclude))


def test_ties_at_the_cut_go_to_lower_indices() -> None:
    scores = np.array([0.0, 5.0, 3.0, 5.0, 3.0, 3.0, 1.0, 3.0])
    assert top_k(scores.copy(), 4).tolist() == [1, 3, 2, 4]
    exclude = np.zeros(8, dtype=bool)
    exclude[[1, 4]] = True
    assert top_k(scores.copy(), 4, exclude).tolist() == [3, 2, 5, 7]


def test_excluded_items_lose_even_with_the_highest_scores() -> None:
    scores = np.array([9.0, 1.0, 8.0, 2.0])
    exclude = np.array([True, False, True, False])
    assert top_k(scores.copy(), 2, exclude).tolist() == [3, 1]


def test_falls_back_to_exact_path_when_the_sample_misleads() -> None:
    # The strided sample sees only the largest scores, so too few items clear
    # the threshold it suggests; the exact path must take over.
    n, k = 4 * _MIN_PREFILTER_SIZE, 4000
    scores = np.zeros(n)
    scores[::_SAMPLE_STRIDE] = 1.0 + np.arange(len(scores[::_SAMPLE_STRIDE]))
    scores[1::_SAMPLE_STRIDE] = 0.5
    assert _prefiltered_top_k(scores.copy(), k, None) is None
    np.testing.assert_array_equal(top_k(scores.copy(), k), reference(scores, k, None))


def test_prefilter_result_equals_exact_result() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random(_MIN_PREFILTER_SIZE * 2)
    exclude = rng.random(scores.size) < 0.5
    picked = _prefiltered_top_k(scores.copy(), 500, exclude)
    assert picked is not None
    np.testing.assert_array_equal(picked, reference(scores, 500, exclude))
