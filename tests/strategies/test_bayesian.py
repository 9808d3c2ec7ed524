"""Hand-computed cases for the Bayesian strategies, and checks against naive formulas."""

import math

import numpy as np
import pytest
from numpy.typing import NDArray

from labelloop.strategies import (
    BALD,
    MeanStd,
    Pool,
    PoolShapeError,
    SampleScoreStrategy,
    VariationRatios,
)


def entropy(p: list[float]) -> float:
    return -sum(x * math.log(x) for x in p if x > 0)


# Two samples of three items over two classes, shape (2, 3, 2).
SAMPLES = np.array(
    [
        [[1.0, 0.0], [0.5, 0.5], [0.8, 0.2]],
        [[0.0, 1.0], [0.5, 0.5], [0.4, 0.6]],
    ]
)


def test_bald_matches_hand_computed_mutual_information() -> None:
    # Item 0: two confident samples that disagree: H([.5, .5]) - 0 = log 2.
    # Item 1: two identical samples: no disagreement, 0.
    # Item 2: mean [.6, .4]; H(mean) - (H([.8, .2]) + H([.4, .6])) / 2.
    expected = [
        math.log(2),
        0.0,
        entropy([0.6, 0.4]) - (entropy([0.8, 0.2]) + entropy([0.4, 0.6])) / 2,
    ]
    assert expected[2] == pytest.approx(0.0863046217, abs=1e-9)
    scores = BALD().score(SAMPLES)
    assert scores.dtype == np.float64
    np.testing.assert_allclose(scores, expected, rtol=1e-12, atol=1e-12)


def test_bald_selects_the_most_disagreeing_unlabeled_items() -> None:
    pool = Pool(labeled=np.zeros(3, dtype=bool), samples=SAMPLES)
    assert BALD().select(pool, 3).tolist() == [0, 2, 1]
    pool = Pool(labeled=np.array([True, False, False]), samples=SAMPLES)
    assert BALD().select(pool, 1).tolist() == [2]


def test_variation_ratios_counts_modal_votes() -> None:
    # Votes per item over four samples: (0, 1, 0, 0), (1, 1, 1, 1), (0, 1, 1, 0)
    # and a tie in sample 3 of item 2 goes to class 0.
    samples = np.array(
        [
            [[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]],
            [[0.3, 0.7], [0.1, 0.9], [0.4, 0.6]],
            [[0.6, 0.4], [0.4, 0.6], [0.2, 0.8]],
            [[0.8, 0.2], [0.3, 0.7], [0.5, 0.5]],
        ]
    )
    np.testing.assert_allclose(VariationRatios().score(samples), [1 - 3 / 4, 0.0, 1 - 2 / 4])


def test_mean_std_is_population_std_averaged_over_classes() -> None:
    # Item 0, class 0: values 1, 0 -> std 0.5; class 1 likewise: mean 0.5.
    # Item 2, class 0: .8, .4 -> std .2; class 1: .2, .6 -> std .2: mean .2.
    np.testing.assert_allclose(MeanStd().score(SAMPLES), [0.5, 0.0, 0.2], atol=1e-12)


def naive_scores(name: str, samples: NDArray[np.float64]) -> NDArray[np.float64]:
    """The textbook formulas, item by item."""
    n_samples, n, _ = samples.shape
    out = np.empty(n)
    for i in range(n):
        per_sample = samples[:, i, :]
        if name == "bald":
            mean = per_sample.mean(axis=0)
            out[i] = entropy(list(mean)) - np.mean([entropy(list(p)) for p in per_sample])
        elif name == "variation_ratios":
            votes = np.bincount(per_sample.argmax(axis=1), minlength=samples.shape[2])
            out[i] = 1 - votes.max() / n_samples
        else:
            out[i] = per_sample.std(axis=0).mean()
    return out


@pytest.mark.parametrize("cls", [BALD, MeanStd, VariationRatios])
def test_scores_match_naive_formulas_across_blocks(cls: type[SampleScoreStrategy]) -> None:
    # 5,000 items of 3 x 7 float64 values span two blocks of the blocked loop.
    rng = np.random.default_rng(0)
    samples = rng.dirichlet(np.ones(7), size=(3, 5000))
    expected = naive_scores(cls.name, samples)
    np.testing.assert_allclose(cls().score(samples), expected, rtol=1e-9, atol=1e-12)
    float32 = cls().score(samples.astype(np.float32))
    np.testing.assert_allclose(float32, expected, atol=1e-5)


def test_bald_is_never_negative_when_samples_agree() -> None:
    rng = np.random.default_rng(1)
    one = rng.dirichlet(np.ones(10), size=1000).astype(np.float32)
    scores = BALD().score(np.stack([one] * 8))
    assert (scores >= 0).all()
    assert scores.max() < 1e-6


@pytest.mark.parametrize(
    "bad",
    [np.zeros((4, 3)), np.zeros((2, 4, 1)), np.zeros((0, 4, 3)), np.zeros((2, 4, 3), dtype=int)],
)
def test_score_refuses_arrays_that_are_not_samples(bad: NDArray[np.float64]) -> None:
    with pytest.raises(PoolShapeError, match="n_samples, n, n_classes"):
        BALD().score(bad)
