"""Errors raised by stream selectors for a malformed item.

Bad constructor parameters raise
:class:`~labelloop.strategies.errors.InvalidParameterError` and unknown names
:class:`~labelloop.strategies.errors.UnknownStrategyError`, as for pool strategies.
"""

from labelloop.errors import LabelloopError

__all__ = ["StreamInputError"]


class StreamInputError(LabelloopError, ValueError):
    """An item given to a stream selector is malformed.

    Raised when ``probs`` has the wrong shape or leaves [0, 1], when ``confidence``
    is not a number in [0, 1], or when neither or both of them are given.
    """
