"""Signing in and out, accounts, and API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status

from labelloop.server.deps import store_of
from labelloop.server.schemas import (
    LoginIn,
    PathId,
    SessionOut,
    TokenIn,
    TokenInfoOut,
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


@router.get("/auth/setup")
def setup(request: Request) -> dict[str, bool]:
    """Whether any account exists (the login page says how to add the first one)."""
    return {"has_accounts": bool(store_of(request).people.users())}


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, response: Response, who: Annotated[Caller, Depends(caller)]) -> None:
    """End the browser session, or withdraw the API token the request presents."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        store_of(request).people.revoke(cookie)
    header = request.headers.get("authorization", "")
    if who.via == "token" and header.lower().startswith("bearer "):
        store_of(request).people.revoke(header[7:].strip())
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
    people = store_of(request).people
    secret, _ = people.issue(
        who.user.id, "token", name=body.name, ttl=timedelta(days=body.expires_in_days)
    )
    made = people.tokens(who.user.id)[0]
    return TokenOut(id=made.id, name=body.name, token=secret, expires_at=made.expires_at)


@router.get("/tokens")
def list_tokens(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    user: Annotated[str | None, Query(max_length=100)] = None,
) -> list[TokenInfoOut]:
    """The caller's API tokens (an admin may ask for another user's with ``?user=``)."""
    owner = _token_owner(request, who, user)
    return [TokenInfoOut(**vars(t)) for t in store_of(request).people.tokens(owner)]


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(
    token_id: PathId,
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    user: Annotated[str | None, Query(max_length=100)] = None,
) -> None:
    """Withdraw one of the caller's API tokens (an admin: anyone's, with ``?user=``)."""
    store_of(request).people.revoke_token(_token_owner(request, who, user), token_id)


def _token_owner(request: Request, who: Caller, user: str | None) -> int:
    if user is None or user == who.user.username:
        return who.user.id
    if not who.user.can("admin"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only an admin sees others' tokens")
    return store_of(request).people.user(user).id


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
