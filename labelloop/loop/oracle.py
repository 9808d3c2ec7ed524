"""The oracle that stands in for a person in simulation."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["Oracle"]


class Oracle:
    """Reveals held-back ground-truth labels, one query at a time, and counts them.

    Args:
        y: ``(n,)`` the true class index of every pool item.
    """

    def __init__(self, y: NDArray[np.int64]) -> None:
        self.y = y
        self.queries_ = 0

    def label(self, indices: NDArray[np.int64]) -> NDArray[np.int64]:
        """The true labels of ``indices``; each call is paid for in queries."""
        self.queries_ += len(indices)
        return self.y[indices]
