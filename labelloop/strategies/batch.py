"""Batch awareness: keep near-duplicates from filling one batch.

Ranking by a score alone sends annotators every copy of a confusing image. The
helper :func:`diverse_top_k` walks the ranking and skips an item whose embedding
is nearly parallel to one already kept; any strategy with scores and embeddings
can use it. The ``*_diverse`` strategies are the uncertainty strategies with this
filter switched on: a separate name rather than a flag on
:class:`~labelloop.strategies.uncertainty.MarginSampling`, so that ``requires``
stays exact (the plain strategies need no embeddings, the diverse ones do).

Redundancy is cosine similarity, which ignores the embeddings' scale: a threshold
such as 0.95 means the same for any feature extractor, where a Euclidean
distance threshold would have to be tuned per model.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import numpy as np
from numpy.typing import NDArray

from labelloop.plugins import Constraint, Number
from labelloop.strategies._kernels import as_float
from labelloop.strategies._topk import top_k
from labelloop.strategies.base import Pool, QueryStrategy
from labelloop.strategies.errors import InvalidParameterError
from labelloop.strategies.hybrid import UncertaintyName, nonnegative_uncertainty

__all__ = [
    "DiverseEntropySampling",
    "DiverseLeastConfidence",
    "DiverseMarginSampling",
    "DiverseUncertaintySampling",
    "diverse_top_k",
]

_FloatArray = NDArray[np.floating[Any]]

# Candidates scored per pass, as a multiple of k; grown 4x when too many are redundant.
_CANDIDATE_FACTOR = 4
# Candidates compared against each other at once.
_BLOCK = 256

_SIMILARITY = Number(low=-1.0, high=1.0)


def diverse_top_k(
    scores: NDArray[np.float64],
    embeddings: _FloatArray,
    k: int,
    *,
    max_similarity: float = 0.95,
    exclude: NDArray[np.bool_] | None = None,
) -> NDArray[np.int64]:
    """The ``k`` highest-scoring items, skipping near-duplicates of items already taken.

    Items are visited by score descending (ties: lower index first). An item is
    taken unless the cosine similarity of its embedding to an item already taken
    exceeds ``max_similarity``. If fewer than ``k`` items survive, the skipped ones
    fill the remaining places in score order, so exactly ``k`` come back. An
    all-zero embedding is similar to nothing.

    Args:
        scores: ``(n,)`` finite scores, higher first; not modified.
        embeddings: ``(n, d)`` one feature vector per item.
        k: How many indices to return; ``1 <= k <=`` the number of items not excluded.
        max_similarity: Largest cosine similarity allowed between two taken items,
            in [-1, 1]; 1 turns the filter off.
        exclude: ``(n,)`` True for items that must never be returned, or None.

    Returns:
        ``(k,)`` int64 distinct indices: the kept items by score, then any fillers.

    Raises:
        InvalidParameterError: If ``max_similarity`` is outside [-1, 1] or ``k`` is
            out of range.

    Example:
        >>> scores = np.array([0.9, 0.8, 0.1])
        >>> embeddings = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])  # 0 and 1 parallel
        >>> diverse_top_k(scores, embeddings, 2).tolist()
        [0, 2]
    """
    threshold: float = _SIMILARITY.check("max_similarity", max_similarity, InvalidParameterError)
    n = scores.shape[0]
    available = n - (0 if exclude is None else int(np.count_nonzero(exclude)))
    if not 1 <= k <= available:
        raise InvalidParameterError(
            f"k must be between 1 and the {available} items not excluded; got {k}."
        )
    embeddings = as_float(embeddings)
    kept: list[int] = []
    skipped: list[int] = []
    kept_units = np.empty((k, embeddings.shape[1]), dtype=np.float64)
    m = min(available, _CANDIDATE_FACTOR * k)
    visited = 0
    while True:
        order = top_k(scores.copy(), m, exclude=exclude)
        for start in range(visited, m, _BLOCK):
            block = order[start : start + _BLOCK]
            taken = _filter_block(
                block, _unit_rows(embeddings[block]), threshold, kept, kept_units, k
            )
            skipped.extend(np.delete(block, taken).tolist())
            if len(kept) == k:
                return np.asarray(kept, dtype=np.int64)
        visited = m
        if m == available:
            return np.asarray(kept + skipped[: k - len(kept)], dtype=np.int64)
        m = min(available, _CANDIDATE_FACTOR * m)


def _unit_rows(rows: _FloatArray) -> NDArray[np.float64]:
    """``(b, d)`` rows scaled to unit length, in float64; zero rows stay zero."""
    rows = rows.astype(np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", rows, rows))
    units: NDArray[np.float64] = np.divide(
        rows, norms[:, None], out=np.zeros_like(rows), where=norms[:, None] > 0
    )
    return units


def _filter_block(
    block: NDArray[np.int64],
    units: NDArray[np.float64],
    threshold: float,
    kept: list[int],
    kept_units: NDArray[np.float64],
    k: int,
) -> list[int]:
    """Append to ``kept`` (and ``kept_units``) the items of ``block`` that are not redundant.

    Similarities to the items kept before the block come from one matrix product;
    within the block, each item is compared with the block's earlier keepers.

    Returns:
        The positions in ``block`` of the items appended.
    """
    before = len(kept)
    redundant = np.zeros(block.size, dtype=bool)
    if before:
        redundant = (units @ kept_units[:before].T).max(axis=1) > threshold
    within = units @ units.T
    taken: list[int] = []
    for j in range(block.size):
        if len(kept) == k:
            break
        if redundant[j] or (taken and within[j, taken].max() > threshold):
            continue
        taken.append(j)
        kept_units[len(kept)] = units[j]
        kept.append(int(block[j]))
    return taken


@dataclass(eq=False, repr=False, kw_only=True)
class DiverseUncertaintySampling(QueryStrategy):
    """Uncertainty sampling whose batch skips near-duplicate embeddings.

    Ranks unlabeled items by :attr:`uncertainty` and takes them through
    :func:`diverse_top_k`. Subclasses set :attr:`uncertainty` and :attr:`name`.

    Args:
        max_similarity: Largest cosine similarity allowed between two items of one
            batch, in [-1, 1].
    """

    requires = frozenset({"embeddings", "probs"})
    constraints: ClassVar[Mapping[str, Constraint]] = {"max_similarity": _SIMILARITY}
    uncertainty: ClassVar[UncertaintyName]

    max_similarity: float = 0.95

    def _select(self, pool: Pool, k: int) -> NDArray[np.int64]:
        scores = nonnegative_uncertainty(self.uncertainty, cast(_FloatArray, pool.probs))
        return diverse_top_k(
            scores,
            cast(_FloatArray, pool.embeddings),
            k,
            max_similarity=self.max_similarity,
            exclude=pool.labeled,
        )


class DiverseEntropySampling(DiverseUncertaintySampling):
    """Entropy sampling with near-duplicates skipped; see :class:`DiverseUncertaintySampling`."""

    name = "entropy_diverse"
    uncertainty = "entropy"


class DiverseLeastConfidence(DiverseUncertaintySampling):
    """Least confidence with near-duplicates skipped; see :class:`DiverseUncertaintySampling`."""

    name = "least_confidence_diverse"
    uncertainty = "least_confidence"


class DiverseMarginSampling(DiverseUncertaintySampling):
    """Margin sampling with near-duplicates skipped; see :class:`DiverseUncertaintySampling`."""

    name = "margin_diverse"
    uncertainty = "margin"
