"""Build a stream selector from its name, as configuration files spell it."""

import inspect
from collections.abc import Callable
from typing import Any, Literal

from labelloop.strategies.errors import InvalidParameterError, UnknownStrategyError
from labelloop.strategies.stream.base import StreamSelector
from labelloop.strategies.stream.random import RandomStreamSelector
from labelloop.strategies.stream.split import SplitSelector
from labelloop.strategies.stream.uncertainty import (
    FixedThresholdSelector,
    RandomizedVariableUncertaintySelector,
    VariableUncertaintySelector,
)

__all__ = ["STREAM_SELECTOR_NAMES", "StreamSelectorName", "make_stream_selector"]

#: The names :func:`make_stream_selector` accepts, for typed configuration fields.
StreamSelectorName = Literal[
    "fixed_threshold",
    "random",
    "randomized_variable_uncertainty",
    "split",
    "variable_uncertainty",
]

# To add a selector, list its class here and its name in StreamSelectorName.
_SELECTORS: dict[str, type[StreamSelector]] = {
    cls.name: cls
    for cls in (
        FixedThresholdSelector,
        RandomStreamSelector,
        RandomizedVariableUncertaintySelector,
        SplitSelector,
        VariableUncertaintySelector,
    )
}

#: Every registered stream selector name, sorted.
STREAM_SELECTOR_NAMES: tuple[str, ...] = tuple(sorted(_SELECTORS))


def make_stream_selector(
    name: str, *, budget: float, random_state: int | None = None, **params: Any
) -> StreamSelector:
    """Build the stream selector registered under ``name``, checked and ready.

    Args:
        name: One of :data:`STREAM_SELECTOR_NAMES`, e.g. ``"variable_uncertainty"``.
        budget: Share of items that may be queried, in (0, 1].
        random_state: Seed passed to selectors that draw at random; deterministic
            selectors ignore it.
        **params: The selector's other parameters, e.g. ``window=100`` or
            ``threshold=0.8``; each class documents its own.

    Returns:
        A new selector, already :meth:`~StreamSelector.reset`, so a bad parameter
        fails here rather than at the first item.

    Raises:
        UnknownStrategyError: If no selector has that name.
        InvalidParameterError: If the selector takes no parameter of a given name,
            or a value is out of range.

    Example:
        >>> make_stream_selector("fixed_threshold", budget=0.1, threshold=0.8)
        FixedThresholdSelector(budget=0.1, threshold=0.8, window=100)
    """
    try:
        cls = _SELECTORS[name]
    except KeyError:
        raise UnknownStrategyError(
            f"unknown stream selector {name!r}; choose one of: {', '.join(STREAM_SELECTOR_NAMES)}."
        ) from None
    accepted = inspect.signature(cls).parameters
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        others = [p for p in accepted if p not in ("budget", "random_state")]
        raise InvalidParameterError(
            f"stream selector {name!r} takes no parameter {', '.join(map(repr, unknown))}; "
            f"besides budget and random_state it takes: {', '.join(others)}."
        )
    if "random_state" in accepted:
        params["random_state"] = random_state
    factory: Callable[..., StreamSelector] = cls
    return factory(budget=budget, **params).reset()
