"""Stream-based selective sampling: decide on each item as it arrives, label or pass.

Build a selector by name with :func:`make_stream_selector` and call
``selector.decide(probs)`` (or ``decide(confidence=...)``) on each item; every
selector spends from a :class:`BudgetManager` that holds the queried share at
``budget``. :func:`simulate_stream` runs a selector over a recorded stream.

Example:
    >>> import numpy as np
    >>> selector = make_stream_selector("variable_uncertainty", budget=0.1, window=100)
    >>> probs = np.random.default_rng(0).dirichlet(np.ones(3), size=10_000)
    >>> round(float(simulate_stream(selector, probs).mean()), 2)
    0.1
"""

from labelloop.strategies.errors import InvalidParameterError, UnknownStrategyError
from labelloop.strategies.registry import (
    STREAM_SELECTOR_NAMES,
    STREAM_SELECTORS,
    make_stream_selector,
)
from labelloop.strategies.stream.base import StreamSelector, item_confidences
from labelloop.strategies.stream.budget import BudgetManager
from labelloop.strategies.stream.errors import StreamInputError
from labelloop.strategies.stream.random import RandomStreamSelector
from labelloop.strategies.stream.simulate import simulate_stream
from labelloop.strategies.stream.split import SplitSelector
from labelloop.strategies.stream.uncertainty import (
    FixedThresholdSelector,
    RandomizedVariableUncertaintySelector,
    VariableUncertaintySelector,
)

__all__ = [
    "STREAM_SELECTORS",
    "STREAM_SELECTOR_NAMES",
    "BudgetManager",
    "FixedThresholdSelector",
    "InvalidParameterError",
    "RandomStreamSelector",
    "RandomizedVariableUncertaintySelector",
    "SplitSelector",
    "StreamInputError",
    "StreamSelector",
    "UnknownStrategyError",
    "VariableUncertaintySelector",
    "item_confidences",
    "make_stream_selector",
    "simulate_stream",
]
