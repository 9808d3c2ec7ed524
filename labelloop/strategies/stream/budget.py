"""Budget manager: how many stream items may still be sent for labeling.

Two rules decide whether the next item may be queried, and both must allow it:

1. **Credit.** Every decision earns ``budget`` credit and a query costs 1; a query
   needs 1 credit. Credit starts at 1, so the first item may be queried, and is
   capped at ``max(1, budget * window)``: budget left unspent through a quiet
   stretch is saved, but no more than one window's worth.
2. **Sliding window.** Counting this item, the last ``window`` decisions may hold at
   most ``floor(budget * window) + 1`` queries: ``(queries in window + 1) / window
   <= budget + 1 / window``.

Credit holds the share at ``budget``: the first ``n`` decisions make at most
``budget * n + 1`` queries, and when every item is wanted, that many rounded down.
The window stops saved credit from being spent on top of a full window's
earnings. Its one query of slack lets through a selector whose queries fall at
random places at rate ``budget``: a window of exactly ``budget * window`` refuses
such a selector so often that its queries repeat the places of one window before.
"""

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Self

from labelloop.plugins import Configurable, Constraint, Integer, Number
from labelloop.strategies.errors import InvalidParameterError

__all__ = ["BUDGET", "WINDOW", "BudgetManager", "Budgeted"]

BUDGET = Number(
    low=0.0,
    high=1.0,
    low_open=True,
    hint="It is the share of items that may be labeled; pass e.g. budget=0.1 for one in ten.",
)
"""What ``budget`` may be: a share in (0, 1]."""
WINDOW = Integer(
    low=1,
    hint="It is the number of recent decisions the budget is kept over; pass e.g. window=100.",
)
"""What ``window`` may be: an integer >= 1."""

# Slack for sums of floats: ten additions of 0.1 make 0.9999999999999999, which must
# still buy a query, and 0.29 * 100 is 28.999999999999996, which must still allow 30.
_EPS = 1e-9


@dataclass(eq=False, repr=False)
class Budgeted(Configurable):
    """The two parameters a budget is spent under, shared by the manager and every selector.

    Args:
        budget: Share of items that may be queried, in (0, 1], e.g. 0.1.
        window: Number of recent decisions the budget is kept over, >= 1.
    """

    constraints: ClassVar[Mapping[str, Constraint]] = {"budget": BUDGET, "window": WINDOW}
    parameter_error = InvalidParameterError
    budget: float = 0.1
    window: int = 100


@dataclass(eq=False, repr=False)
class BudgetManager(Budgeted):
    """Keep the share of queried stream items at ``budget`` over a sliding window.

    Ask :meth:`allows` before each decision, then :meth:`record` what was decided.
    The constructor only stores its parameters; :meth:`reset` checks them and
    starts an empty window with credit 1 (the first call to :meth:`allows` or
    :meth:`record` does so if :meth:`reset` was not called).

    Args:
        budget: Share of items that may be queried, in (0, 1], e.g. 0.1.
        window: Number of recent decisions the budget is kept over, >= 1.

    Attributes:
        n_seen_: Decisions recorded since the last reset.
        spent_: Queries recorded since the last reset.
        share_: ``spent_ / n_seen_``, or 0.0 before the first decision.
        credit_: Credit left, in queries, before the next decision's earnings.
        window_spent_: Queries among the last ``window - 1`` decisions, which with
            the next decision make up its window.

    Raises:
        InvalidParameterError: From :meth:`reset`, if ``budget`` is not in (0, 1] or
            ``window`` is not an integer >= 1.

    Example:
        >>> manager = BudgetManager(budget=0.5, window=4).reset()
        >>> decisions = []
        >>> for _ in range(8):  # a selector that wants every item
        ...     decisions.append(manager.allows())
        ...     manager.record(decisions[-1])
        >>> "".join("Q" if d else "." for d in decisions)
        'QQ.Q.Q.Q'
    """

    n_seen_: int = field(init=False)
    spent_: int = field(init=False)
    credit_: float = field(init=False)
    window_spent_: int = field(init=False)

    def reset(self) -> Self:
        """Check the parameters and forget every decision: empty window, credit 1.

        Returns:
            This manager.

        Raises:
            InvalidParameterError: If ``budget`` or ``window`` is out of range.
        """
        params = self.check_params()
        budget: float = params["budget"]
        window: int = params["window"]
        self._earning = budget
        self._window_cap = math.floor(budget * window + _EPS) + 1
        self._max_credit = max(1.0, budget * window)
        self._recent: deque[bool] = deque(maxlen=window - 1)
        self.n_seen_ = 0
        self.spent_ = 0
        self.credit_ = 1.0
        self.window_spent_ = 0
        return self

    @property
    def share_(self) -> float:
        """Share of recorded decisions that were queries; 0.0 before the first."""
        return self.spent_ / self.n_seen_ if self.n_seen_ else 0.0

    def allows(self) -> bool:
        """Say whether the next item may be queried without exceeding the budget.

        Returns:
            True if querying the next item keeps both the window and the credit rule.
        """
        if not hasattr(self, "n_seen_"):
            self.reset()
        if self.window_spent_ + 1 > self._window_cap:
            return False
        return self._credit_after_earning() >= 1.0 - _EPS

    def record(self, queried: bool) -> None:
        """Record one decision and charge it against the budget.

        A query that :meth:`allows` refused (say, one a person asked for) is charged
        all the same: credit goes negative and later queries wait until it recovers,
        though the window that holds it may then exceed the budget.

        Args:
            queried: Whether the item was sent for labeling.
        """
        if not hasattr(self, "n_seen_"):
            self.reset()
        queried = bool(queried)
        self.credit_ = self._credit_after_earning() - queried
        recent = self._recent
        if recent.maxlen:
            if len(recent) == recent.maxlen:
                self.window_spent_ -= recent[0]
            recent.append(queried)
            self.window_spent_ += queried
        self.n_seen_ += 1
        self.spent_ += queried

    def _credit_after_earning(self) -> float:
        return min(self.credit_ + self._earning, self._max_credit)
