"""Users, their roles, and their credentials: browser sessions and API tokens.

Only a SHA-256 of each credential's secret is stored, so a copy of the
database does not let anyone sign in. Password hashing is the server's job;
the store keeps the hash it is given.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from labelloop.errors import LabelloopError
from labelloop.store._events import aware, to_record
from labelloop.store.database import StorePart
from labelloop.store.schema import CredentialRow, UserRow, utcnow

__all__ = [
    "ROLES",
    "CredentialKind",
    "InvalidAccountError",
    "LastAdminError",
    "People",
    "Role",
    "TokenInfo",
    "TokenNotFoundError",
    "User",
    "UserExistsError",
    "UserNotFoundError",
]

Role = Literal["admin", "reviewer", "annotator"]
ROLES: tuple[Role, ...] = ("admin", "reviewer", "annotator")
CredentialKind = Literal["session", "token"]
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,100}$")


class UserExistsError(LabelloopError, ValueError):
    """A user with that name already exists."""


class UserNotFoundError(LabelloopError, LookupError):
    """No user has that name."""


class TokenNotFoundError(LabelloopError, LookupError):
    """The user has no API token with that id."""


class InvalidAccountError(LabelloopError, ValueError):
    """A username, role or account change the store does not accept."""


class LastAdminError(LabelloopError, ValueError):
    """The change would leave the project without an active admin."""


@dataclass(frozen=True)
class TokenInfo:
    """An API token as its owner sees it later: its name and dates, never its secret."""

    id: int
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class User:
    """A person's account; ``password_hash`` is never sent anywhere."""

    id: int
    username: str
    role: Role
    active: bool
    password_hash: str

    def can(self, needed: Role) -> bool:
        """Whether this user's role includes ``needed``: admin ⊇ reviewer ⊇ annotator."""
        return self.active and ROLES.index(self.role) <= ROLES.index(needed)


def _user(row: UserRow) -> User:
    return to_record(User, row)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class People(StorePart):
    """Accounts and credentials, on the store's session factories."""

    def create_user(self, username: str, password_hash: str, role: Role) -> User:
        """Add an account; names are 1 to 100 of letters, digits and ``_.@-``."""
        if not _USERNAME.match(username):
            raise InvalidAccountError(
                f"invalid username {username!r}: use 1-100 letters, digits, '_', '.', '@' or '-'"
            )
        if role not in ROLES:
            raise InvalidAccountError(f"unknown role {role!r}; choose one of {list(ROLES)}")
        try:
            with self._db.write() as s:
                row = UserRow(username=username, password_hash=password_hash, role=role)
                s.add(row)
                s.flush()
                return _user(row)
        except IntegrityError as exc:
            raise UserExistsError(f"a user named {username!r} already exists") from exc

    def user(self, username: str) -> User:
        """The account called ``username``."""
        with self._db.read() as s:
            row = s.scalars(select(UserRow).where(UserRow.username == username)).one_or_none()
            if row is None:
                raise UserNotFoundError(f"no user named {username!r}")
            return _user(row)

    def users(self) -> list[User]:
        """Every account, by id."""
        with self._db.read() as s:
            return [_user(r) for r in s.scalars(select(UserRow).order_by(UserRow.id))]

    def update_user(self, username: str, **changes: Any) -> User:
        """Change ``role``, ``active`` or ``password_hash`` of an account."""
        allowed = {"role", "active", "password_hash"}
        if not set(changes) <= allowed:
            raise InvalidAccountError(
                f"can change only {sorted(allowed)}, not {sorted(set(changes))}"
            )
        if "role" in changes and changes["role"] not in ROLES:
            raise InvalidAccountError(
                f"unknown role {changes['role']!r}; choose one of {list(ROLES)}"
            )
        with self._db.write() as s:
            row = s.scalars(select(UserRow).where(UserRow.username == username)).one_or_none()
            if row is None:
                raise UserNotFoundError(f"no user named {username!r}")
            demoted = "role" in changes and changes["role"] != "admin"
            disabled = changes.get("active") is False
            if row.role == "admin" and row.active and (demoted or disabled):
                admins = s.scalar(
                    select(func.count()).where(UserRow.role == "admin", UserRow.active.is_(True))
                )
                if (admins or 0) <= 1:
                    raise LastAdminError(
                        f"{username} is the last active admin; make another admin first"
                    )
            for key, value in changes.items():
                setattr(row, key, value)
            if changes.get("active") is False or "password_hash" in changes:
                for cred in s.scalars(select(CredentialRow).where(CredentialRow.user_id == row.id)):
                    cred.revoked_at = cred.revoked_at or utcnow()
            return _user(row)

    def issue(
        self,
        user_id: int,
        kind: CredentialKind,
        *,
        name: str | None = None,
        ttl: timedelta | None = None,
    ) -> tuple[str, str | None]:
        """Create a credential; returns its secret (shown once) and, for sessions, a CSRF token."""
        secret = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24) if kind == "session" else None
        with self._db.write() as s:
            s.add(
                CredentialRow(
                    user_id=user_id,
                    kind=kind,
                    secret_hash=_digest(secret),
                    name=name,
                    csrf_token=csrf,
                    expires_at=None if ttl is None else utcnow() + ttl,
                )
            )
        return secret, csrf

    def resolve(self, secret: str, kind: CredentialKind) -> tuple[User, str | None] | None:
        """The active user a live credential belongs to, and its CSRF token; None otherwise."""
        with self._db.read() as s:
            found = s.execute(
                select(CredentialRow, UserRow)
                .join(UserRow, UserRow.id == CredentialRow.user_id)
                .where(CredentialRow.secret_hash == _digest(secret), CredentialRow.kind == kind)
            ).one_or_none()
            if found is None:
                return None
            cred, user = found
            expired = cred.expires_at is not None and aware(cred.expires_at) <= utcnow()
            if cred.revoked_at is not None or expired or not user.active:
                return None
            return _user(user), cred.csrf_token

    def tokens(self, user_id: int) -> list[TokenInfo]:
        """A user's API tokens, newest first (their secrets are not stored)."""
        with self._db.read() as s:
            rows = s.scalars(
                select(CredentialRow)
                .where(CredentialRow.user_id == user_id, CredentialRow.kind == "token")
                .order_by(CredentialRow.id.desc())
            )
            return [to_record(TokenInfo, r) for r in rows]

    def revoke_token(self, user_id: int, token_id: int) -> None:
        """Withdraw one of a user's API tokens by its id; :class:`TokenNotFoundError` if none."""
        with self._db.write() as s:
            cred = s.get(CredentialRow, token_id)
            if cred is None or cred.user_id != user_id or cred.kind != "token":
                raise TokenNotFoundError(f"no API token {token_id} for this user")
            cred.revoked_at = cred.revoked_at or utcnow()

    def revoke(self, secret: str) -> None:
        """End a credential now (logging out, or withdrawing a token)."""
        with self._db.write() as s:
            cred = s.scalars(
                select(CredentialRow).where(CredentialRow.secret_hash == _digest(secret))
            ).one_or_none()
            if cred is not None and cred.revoked_at is None:
                cred.revoked_at = utcnow()
