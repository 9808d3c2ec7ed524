"""Threshold selectors: query the items the model is least sure of.

After Žliobaitė, Bifet, Pfahringer and Holmes, "Active learning with drifting
streaming data" (IEEE TNNLS, 2014): a fixed threshold on the confidence, a
threshold that adapts so that the budget is spent, and the same with a random
factor on the threshold, so that some confident items are queried too.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from labelloop.plugins import Constraint, Number, Seed
from labelloop.strategies.stream.base import StreamSelector

__all__ = [
    "FixedThresholdSelector",
    "RandomizedVariableUncertaintySelector",
    "VariableUncertaintySelector",
]


@dataclass(eq=False, repr=False, kw_only=True)
class FixedThresholdSelector(StreamSelector):
    """Query an item when its confidence is below a fixed threshold and budget remains.

    Items at or above the threshold are never queried, whatever the budget; when
    few items fall below it, less than the budget is spent.

    Args:
        budget: Share of items that may be queried, in (0, 1].
        threshold: Confidence below which an item is queried, in (0, 1].
        window: Number of recent decisions the budget is kept over, >= 1.

    Attributes:
        threshold_: The checked ``threshold``, as a float.

    Example:
        >>> selector = FixedThresholdSelector(budget=0.5, threshold=0.8, window=2)
        >>> [selector.decide(confidence=c) for c in (0.95, 0.6, 0.5, 0.7)]
        [False, True, False, True]
    """

    name = "fixed_threshold"
    constraints: ClassVar[Mapping[str, Constraint]] = {
        **StreamSelector.constraints,
        "threshold": Number(
            low=0.0,
            high=1.0,
            low_open=True,
            hint="Items less confident than it are queried; pass e.g. threshold=0.9.",
        ),
    }
    threshold: float = 0.9
    threshold_: float = field(init=False)

    def _start(self, params: dict[str, Any]) -> None:
        self.threshold_ = params["threshold"]

    def _decide(self, confidence: float, allowed: bool) -> bool:
        return allowed and confidence < self.threshold_


@dataclass(eq=False, repr=False, kw_only=True)
class VariableUncertaintySelector(StreamSelector):
    """Query items below a threshold that adapts so that the budget gets spent.

    The threshold ``θ`` starts at 1. While the budget allows a query, an item with
    confidence below ``θ`` is queried and ``θ ← θ(1 - step)``; an item at or above
    it is not, and ``θ ← θ(1 + step)``, so that a confident stretch of the stream
    still spends its budget on the least confident items it has. While the budget
    refuses, items pass and ``θ`` stays.

    Args:
        budget: Share of items that may be queried, in (0, 1].
        step: Relative change of the threshold per update, in (0, 1), e.g. 0.01.
        window: Number of recent decisions the budget is kept over, >= 1.

    Attributes:
        threshold_: The current threshold ``θ``.

    Example:
        >>> selector = VariableUncertaintySelector(budget=1.0, step=0.5, window=1)
        >>> [selector.decide(confidence=c) for c in (0.9, 0.6, 0.4)], selector.threshold_
        ([True, False, True], 0.375)
    """

    name = "variable_uncertainty"
    constraints: ClassVar[Mapping[str, Constraint]] = {
        **StreamSelector.constraints,
        "step": Number(
            low=0.0,
            high=1.0,
            low_open=True,
            high_open=True,
            hint="It is the relative change of the threshold per update; pass e.g. step=0.01.",
        ),
    }
    step: float = 0.01
    threshold_: float = field(init=False)

    def _start(self, params: dict[str, Any]) -> None:
        self._step: float = params["step"]
        self.threshold_ = 1.0

    def _decide(self, confidence: float, allowed: bool) -> bool:
        return allowed and self._update(confidence, self.threshold_)

    def _update(self, confidence: float, threshold: float) -> bool:
        """Query if ``confidence`` is below ``threshold``; move :attr:`threshold_` to match.

        Called only while the budget allows a query.
        """
        if confidence < threshold:
            self.threshold_ *= 1.0 - self._step
            return True
        self.threshold_ *= 1.0 + self._step
        return False


@dataclass(eq=False, repr=False, kw_only=True)
class RandomizedVariableUncertaintySelector(VariableUncertaintySelector):
    """Variable uncertainty with the threshold multiplied by a random factor per item.

    Each item the budget allows is compared with ``θ·η``, ``η ~ N(1, delta)`` drawn
    afresh, so that confident items are sometimes queried too: under drift the
    model's confident mistakes still get labels. ``θ`` itself moves as in
    :class:`VariableUncertaintySelector`.

    Args:
        budget: Share of items that may be queried, in (0, 1].
        step: Relative change of the threshold per update, in (0, 1), e.g. 0.01.
        delta: Standard deviation of the factor ``η``, >= 0; 0 gives plain variable
            uncertainty. Žliobaitė et al. use 1.
        random_state: Seed, an integer >= 0, or None for fresh OS entropy.
        window: Number of recent decisions the budget is kept over, >= 1.

    Attributes:
        threshold_: The current threshold ``θ``, before the random factor.
    """

    name = "randomized_variable_uncertainty"
    constraints: ClassVar[Mapping[str, Constraint]] = {
        **VariableUncertaintySelector.constraints,
        "delta": Number(
            low=0.0,
            hint="It is the spread of the random factor on the threshold; pass e.g. delta=1.0.",
        ),
        "random_state": Seed("Pass e.g. random_state=0 for reproducible decisions."),
    }

    delta: float = 1.0
    random_state: int | None = None

    def _start(self, params: dict[str, Any]) -> None:
        super()._start(params)
        self._delta: float = params["delta"]
        self._rng = np.random.default_rng(params["random_state"])

    def _decide(self, confidence: float, allowed: bool) -> bool:
        if not allowed:
            return False
        factor = float(self._rng.normal(1.0, self._delta))
        return self._update(confidence, self.threshold_ * factor)
