"""BADGE, Cluster-Margin and density weighting: hand cases and naive references."""

import numpy as np
import pytest
from numpy.typing import NDArray

from labelloop.strategies import (
    BADGE,
    ClusterMargin,
    DensityWeighted,
    EntropySampling,
    InvalidParameterError,
    Pool,
)
from labelloop.strategies.hybrid import mean_cosine_similarity, nonnegative_uncertainty


def naive_badge(
    probs: NDArray[np.float64],
    features: NDArray[np.float64],
    labeled: NDArray[np.bool_],
    k: int,
    seed: int,
) -> list[int]:
    """BADGE with the gradient embeddings built in full, n x (n_classes * d)."""
    onehot = np.eye(probs.shape[1])[probs.argmax(axis=1)]
    grads = np.stack([np.kron(p - e, h) for p, e, h in zip(probs, onehot, features, strict=True)])
    rng = np.random.default_rng(seed)
    norms = np.where(labeled, -1.0, (grads**2).sum(axis=1))
    picks = [int(np.argmax(norms))]
    nearest = ((grads - grads[picks[0]]) ** 2).sum(axis=1)
    while len(picks) < k:
        weights = np.where(labeled, 0.0, nearest)
        weights[picks] = 0.0
        cumulative = np.cumsum(weights)
        pick = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
        picks.append(pick)
        np.minimum(nearest, ((grads - grads[pick]) ** 2).sum(axis=1), out=nearest)
    return picks


@pytest.mark.parametrize("seed", range(4))
def test_badge_factorized_distances_match_materialized_gradients(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, n_classes, d = 60, 4, 5
    probs = rng.dirichlet(np.ones(n_classes) * 0.5, size=n)
    features = rng.normal(size=(n, d))
    labeled = rng.random(n) < 0.3
    pool = Pool(labeled=labeled, probs=probs, embeddings=features)
    picked = BADGE(random_state=seed).select(pool, 12)
    assert picked.tolist() == naive_badge(probs, features, labeled, 12, seed)


def test_badge_starts_at_the_largest_gradient() -> None:
    # Gradient norm |p - onehot| * |h|: item 1 is unsure, item 2 has a long feature vector.
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.8, 0.2], [0.99, 0.01]])
    features = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 3.0], [5.0, 0.0]])
    # |p - e|^2 |h|^2: 0.02 * 1, 0.32 * 1, 0.08 * 9 = 0.72, 0.0002 * 25 = 0.005.
    pool = Pool(labeled=np.zeros(4, dtype=bool), probs=probs, embeddings=features)
    assert BADGE(random_state=0).select(pool, 1).tolist() == [2]
    labeled = Pool(labeled=np.array([False, False, True, False]), probs=probs, embeddings=features)
    assert BADGE(random_state=0).select(labeled, 1).tolist() == [1]


def test_badge_returns_k_distinct_items_when_gradients_coincide() -> None:
    probs = np.tile([0.7, 0.3], (6, 1))
    features = np.ones((6, 3))
    pool = Pool(labeled=np.array([True] + [False] * 5), probs=probs, embeddings=features)
    assert sorted(BADGE(random_state=0).select(pool, 5).tolist()) == [1, 2, 3, 4, 5]


def two_groups(margins: list[float] | None = None) -> Pool:
    """Items 0-3 sit near (0, 0), items 4-5 near (10, 0); item 6 is certain and far."""
    embeddings = np.array(
        [[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [0.1, 0.1], [10.0, 0.0], [10.1, 0.0], [50.0, 50.0]]
    )
    gaps = margins or [0.0] * 6
    probs = np.array([[(1 + g) / 2, (1 - g) / 2] for g in gaps] + [[1.0, 0.0]])
    return Pool(labeled=np.zeros(7, dtype=bool), probs=probs, embeddings=embeddings)


def test_cluster_margin_round_robins_from_the_smallest_cluster() -> None:
    # k = 3 and factor 2 make the six low-margin items 0-5 the candidates; they form
    # clusters of 4 and 2: picks alternate, starting in the small cluster.
    strategy = ClusterMargin(n_clusters=2, candidate_factor=2.0, random_state=0)
    picked = strategy.select(two_groups(), 3).tolist()
    assert picked[0] in {4, 5}
    assert picked[1] in {0, 1, 2, 3}
    assert picked[2] in {4, 5} - {picked[0]}


def test_cluster_margin_assigns_candidates_beyond_the_clustered_ones() -> None:
    # Items 0 and 4 have the smallest margins, so they alone are clustered; 1-3 join
    # 0's cluster and 5 joins 4's, which makes 4's cluster the smaller one.
    pool = two_groups([0.0, 0.1, 0.1, 0.1, 0.0, 0.1])
    strategy = ClusterMargin(
        n_clusters=2, candidate_factor=2.0, max_cluster_items=2, random_state=0
    )
    picked = strategy.select(pool, 3).tolist()
    assert picked[0] in {4, 5}
    assert picked[1] in {0, 1, 2, 3}
    assert picked[2] in {4, 5} - {picked[0]}


def test_cluster_margin_refuses_a_candidate_factor_below_one() -> None:
    with pytest.raises(InvalidParameterError, match="candidate_factor"):
        ClusterMargin(candidate_factor=0.5).select(two_groups(), 2)


def test_mean_cosine_similarity_equals_the_pairwise_mean() -> None:
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(40, 6))
    embeddings[3] = 0.0
    reference = rng.random(40) < 0.6
    units = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-300)
    expected = ((1 + units @ units[reference].T) / 2).mean(axis=1)
    np.testing.assert_allclose(mean_cosine_similarity(embeddings, reference), expected, atol=1e-12)


def test_density_weighting_by_hand() -> None:
    # Items 0 and 1 are equally unsure; 0 points along the crowd, 1 against it. The
    # density of 1 is about (0 + 1 + 2 * 0.0025 + 0) / 5 = 0.2, so its entropy
    # log 2 * 0.2 = 0.14 drops below the sure items' 0.325 * about 0.8.
    probs = np.array([[0.5, 0.5], [0.5, 0.5], [0.9, 0.1], [0.9, 0.1], [0.9, 0.1]])
    embeddings = np.array([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.1], [1.0, -0.1], [1.0, 0.0]])
    pool = Pool(labeled=np.zeros(5, dtype=bool), probs=probs, embeddings=embeddings)
    assert DensityWeighted(beta=0.0).select(pool, 5).tolist() == [0, 1, 2, 3, 4]
    assert DensityWeighted().select(pool, 5).tolist() == [0, 4, 2, 3, 1]
    np.testing.assert_allclose(nonnegative_uncertainty("margin", probs), [1, 1, 0.2, 0.2, 0.2])
    # On margin, 1 scores 1 * 0.2 and still beats the sure items' 0.2 * about 0.8.
    assert DensityWeighted(uncertainty="margin").select(pool, 5).tolist() == [0, 1, 4, 2, 3]


def test_density_weighted_with_beta_zero_is_plain_uncertainty() -> None:
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(4), size=200)
    pool = Pool(
        labeled=np.zeros(200, dtype=bool), probs=probs, embeddings=rng.normal(size=(200, 8))
    )
    expected = EntropySampling().select(Pool(labeled=pool.labeled, probs=probs), 20)
    np.testing.assert_array_equal(DensityWeighted(beta=0.0).select(pool, 20), expected)


def test_unknown_uncertainty_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="uncertainty must be one of entropy"):
        DensityWeighted(uncertainty="bald").select(two_groups(), 1)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [-1, 1.5, True])
def test_badge_refuses_a_bad_seed(seed: object) -> None:
    pool = two_groups()
    with pytest.raises(InvalidParameterError, match="random_state"):
        BADGE(random_state=seed).select(pool, 2)  # type: ignore[arg-type]


def test_badge_is_reproducible_and_seed_dependent() -> None:
    rng = np.random.default_rng(7)
    probs = rng.dirichlet(np.ones(5), size=400)
    pool = Pool(
        labeled=np.zeros(400, dtype=bool), probs=probs, embeddings=rng.normal(size=(400, 6))
    )
    first = BADGE(random_state=1).select(pool, 30)
    np.testing.assert_array_equal(BADGE(random_state=1).select(pool, 30), first)
    assert BADGE(random_state=2).select(pool, 30).tolist() != first.tolist()
