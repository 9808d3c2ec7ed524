"""The oracle that stands in for a person in simulation, and the labels a run buys from it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from labelloop.data.split import Split, StratifiedSplitter
from labelloop.learners import ClassificationMetrics, Learner
from labelloop.loop.engine import fit_learner

__all__ = ["LabeledSet", "Oracle"]


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


@dataclass
class LabeledSet:
    """What one simulated classification run has labeled so far, in the order it asked.

    Each new label goes to the training or the validation side as a
    project's :class:`~labelloop.data.split.StratifiedSplitter` puts it, so
    a simulated model is fitted and validated the way a project's is.

    Args:
        oracle: the true labels of the pool.
        classes: class names, indexed by the labels (the splitter stratifies by them).
    """

    oracle: Oracle
    classes: tuple[str, ...]
    indices: list[int] = field(default_factory=list)
    """Pool indices, in the order they were labeled."""
    labels: list[int] = field(default_factory=list)
    """Their class indices."""
    sides: list[Split] = field(default_factory=list)
    """Their sides, ``"train"`` or ``"val"``."""
    splitter: StratifiedSplitter = field(default_factory=StratifiedSplitter)

    def __len__(self) -> int:
        return len(self.indices)

    def add(self, indices: NDArray[np.int64]) -> None:
        """Ask the oracle for the labels of pool ``indices`` and keep them."""
        new = self.oracle.label(indices)
        self.indices.extend(int(i) for i in indices)
        self.labels.extend(int(c) for c in new)
        self.sides.extend(self.splitter.assign(self.classes[c]) for c in new)

    def fit(
        self, learner: Learner, X: NDArray[np.float32], *, refit: bool = True
    ) -> ClassificationMetrics | None:
        """Fit ``learner`` on the labeled items of the pool images ``X`` (:func:`fit_learner`).

        Returns:
            The validation side's metrics, or None while it is empty.
        """
        is_val = np.array([side == "val" for side in self.sides])
        return fit_learner(
            learner,
            X[np.array(self.indices, dtype=np.int64)],
            np.array(self.labels, dtype=np.int64),
            np.flatnonzero(~is_val),
            np.flatnonzero(is_val),
            refit=refit,
        )
