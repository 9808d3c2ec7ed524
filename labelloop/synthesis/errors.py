"""Errors raised by :mod:`labelloop.synthesis`.

Each one subclasses :class:`ValueError` (and :class:`~labelloop.errors.LabelloopError`),
so callers may catch either, and its message says what to change.
"""

from labelloop.errors import LabelloopError

__all__ = [
    "InvalidParamsError",
    "SynthesisError",
    "SynthesisInputError",
    "UnknownTransformError",
]


class SynthesisError(LabelloopError):
    """Base class of the errors raised by :mod:`labelloop.synthesis`."""


class UnknownTransformError(SynthesisError, ValueError):
    """No transform is registered under the requested name."""


class InvalidParamsError(SynthesisError, ValueError):
    """Recorded transform parameters are missing, of the wrong type, or do not fit the image."""


class SynthesisInputError(SynthesisError, ValueError):
    """Images, source ids, probabilities or a count passed in have the wrong shape or value."""
