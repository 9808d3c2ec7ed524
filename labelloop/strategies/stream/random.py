"""Random selection: the baseline a stream selector must beat at the same budget."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from labelloop.plugins import Constraint, Seed
from labelloop.strategies.stream.base import StreamSelector

__all__ = ["RandomStreamSelector"]

_SEED = Seed("Pass e.g. random_state=0 for reproducible decisions.")


class _PacedCoin:
    """A coin for each item, weighted so that its heads average ``rate`` and cannot drift.

    Each item adds ``rate`` to what is owed; the coin shows heads with probability
    ``clip(owed, 0, 1)``, and heads that are acted on pay 1 back. Heads refused
    (the budget was spent elsewhere) stay owed, so they are made up later. A plain
    Bernoulli(``rate``) coin behind a budget manager loses the heads the manager
    refuses, and its spend wanders by ``sqrt(rate * n)``: well under ``rate``.

    What is owed starts at a random amount in ``(rate - 1, 0]``, so that runs under
    different seeds do not all query at the same places: which places in each
    stretch of ``1 / rate`` items a run favours is random, not fixed by the clock.
    (At rate 1 it starts at 0, so that every item is taken.)

    Args:
        rate: Long-run share of heads, in (0, 1].
        rng: The generator to draw from.
    """

    def __init__(self, rate: float, rng: np.random.Generator) -> None:
        self.rate = rate
        self.rng = rng
        self.owed = -(1.0 - rate) * float(rng.random())

    def flip(self, allowed: bool) -> bool:
        """Flip for one item; True only if ``allowed`` and the coin shows heads."""
        self.owed += self.rate
        if allowed and self.rng.random() < self.owed:
            self.owed -= 1.0
            return True
        return False


@dataclass(eq=False, repr=False, kw_only=True)
class RandomStreamSelector(StreamSelector):
    """Query items at random, a share ``budget`` of them, whatever the model says.

    The item's confidence is checked but never used. Each item is queried with
    probability equal to the budget it is owed, clipped to [0, 1]: ``budget`` more
    per item, 1 less per query. That probability averages ``budget`` and rises
    while the budget manager refuses queries, so the selector spends what a
    strategy at the same budget spends: the fair baseline.

    The queries are spread evenly in time, as in stratified sampling: gaps between
    them stay near ``1 / budget`` (for budget 0.1, nine in ten gaps are 6 to 14
    items), at random places that differ from seed to seed.

    Args:
        budget: Share of items that may be queried, in (0, 1].
        random_state: Seed, an integer >= 0, or None for fresh OS entropy.
        window: Number of recent decisions the budget is kept over, >= 1.

    Example:
        >>> selector = RandomStreamSelector(budget=0.1, random_state=0)
        >>> sum(selector.decide(confidence=0.5) for _ in range(1000)) in (99, 100)
        True
    """

    name = "random"
    constraints: ClassVar[Mapping[str, Constraint]] = {
        **StreamSelector.constraints,
        "random_state": _SEED,
    }

    random_state: int | None = None

    def _start(self, params: dict[str, Any]) -> None:
        rng = np.random.default_rng(params["random_state"])
        self._coin = _PacedCoin(float(self.budget), rng)

    def _decide(self, confidence: float, allowed: bool) -> bool:
        return self._coin.flip(allowed)
