"""Random sampling: the baseline every other strategy must beat."""

import numpy as np
from numpy.typing import NDArray

from labelloop.strategies.base import Pool, QueryStrategy
from labelloop.strategies.errors import InvalidParameterError

__all__ = ["RandomSampling"]


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

    def __init__(self, random_state: int | None = None) -> None:
        self.random_state = random_state

    def _select(self, pool: Pool, k: int) -> NDArray[np.int64]:
        seed = self.random_state
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0
        ):
            raise InvalidParameterError(
                f"random_state must be None or an integer >= 0; got {seed!r}. "
                "Pass a seed such as random_state=0 for reproducible picks."
            )
        rng = np.random.default_rng(seed)
        unlabeled = np.flatnonzero(~pool.labeled)
        return rng.choice(unlabeled, size=k, replace=False).astype(np.int64, copy=False)
