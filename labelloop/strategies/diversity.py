"""Diversity: cover the embedding space instead of chasing uncertainty."""

from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from labelloop.strategies._kcenter import k_center_greedy
from labelloop.strategies._kernels import as_float
from labelloop.strategies.base import Pool, QueryStrategy

__all__ = ["CoreSet"]

_FloatArray = NDArray[np.floating[Any]]


class CoreSet(QueryStrategy):
    """Core-set selection (Sener and Savarese 2018) by k-center greedy on embeddings.

    Repeatedly picks the unlabeled item farthest (Euclidean) from its nearest
    center, the centers being the labeled items and the earlier picks, which
    minimizes the largest distance from any item to a center within a factor of 2.
    Ties go to the lower index. With nothing labeled, the first pick is the
    unlabeled item nearest the mean embedding: deterministic, and a central item
    rather than an outlier.

    The picks equal those of plain greedy with float64 distances, but the work is
    far less than one pass over the pool per pick (see
    :mod:`labelloop.strategies._kcenter`); memory is ``O(n)`` beyond the embeddings
    (a float32 copy of them when they are float64), never ``n x n``. The cost grows
    with the labeled set: every item's distance to its nearest labeled item is
    computed once, ``O(n * n_labeled * d)``.

    Example:
        >>> line = np.array([[0.0], [1.0], [2.0], [3.0], [10.0]])
        >>> pool = Pool(labeled=np.array([True, False, False, False, False]), embeddings=line)
        >>> CoreSet().select(pool, 2).tolist()  # 10 is farthest from 0, then 3 from {0, 10}
        [4, 3]
    """

    name = "coreset"
    requires = frozenset({"embeddings"})

    def _select(self, pool: Pool, k: int) -> NDArray[np.int64]:
        embeddings = as_float(cast(_FloatArray, pool.embeddings))
        return k_center_greedy(embeddings, pool.labeled, k)
