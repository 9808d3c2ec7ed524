"""Query by committee: rank items by how much the members of a committee disagree.

The committee is ``pool.samples``, shape ``(n_members, n, n_classes)``: an ensemble's
members, or MC-dropout passes read as members.
"""

from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelloop.strategies._kernels import neg_entropy_sum, vote_counts
from labelloop.strategies.bayesian import SampleScoreStrategy, mutual_information

__all__ = ["ConsensusKL", "VoteEntropy"]

_FloatArray = NDArray[np.floating[Any]]


class VoteEntropy(SampleScoreStrategy):
    """Vote entropy (Dagan and Engelson 1995): the entropy of the members' hard votes.

    Each member votes its most probable class (the lower class index on a tie);
    the score is ``-sum_c (V_c / M) log(V_c / M)`` in nats, with ``V_c`` the votes
    for class ``c`` and ``M`` the number of members.

    Example:
        >>> members = np.array([[[0.9, 0.1]], [[0.2, 0.8]]])  # votes 0 and 1
        >>> VoteEntropy().score(members).round(4)
        array([0.6931])
    """

    name = "vote_entropy"

    def _score_block(self, block: _FloatArray, out: NDArray[np.float64]) -> None:
        shares = vote_counts(block) / block.shape[0]
        out[...] = -neg_entropy_sum(shares)


class ConsensusKL(SampleScoreStrategy):
    """Mean KL divergence of each member from the consensus (McCallum and Nigam 1998).

    Scores ``mean_m KL(p_m || p_bar)`` with ``p_bar = mean_m p_m``, in nats. This is
    algebraically the same number as :class:`~labelloop.strategies.bayesian.BALD`'s
    mutual information (``mean_m sum_c p_mc log p_mc - sum_c p_bar_c log p_bar_c``),
    so both share one computation and rank items alike; the committee name is
    kept because it is how ensemble users look for it.

    Example:
        >>> members = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
        >>> ConsensusKL().score(members).round(4)  # each member is log 2 from [0.5, 0.5]
        array([0.6931])
    """

    name = "consensus_kl"

    def _score_block(self, block: _FloatArray, out: NDArray[np.float64]) -> None:
        out[...] = mutual_information(block)
