"""Error answers in the shape the API declares.

FastAPI declares every 422 as a list of ``{"loc", "msg", "type"}`` entries
(its validation-error schema); a 422 raised by hand, or mapped from a
labelloop error, uses the same shape so a client reads one format.
"""

from __future__ import annotations

from fastapi import HTTPException, status

__all__ = ["unprocessable", "validation_detail"]


def validation_detail(message: str, *loc: str | int) -> list[dict[str, object]]:
    """One validation error, located at ``loc`` (e.g. ``"body"``, ``"query", "kind"``)."""
    return [{"loc": list(loc or ("body",)), "msg": message, "type": "value_error"}]


def unprocessable(message: str, *loc: str | int) -> HTTPException:
    """A 422 saying what is wrong with the request, and where."""
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT, detail=validation_detail(message, *loc)
    )
