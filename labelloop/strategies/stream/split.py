"""Split: part of the stream is queried at random, the rest by variable uncertainty."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from labelloop.plugins import Constraint, Number, Seed
from labelloop.strategies.stream.random import _PacedCoin
from labelloop.strategies.stream.uncertainty import VariableUncertaintySelector

__all__ = ["SplitSelector"]


@dataclass(eq=False, repr=False, kw_only=True)
class SplitSelector(VariableUncertaintySelector):
    """Send a random share of items to random selection, the rest to variable uncertainty.

    After Žliobaitė et al. (2014): uncertainty sampling alone never asks about the
    items the model is sure of, so it cannot see that they have started to be
    wrong. Each item goes, with probability ``random_share``, to random selection
    at rate ``budget`` (paced as in
    :class:`~labelloop.strategies.stream.random.RandomStreamSelector`); otherwise
    to :class:`~labelloop.strategies.stream.uncertainty.VariableUncertaintySelector`,
    whose threshold only those items move. Both spend from one budget, and when
    the stream wants its budget about ``random_share`` of the queries are random.

    Args:
        budget: Share of items that may be queried, in (0, 1].
        random_share: Share of items decided at random, in [0, 1], e.g. 0.2.
        step: Relative change of the threshold per update, in (0, 1), e.g. 0.01.
        random_state: Seed, an integer >= 0, or None for fresh OS entropy.
        window: Number of recent decisions the budget is kept over, >= 1.

    Attributes:
        threshold_: The variable-uncertainty threshold ``θ``.
        n_random_: Items decided at random since the last reset.
        n_random_queried_: Of those, the items queried.
    """

    name = "split"
    constraints: ClassVar[Mapping[str, Constraint]] = {
        **VariableUncertaintySelector.constraints,
        "random_share": Number(
            low=0.0,
            high=1.0,
            hint="It is the share of items decided at random; pass e.g. random_share=0.2.",
        ),
        "random_state": Seed("Pass e.g. random_state=0 for reproducible decisions."),
    }
    random_share: float = 0.2
    random_state: int | None = None
    n_random_: int = field(init=False)
    n_random_queried_: int = field(init=False)

    def _start(self, params: dict[str, Any]) -> None:
        super()._start(params)
        self._random_share: float = params["random_share"]
        self._rng = np.random.default_rng(params["random_state"])
        self._coin = _PacedCoin(float(self.budget), self._rng)
        self.n_random_ = 0
        self.n_random_queried_ = 0

    def _decide(self, confidence: float, allowed: bool) -> bool:
        # random() is in [0, 1), so a share of 0 never and of 1 always picks random.
        if self._rng.random() < self._random_share:
            query = self._coin.flip(allowed)
            self.n_random_ += 1
            self.n_random_queried_ += query
            return query
        return allowed and self._update(confidence, self.threshold_)
