"""Run a stream selector over a recorded stream, as the simulation loop does."""

from collections.abc import Iterable
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from labelloop.strategies.stream.base import StreamSelector, item_confidences
from labelloop.strategies.stream.errors import StreamInputError

__all__ = ["simulate_stream"]


def simulate_stream(
    selector: StreamSelector,
    probs: Iterable[ArrayLike] | None = None,
    *,
    confidences: Iterable[float] | None = None,
    restart: bool = True,
) -> NDArray[np.bool_]:
    """Feed a stream to ``selector`` item by item and collect its decisions.

    Pass exactly one of ``probs`` or ``confidences``. A 2-D ``probs`` array is
    checked once, up front; any other iterable is checked item by item, as
    :meth:`~labelloop.strategies.stream.base.StreamSelector.decide` checks it, so a
    generator may stream items that do not fit in memory.

    Args:
        selector: The selector to run; it keeps its state afterwards, so its
            counters and budget manager describe the run.
        probs: ``(n_items, n_classes)`` array, or an iterable of ``(n_classes,)``
            arrays, the items' class probabilities in arrival order.
        confidences: ``(n_items,)`` the items' confidences in [0, 1], in arrival order.
        restart: Reset the selector first, so that the decisions depend only on the
            stream and the seed; False continues a stream already under way.

    Returns:
        ``(n_items,)`` bool, True where the item was queried.

    Raises:
        StreamInputError: If neither or both are given, or an item is malformed.
        InvalidParameterError: If a selector parameter is out of range.

    Example:
        >>> from labelloop.strategies.stream import make_stream_selector
        >>> selector = make_stream_selector("fixed_threshold", budget=1.0, threshold=0.7)
        >>> simulate_stream(selector, np.array([[0.9, 0.1], [0.6, 0.4]])).tolist()
        [False, True]
    """
    if (probs is None) == (confidences is None):
        given = "neither" if probs is None else "both"
        raise StreamInputError(
            f"pass exactly one of probs (class probabilities per item) or confidences "
            f"(one number in [0, 1] per item); got {given}."
        )
    if restart:
        selector.reset()
    decisions: Iterable[bool]
    if confidences is not None:
        decisions = (selector.decide(confidence=value) for value in confidences)
    elif isinstance(probs, np.ndarray):
        values: list[Any] = item_confidences(probs).tolist()
        decisions = (selector.decide(confidence=value) for value in values)
    else:
        items = cast(Iterable[ArrayLike], probs)  # not None: checked above
        decisions = (selector.decide(item) for item in items)
    return np.fromiter(decisions, dtype=np.bool_)
