"""What a drift test found on a batch, and the selection weights that favour shifted images.

:mod:`labelloop.monitor.drift` re-exports every name here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelloop.monitor.errors import DriftInputError
from labelloop.plugins import Integer, Number

__all__ = ["DriftResult", "Info", "drift_weights", "shift_weights"]

Info = Mapping[str, float | int | str | list[int]]
"""A drift result's method-specific, JSON-ready details."""


@dataclass(frozen=True, eq=False)
class DriftResult:
    """The outcome of one drift test on one batch.

    Attributes:
        method: The test's name, one of :data:`DRIFT_TEST_NAMES`.
        statistic: The test statistic (MMD², smallest corrected KS p-value's
            KS statistic, or held-out AUC).
        p_value: The p-value of "the batch comes from the reference distribution".
        alpha: The significance level the test was run at.
        drifted: ``p_value <= alpha``.
        n_reference: Rows in the reference.
        n_batch: Rows in the batch.
        scores: (n_batch,) per-image shift score, higher = more shifted; read-only.
        info: Method-specific, JSON-ready details (bandwidth, drifted dimensions...).
    """

    method: str
    statistic: float
    p_value: float
    alpha: float
    drifted: bool
    n_reference: int
    n_batch: int
    scores: NDArray[np.float64]
    info: Info = field(default_factory=dict)

    def most_shifted(self, k: int) -> NDArray[np.intp]:
        """Indices of the ``k`` most shifted batch images, most shifted first.

        Args:
            k: How many to return; more than ``n_batch`` returns all of them.

        Returns:
            (min(k, n_batch),) indices into the batch; ties go to the lower index.

        Raises:
            DriftInputError: If ``k`` is not an integer >= 0.
        """
        Integer(low=0).check("k", k, DriftInputError)
        order: NDArray[np.intp] = np.argsort(-self.scores, kind="stable")
        return order[:k]

    def to_dict(self, top_k: int = 10) -> dict[str, Any]:
        """A JSON-ready summary for the store: every field but the full scores.

        Args:
            top_k: How many of the most shifted images to keep, with their scores.

        Returns:
            The scalar fields, ``info``, and ``top_indices`` / ``top_scores``
            (most shifted first).
        """
        top = self.most_shifted(top_k)
        return {
            "method": self.method,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "alpha": self.alpha,
            "drifted": self.drifted,
            "n_reference": self.n_reference,
            "n_batch": self.n_batch,
            "info": dict(self.info),
            "top_indices": [int(i) for i in top],
            "top_scores": [float(s) for s in self.scores[top]],
        }


def drift_weights(result: DriftResult, strength: float = 1.0) -> NDArray[np.float64]:
    """Multiplicative selection weights that favour the batch's shifted images.

    When the batch drifted, the weights are :func:`shift_weights` of its
    images' shift scores; when it did not, every weight is 1.

    Args:
        result: A drift test's result for the batch.
        strength: How much the most shifted image is weighted up, >= 0.

    Returns:
        (n_batch,) weights >= 1.

    Raises:
        DriftInputError: If ``strength`` is negative or not finite.
    """
    drifted = np.full(result.n_batch, result.drifted, dtype=bool)
    return shift_weights(result.scores, drifted, strength)


def shift_weights(
    scores: NDArray[np.floating],
    drifted: NDArray[np.bool_],
    strength: float = 1.0,
    *,
    ties: float = 0.0,
) -> NDArray[np.float64]:
    """Selection weights ``1 + strength * u`` for drifted images, 1 for the rest.

    ``u`` is an image's shift score min-max scaled over the drifted images
    to [0, 1]; when they all score the same (or there is one), each gets
    ``u = ties``.

    Args:
        scores: (n,) shift scores (higher: more shifted).
        drifted: (n,) True for images of a drifted batch.
        strength: How much the most shifted image is weighted up, >= 0.
        ties: ``u`` of drifted images whose scores cannot be told apart: 0
            weighs them as the least shifted, 1 as the most.

    Returns:
        (n,) weights >= 1.

    Raises:
        DriftInputError: If ``strength`` is negative or not finite.
    """
    Number(low=0.0).check("strength", strength, DriftInputError)
    weights = np.ones(len(drifted), dtype=np.float64)
    if not drifted.any():
        return weights
    values = np.asarray(scores, dtype=np.float64)[drifted]
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) if high > low else np.full_like(values, ties)
    weights[drifted] += strength * scaled
    return weights
