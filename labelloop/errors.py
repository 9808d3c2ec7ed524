"""Exception base classes shared by every labelloop package.

Each error subclasses a built-in so callers can catch it the usual way, and its
message says what was wrong and what to do instead.
"""

import errno

__all__ = ["LabelloopError", "storage_problem"]

_FULL = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up"}
_READ_ONLY = {errno.EROFS: "the disk is read-only"}


class LabelloopError(Exception):
    """Base class of every error labelloop raises on purpose."""


def storage_problem(exc: BaseException) -> str | None:
    """What is wrong with the storage when ``exc`` comes from a full or read-only disk.

    Recognises ``OSError`` (``ENOSPC``, ``EDQUOT``, ``EROFS``) and the database
    drivers' own words for it (SQLite's "database or disk is full", "disk I/O
    error", "attempt to write a readonly database"; PostgreSQL's "No space left
    on device"),
    also when wrapped by SQLAlchemy. None for anything else.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (_FULL | _READ_ONLY):
            where = f" ({current.filename})" if current.filename else ""
            return f"{(_FULL | _READ_ONLY)[current.errno]}{where}"
        text = str(current).lower()
        if "database or disk is full" in text or "no space left on device" in text:
            return "the disk is full"
        if "readonly database" in text or "read-only file system" in text:
            return "the disk is read-only"
        if "disk i/o error" in text:  # SQLite, when its journal cannot grow
            return "the disk could not be written (is it full?)"
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return None
