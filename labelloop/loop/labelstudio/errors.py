"""The one error the Label Studio bridge raises."""

from __future__ import annotations

from labelloop.errors import LabelloopError

__all__ = ["LabelStudioError"]


class LabelStudioError(LabelloopError, ValueError):
    """Label Studio sent something labelloop cannot use, or could not be reached."""
