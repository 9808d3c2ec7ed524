"""Passwords, credentials, roles and CSRF: who is asking, and may they.

Browser sessions travel in an HttpOnly cookie; every unsafe request made with
that cookie must repeat the session's CSRF token in the ``X-CSRF-Token``
header, which a page of another origin cannot read. Scripts use API tokens in
``Authorization: Bearer …`` and need no CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request, status

from labelloop.server.deps import store_of
from labelloop.store import Role, User

__all__ = [
    "SESSION_COOKIE",
    "Caller",
    "caller",
    "hash_password",
    "require",
    "verify_password",
]

SESSION_COOKIE = "labelloop_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_hasher = PasswordHasher()
# Verifying against a real hash when the user does not exist keeps the time a
# failed login takes the same whether or not the name is known.
_DUMMY_HASH = _hasher.hash("labelloop: no such user")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (None: check a dummy, return False)."""
    try:
        ok = _hasher.verify(stored_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return ok and stored_hash is not None


@dataclass(frozen=True)
class Caller:
    """The authenticated user making a request, and how they authenticated."""

    user: User
    via: str
    csrf_token: str | None = None


def caller(request: Request) -> Caller:
    """Resolve the request's credentials; 401 when there are none or they are not valid."""
    store = store_of(request)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        found = store.people.resolve(header[7:].strip(), "token")
        if found is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or revoked API token")
        return Caller(found[0], "token")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = store.people.resolve(cookie, "session")
        if found is not None:
            user, csrf = found
            if request.method not in _SAFE_METHODS and request.headers.get("x-csrf-token") != csrf:
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    "missing or wrong X-CSRF-Token header for a cookie-authenticated request",
                )
            return Caller(user, "session", csrf)
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "not signed in: log in at /login or send Authorization: Bearer <token>",
    )


def require(role: Role) -> Callable[[Caller], Caller]:
    """A dependency that lets through users whose role includes ``role``; 403 otherwise."""

    def check(who: Annotated[Caller, Depends(caller)]) -> Caller:
        if not who.user.can(role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs the {role} role; {who.user.username} is {who.user.role}",
            )
        return who

    return check
