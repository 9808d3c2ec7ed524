"""The error the project-level monitor raises."""

from labelloop.errors import LabelloopError

__all__ = ["MonitorInputError"]


class MonitorInputError(LabelloopError, ValueError):
    """The monitor was given something it cannot check (no labels, a bad metadata file)."""
