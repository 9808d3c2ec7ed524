"""Signing in and out, accounts, and API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from labelloop.server.deps import store_of
from labelloop.server.schemas import (
    LoginIn,
    SessionOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
)
from labelloop.server.security import (
    SESSION_COOKIE,
    Caller,
    caller,
    hash_password,
    require,
    verify_password,
)
from labelloop.server.throttle import LoginThrottle
from labelloop.store import UserNotFoundError

router = APIRouter(prefix="/api", tags=["auth"])
SESSION_TTL = timedelta(hours=12)


@router.post("/auth/login")
def login(body: LoginIn, request: Request, response: Response) -> SessionOut:
    """Start a browser session: sets an HttpOnly cookie, returns the CSRF token."""
    store = store_of(request)
    throttle: LoginThrottle = request.app.state.login_throttle
    address = request.client.host if request.client is not None else "unknown"
    wait = throttle.retry_after(body.username, address)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed logins; try again in {wait:.0f} s",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    try:
        user = store.people.user(body.username)
    except UserNotFoundError:
        user = None
    if not verify_password(None if user is None else user.password_hash, body.password):
        throttle.failed(body.username, address)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    assert user is not None  # verify_password is False for a missing user
    throttle.succeeded(body.username)
    if not user.active:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"the account {user.username} is disabled")
    secret, csrf = store.people.issue(user.id, "session", ttl=SESSION_TTL)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.app.state.secure_cookies,
        path="/",
    )
    return SessionOut(user=UserOut.of(user), csrf_token=csrf)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, response: Response, who: Annotated[Caller, Depends(caller)]) -> None:
    """End the browser session."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        store_of(request).people.revoke(cookie)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/auth/me")
def me(who: Annotated[Caller, Depends(caller)]) -> SessionOut:
    """The signed-in user, and the session's CSRF token."""
    return SessionOut(user=UserOut.of(who.user), csrf_token=who.csrf_token)


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def create_token(
    body: TokenIn, request: Request, who: Annotated[Caller, Depends(caller)]
) -> TokenOut:
    """A new API token for the caller; the secret is returned this once."""
    secret, _ = store_of(request).people.issue(who.user.id, "token", name=body.name)
    return TokenOut(name=body.name, token=secret)


@router.get("/users")
def list_users(
    request: Request, who: Annotated[Caller, Depends(require("admin"))]
) -> list[UserOut]:
    """Every account (admin)."""
    return [UserOut.of(u) for u in store_of(request).people.users()]


@router.post("/users", status_code=status.HTTP_201_CREATED)
def create_user(
    body: UserIn, request: Request, who: Annotated[Caller, Depends(require("admin"))]
) -> UserOut:
    """Add an account (admin)."""
    user = store_of(request).people.create_user(
        body.username, hash_password(body.password), body.role
    )
    return UserOut.of(user)


@router.patch("/users/{username}")
def update_user(
    username: str,
    body: UserPatch,
    request: Request,
    who: Annotated[Caller, Depends(require("admin"))],
) -> UserOut:
    """Change an account's role, password, or whether it is active (admin)."""
    changes: dict[str, object] = {}
    if body.role is not None:
        changes["role"] = body.role
    if body.active is not None:
        changes["active"] = body.active
    if body.password is not None:
        changes["password_hash"] = hash_password(body.password)
    return UserOut.of(store_of(request).people.update_user(username, **changes))
