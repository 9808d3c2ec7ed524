"""Bayesian uncertainty: rank items by how much MC-dropout or ensemble samples disagree.

Every strategy here reads ``pool.samples``, shape ``(n_samples, n, n_classes)``: one
probability vector per stochastic forward pass (or ensemble member) and item. Scores
are computed block by block over items, so the temporaries of a block stay in the
CPU cache and no copy of the whole samples array is made; float32 samples are
scored in float32 and returned as float64.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelloop.strategies._kernels import neg_entropy_sum, plogp, vote_counts
from labelloop.strategies.base import BlockScoreStrategy
from labelloop.strategies.errors import PoolShapeError

__all__ = ["BALD", "MeanStd", "SampleScoreStrategy", "VariationRatios"]

_FloatArray = NDArray[np.floating[Any]]


@dataclass(eq=False, repr=False, kw_only=True)
class SampleScoreStrategy(BlockScoreStrategy):
    """Base class of strategies that score each item from its sampled probabilities.

    :meth:`score` reads ``(n_samples, n, n_classes)`` probabilities, ``n_samples >=
    1`` and ``n_classes >= 2``; the picks come without scores. Subclasses implement
    :meth:`_score_block` on ``(n_samples, b, n_classes)`` blocks.
    """

    requires = frozenset({"samples"})
    item_axis = 1

    def _check_shape(self, array: NDArray[Any]) -> None:
        if (
            array.ndim != 3
            or array.shape[0] < 1
            or array.shape[2] < 2
            or not np.issubdtype(array.dtype, np.floating)
        ):
            raise PoolShapeError(
                "samples must be a float array of shape (n_samples, n, n_classes) with "
                f"n_samples >= 1 and n_classes >= 2; got shape {array.shape} and dtype "
                f"{array.dtype}."
            )


def mutual_information(block: _FloatArray) -> _FloatArray:
    """Entropy of the mean minus the mean of the entropies, natural log, clipped at 0.

    Args:
        block: ``(n_samples, b, n_classes)`` probabilities.

    Returns:
        ``(b,)`` the mutual information between the prediction and the sample, in
        the dtype of ``block``.
    """
    n_samples, _, n_classes = block.shape
    ones = np.ones(n_classes, dtype=block.dtype)
    # Summing over samples first (whole contiguous slices) leaves one short
    # matrix-vector product per block instead of one per sample.
    mean_of_plogp = (plogp(block).sum(axis=0) @ ones) / n_samples
    entropy_of_mean = -neg_entropy_sum(block.sum(axis=0) / n_samples)
    # The difference is >= 0 in exact arithmetic (Jensen); rounding may leave -1e-8.
    info: _FloatArray = np.maximum(entropy_of_mean + mean_of_plogp, 0)
    return info


class BALD(SampleScoreStrategy):
    """BALD (Houlsby et al. 2011): the mutual information between label and model.

    Scores ``H(mean_t p_t) - mean_t H(p_t)`` with ``H`` the entropy in nats: high when
    each sample is confident but the samples disagree, zero when all samples agree.

    Example:
        >>> samples = np.array([[[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [0.5, 0.5]]])
        >>> BALD().score(samples).round(4)  # item 0: two confident, opposite votes
        array([0.6931, 0.    ])
    """

    name = "bald"

    def _score_block(self, block: _FloatArray, out: NDArray[np.float64]) -> None:
        out[...] = mutual_information(block)


class VariationRatios(SampleScoreStrategy):
    """Variation ratios (Freeman 1965): one minus the share of samples voting the mode.

    Each sample votes its most probable class (the lower class index on a tie);
    the score is ``1 - (votes for the most voted class) / n_samples``.

    Example:
        >>> samples = np.array([[[0.9, 0.1]], [[0.2, 0.8]], [[0.6, 0.4]]])
        >>> VariationRatios().score(samples).round(4)  # votes 0, 1, 0
        array([0.3333])
    """

    name = "variation_ratios"

    def _score_block(self, block: _FloatArray, out: NDArray[np.float64]) -> None:
        out[...] = 1.0 - vote_counts(block).max(axis=1) / block.shape[0]


class MeanStd(SampleScoreStrategy):
    """Mean standard deviation (Kampffmeyer et al. 2016) of each class's probability.

    Scores ``mean_c std_t p_tc``, the population standard deviation over samples
    (``ddof=0``) averaged over classes.

    Example:
        >>> samples = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
        >>> MeanStd().score(samples)
        array([0.5])
    """

    name = "mean_std"

    def _score_block(self, block: _FloatArray, out: NDArray[np.float64]) -> None:
        # Two passes (mean, then squared deviations) avoid the cancellation of E[p^2] - E[p]^2.
        deviations = block - block.mean(axis=0)
        np.square(deviations, out=deviations)
        std = np.sqrt(deviations.mean(axis=0))
        out[...] = std.mean(axis=1)
