"""What the loop does with images flagged as outliers: exclude, review first, or keep."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from numpy.typing import NDArray

from labelloop.monitor.errors import InvalidOutlierInputError, InvalidOutlierParameterError

__all__ = ["OUTLIER_POLICIES", "OutlierPlan", "OutlierPolicy", "apply_outlier_policy"]

OutlierPolicy = Literal["exclude", "keep", "review_first"]
"""What the loop does with images flagged as outliers.

* ``"review_first"``: they stay in the pool and go to the head of the
  annotation queue, so a person looks at them (and can discard them) before
  any model-selected image.
* ``"exclude"``: they leave the selection pool; no strategy ever picks them
  and they are never auto-labeled. They stay in the store, flagged.
* ``"keep"``: the flag is recorded but changes nothing; they compete for
  selection like any other image.
"""

OUTLIER_POLICIES: tuple[str, ...] = get_args(OutlierPolicy)
"""The values of :data:`OutlierPolicy`, sorted."""


@dataclass(frozen=True)
class OutlierPlan:
    """What an outlier policy means for the pool and the queue.

    Attributes:
        policy: The policy applied.
        excluded: ``True`` for images removed from the selection pool, shape ``(n,)``.
        review_first: Indices to put at the head of the annotation queue, most
            outlying first when scores were given, shape ``(n_review,)``.
    """

    policy: OutlierPolicy
    excluded: NDArray[np.bool_]
    review_first: NDArray[np.intp]

    def order(self, ranking: NDArray[np.integer]) -> NDArray[np.intp]:
        """Apply the plan to a strategy's ranking of the pool.

        Args:
            ranking: Pool indices in the strategy's order of preference, shape ``(m,)``.

        Returns:
            ``review_first`` items, then the rest of ``ranking`` in its order,
            without excluded items and without repeats.
        """
        ranked = np.asarray(ranking, dtype=np.intp)
        head = set(self.review_first.tolist())
        rest = [i for i in ranked.tolist() if i not in head and not self.excluded[i]]
        return np.asarray([*self.review_first.tolist(), *rest], dtype=np.intp)


def apply_outlier_policy(
    flagged: NDArray[np.bool_],
    policy: OutlierPolicy,
    scores: NDArray[np.floating] | None = None,
) -> OutlierPlan:
    """Turn outlier flags into pool exclusions and queue priorities.

    Args:
        flagged: ``True`` for outliers, shape ``(n,)``.
        policy: One of :data:`OUTLIER_POLICIES` (see :data:`OutlierPolicy`).
        scores: Outlier scores, shape ``(n,)``, to order ``review_first``
            most outlying first; ``None`` keeps index order.

    Returns:
        The plan.

    Raises:
        InvalidOutlierParameterError: If ``policy`` is unknown.
        InvalidOutlierInputError: If ``flagged`` is not 1-D boolean or ``scores`` differs in shape.
    """
    if policy not in OUTLIER_POLICIES:
        raise InvalidOutlierParameterError(
            f"unknown outlier policy {policy!r}; choose one of {', '.join(OUTLIER_POLICIES)}."
        )
    mask = np.asarray(flagged)
    if mask.ndim != 1 or mask.dtype != np.bool_:
        raise InvalidOutlierInputError(
            f"flagged must be a 1-D boolean array; got dtype {mask.dtype}, shape {mask.shape}."
        )
    indices = np.flatnonzero(mask).astype(np.intp)
    if scores is not None:
        values = np.asarray(scores, dtype=np.float64)
        if values.shape != mask.shape:
            raise InvalidOutlierInputError(
                f"scores has shape {values.shape}; it must match flagged's {mask.shape}."
            )
        indices = indices[np.argsort(-values[indices], kind="stable")]
    excluded = mask.copy() if policy == "exclude" else np.zeros_like(mask)
    review = indices if policy == "review_first" else np.empty(0, dtype=np.intp)
    return OutlierPlan(policy, excluded, review)
