"""Hand-computed cases for query by committee."""

import math

import numpy as np

from labelloop.strategies import BALD, ConsensusKL, VoteEntropy

# Three members, two items, three classes: shape (3, 2, 3).
MEMBERS = np.array(
    [
        [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]],
        [[0.2, 0.6, 0.2], [0.2, 0.2, 0.6]],
        [[0.5, 0.3, 0.2], [0.3, 0.1, 0.6]],
    ]
)


def test_vote_entropy_of_hard_votes() -> None:
    # Item 0 votes 0, 1, 0 -> shares 2/3, 1/3; item 1 votes 2, 2, 2 -> 0.
    expected = [-(2 / 3) * math.log(2 / 3) - (1 / 3) * math.log(1 / 3), 0.0]
    np.testing.assert_allclose(VoteEntropy().score(MEMBERS), expected, atol=1e-12)


def test_consensus_kl_is_the_mean_kl_from_the_consensus() -> None:
    expected = []
    for i in range(2):
        consensus = MEMBERS[:, i].mean(axis=0)
        kls = [
            sum(p * math.log(p / q) for p, q in zip(m, consensus, strict=True))
            for m in MEMBERS[:, i]
        ]
        expected.append(sum(kls) / len(kls))
    np.testing.assert_allclose(ConsensusKL().score(MEMBERS), expected, rtol=1e-12)


def test_consensus_kl_equals_bald_on_random_committees() -> None:
    members = np.random.default_rng(0).dirichlet(np.ones(5), size=(4, 300))
    np.testing.assert_allclose(ConsensusKL().score(members), BALD().score(members), atol=1e-12)
