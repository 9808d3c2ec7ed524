"""Errors raised by query strategies.

Each one subclasses :class:`ValueError` (and :class:`~labelloop.errors.LabelloopError`),
so callers may catch either, and its message says what to change.
"""

from labelloop.errors import LabelloopError

__all__ = [
    "InvalidParameterError",
    "MissingPoolFieldError",
    "PoolShapeError",
    "UnknownStrategyError",
]


class PoolShapeError(LabelloopError, ValueError):
    """A :class:`~labelloop.strategies.base.Pool` array has the wrong shape, dtype or values."""


class MissingPoolFieldError(LabelloopError, ValueError):
    """A strategy needs a pool field (``probs``, ``samples``, ...) that is ``None``."""


class UnknownStrategyError(LabelloopError, ValueError):
    """No strategy is registered under the requested name."""


class InvalidParameterError(LabelloopError, ValueError):
    """A strategy parameter or a ``select`` argument is out of its allowed range."""
