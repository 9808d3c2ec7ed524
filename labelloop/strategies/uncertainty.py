"""Uncertainty sampling: rank unlabeled items by how unsure the model is of them.

Scores are computed block by block over rows, so each block's temporaries stay in
the CPU cache and no copy of the whole ``(n, n_classes)`` array is made. For few
classes the per-row reductions run as a loop over columns: numpy's reductions
along a short last axis pay a per-row overhead that costs ten times more.
"""

from abc import abstractmethod
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from labelloop.strategies._topk import top_k
from labelloop.strategies.base import Picks, Pool, QueryStrategy
from labelloop.strategies.errors import PoolShapeError

__all__ = ["EntropySampling", "LeastConfidence", "MarginSampling", "UncertaintyStrategy"]

# Bytes of probabilities per block: the block and its temporaries fit in L2.
_BLOCK_BYTES = 1 << 18
# Up to this many classes a Python loop over columns beats numpy's row reductions.
_COLUMN_LOOP_MAX_CLASSES = 32

_FloatArray = NDArray[np.floating[Any]]


class UncertaintyStrategy(QueryStrategy):
    """Base class of strategies that score each item from its class probabilities.

    :meth:`select` takes the ``k`` highest scores among unlabeled items, ties broken
    by lower index first. Subclasses implement :meth:`_score_block`.
    """

    requires = frozenset({"probs"})

    def score(self, probs: _FloatArray) -> NDArray[np.float64]:
        """Score every item; higher means more informative.

        Args:
            probs: ``(n, n_classes)`` class probabilities, float32 or float64 (other
                float dtypes are converted to float64). Values are not range-checked
                here; :class:`~labelloop.strategies.base.Pool` checks them.

        Returns:
            ``(n,)`` float64 finite scores, a new array the caller may modify.

        Raises:
            PoolShapeError: If ``probs`` is not a 2-D float array with >= 2 classes.
        """
        probs = np.asarray(probs)
        if probs.ndim != 2 or probs.shape[1] < 2 or not np.issubdtype(probs.dtype, np.floating):
            raise PoolShapeError(
                f"probs must be a float array of shape (n, n_classes) with n_classes >= 2; "
                f"got shape {probs.shape} and dtype {probs.dtype}."
            )
        if probs.dtype not in (np.float32, np.float64):
            probs = probs.astype(np.float64)
        n, n_classes = probs.shape
        out = np.empty(n, dtype=np.float64)
        rows = max(1, _BLOCK_BYTES // (n_classes * probs.itemsize))
        for start in range(0, n, rows):
            self._score_block(probs[start : start + rows], out[start : start + rows])
        return out

    @abstractmethod
    def _score_block(self, block: _FloatArray, out: NDArray[np.float64]) -> None:
        """Write the scores of ``(b, n_classes)`` probabilities into ``(b,)`` ``out``."""

    scored = True

    def _select_scored(self, pool: Pool, k: int) -> Picks:
        scores = self.score(cast(_FloatArray, pool.probs))
        # top_k overwrites only the excluded (labeled) entries, so the picks keep theirs.
        picked = top_k(scores, k, exclude=pool.labeled)
        return picked, scores[picked]

    def _select(self, pool: Pool, k: int) -> NDArray[np.int64]:
        return self._select_scored(pool, k)[0]


def _row_max(block: _FloatArray) -> _FloatArray:
    """``(b,)`` largest value of each row of ``(b, c)`` ``block``."""
    n_classes = block.shape[1]
    if n_classes > _COLUMN_LOOP_MAX_CLASSES:
        largest: _FloatArray = block.max(axis=1)
        return largest
    top = block[:, 0].copy()
    for j in range(1, n_classes):
        np.maximum(top, block[:, j], out=top)
    return top


def _row_top2(block: _FloatArray) -> tuple[_FloatArray, _FloatArray]:
    """``(b,)`` largest and ``(b,)`` second-largest value of each row of ``(b, c)``, c >= 2."""
    n_classes = block.shape[1]
    if n_classes > _COLUMN_LOOP_MAX_CLASSES:
        # Knocking out each row's winner and taking the max again beats
        # np.partition along rows by 1.3x at 100 classes and 2x at 1000.
        rows = np.arange(block.shape[0])
        winner = block.argmax(axis=1)
        rest = block.copy()
        rest[rows, winner] = -np.inf
        second: _FloatArray = rest.max(axis=1)
        return block[rows, winner], second
    first = np.maximum(block[:, 0], block[:, 1])
    second = np.minimum(block[:, 0], block[:, 1])
    loser = np.empty_like(first)
    for j in range(2, n_classes):
        column = block[:, j]
        np.minimum(first, column, out=loser)
        np.maximum(second, loser, out=second)
        np.maximum(first, column, out=first)
    return first, second


class LeastConfidence(UncertaintyStrategy):
    """Least-confidence sampling: score ``1 - max_c p_c``.

    Example:
        >>> LeastConfidence().score(np.array([[0.9, 0.1], [0.6, 0.4]])).round(2)
        array([0.1, 0.4])
    """

    name = "least_confidence"

    def _score_block(self, block: _FloatArray, out: NDArray[np.float64]) -> None:
        np.subtract(1.0, _row_max(block), out=out, dtype=np.float64)


class MarginSampling(UncertaintyStrategy):
    """Margin sampling: score ``-(p_top1 - p_top2)``, so a smaller margin ranks higher.

    Example:
        >>> MarginSampling().score(np.array([[0.9, 0.1], [0.6, 0.4]])).round(2)
        array([-0.8, -0.2])
    """

    name = "margin"

    def _score_block(self, block: _FloatArray, out: NDArray[np.float64]) -> None:
        first, second = _row_top2(block)
        np.subtract(second, first, out=out, dtype=np.float64)


class EntropySampling(UncertaintyStrategy):
    """Entropy sampling: score ``-sum_c p_c log p_c`` (natural log), with ``0 log 0 = 0``.

    Computed in the dtype of ``probs`` (float32 stays float32, for speed) and
    returned as float64.

    Example:
        >>> EntropySampling().score(np.array([[1.0, 0.0], [0.5, 0.5]])).round(4)
        array([0.    , 0.6931])
    """

    name = "entropy"

    def _score_block(self, block: _FloatArray, out: NDArray[np.float64]) -> None:
        # Clipping at the smallest normal float keeps log finite, so p = 0 gives
        # 0 * log(tiny) = 0 exactly; for p > 0 the clip changes nothing that matters.
        terms = np.maximum(block, np.finfo(block.dtype).tiny)
        np.log(terms, out=terms)
        np.multiply(terms, block, out=terms)
        # A matrix-vector product sums short rows far faster than sum(axis=1); summing
        # against -1 rather than negating afterwards turns one-hot rows into +0.0, not -0.0.
        out[...] = terms @ np.full(block.shape[1], -1.0, dtype=block.dtype)
