"""Synthetic streams and measurements shared by the stream-selector tests."""

import math

import numpy as np
from numpy.typing import NDArray


def dirichlet_stream(n_items: int, n_classes: int = 3, seed: int = 0) -> NDArray[np.float64]:
    """``(n_items, n_classes)`` seeded class probabilities, uniform on the simplex."""
    return np.random.default_rng(seed).dirichlet(np.ones(n_classes), size=n_items)


def max_window_queries(decisions: NDArray[np.bool_], window: int) -> int:
    """The most queries among any ``window`` consecutive decisions."""
    counts = np.concatenate([[0], np.cumsum(decisions, dtype=np.int64)])
    if len(decisions) < window:
        return int(counts[-1])
    return int((counts[window:] - counts[:-window]).max())


def window_cap(budget: float, window: int) -> int:
    """``floor(budget * window) + 1``, the budget manager's window limit."""
    return math.floor(round(budget * window, 9)) + 1


def as_marks(decisions: NDArray[np.bool_] | list[bool]) -> str:
    """Decisions as a string: ``Q`` for a query, ``.`` for a pass."""
    return "".join("Q" if decision else "." for decision in decisions)
