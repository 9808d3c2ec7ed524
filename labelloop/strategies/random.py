"""Random sampling: the baseline every other strategy must beat."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from labelloop.plugins import Constraint, Seed
from labelloop.strategies._params import make_rng
from labelloop.strategies.base import Pool, QueryStrategy

__all__ = ["RandomSampling"]


@dataclass(eq=False, repr=False, kw_only=True)
class RandomSampling(QueryStrategy):
    """Choose unlabeled items uniformly at random, without replacement.

    Each :meth:`select` call draws from a fresh generator seeded with
    ``random_state``, so the same seed and the same pool give the same indices.

    Args:
        random_state: Seed, a non-negative integer; None draws fresh OS entropy on
            every call. Checked when :meth:`select` runs, not here.

    Raises:
        InvalidParameterError: From :meth:`select`, if ``random_state`` is neither
            None nor an integer >= 0.

    Example:
        >>> pool = Pool(labeled=np.array([True, False, False, False]))
        >>> picked = RandomSampling(random_state=0).select(pool, 2)
        >>> sorted(set(picked.tolist()) - {1, 2, 3})
        []
    """

    name = "random"
    constraints: ClassVar[Mapping[str, Constraint]] = {"random_state": Seed()}

    random_state: int | None = None

    def _select(self, pool: Pool, k: int) -> NDArray[np.int64]:
        rng = make_rng(self.random_state)
        unlabeled = np.flatnonzero(~pool.labeled)
        return rng.choice(unlabeled, size=k, replace=False).astype(np.int64, copy=False)
