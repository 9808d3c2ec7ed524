"""Exception base classes shared by every labelloop package.

Each error subclasses a built-in so callers can catch it the usual way, and its
message says what was wrong and what to do instead.
"""

__all__ = ["LabelloopError"]


class LabelloopError(Exception):
    """Base class of every error labelloop raises on purpose."""
