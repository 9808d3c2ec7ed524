"""Accounts, roles and credentials of labelloop.store.people, straight against the store."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import text

from labelloop.store import (
    InvalidAccountError,
    LastAdminError,
    People,
    Store,
    TokenNotFoundError,
    User,
    UserExistsError,
    UserNotFoundError,
)


@pytest.fixture
def people(store: Store) -> People:
    return store.people


def test_a_created_user_is_found_by_name_and_listed_by_id(people: People) -> None:
    ann = people.create_user("ann", "hash-a", "annotator")
    bob = people.create_user("bob.b@x-y_z", "hash-b", "admin")
    assert people.user("ann") == ann
    assert (ann.username, ann.role, ann.active, ann.password_hash) == (
        "ann",
        "annotator",
        True,
        "hash-a",
    )
    assert [u.username for u in people.users()] == ["ann", "bob.b@x-y_z"]
    assert bob.id > ann.id


@pytest.mark.parametrize("name", ["", "has space", "x" * 101, "semi;colon"])
def test_bad_usernames_are_refused_with_the_rule(people: People, name: str) -> None:
    with pytest.raises(InvalidAccountError, match="1-100 letters"):
        people.create_user(name, "h", "annotator")
    assert people.users() == []


def test_unknown_roles_are_refused_naming_the_choices(people: People) -> None:
    with pytest.raises(InvalidAccountError, match=r"choose one of \['admin'"):
        people.create_user("ann", "h", "owner")  # type: ignore[arg-type]
    people.create_user("ann", "h", "annotator")
    with pytest.raises(InvalidAccountError, match="unknown role 'owner'"):
        people.update_user("ann", role="owner")


def test_a_second_user_of_the_same_name_is_refused(people: People) -> None:
    people.create_user("ann", "h", "annotator")
    with pytest.raises(UserExistsError, match="'ann' already exists"):
        people.create_user("ann", "other", "admin")
    assert people.user("ann").password_hash == "h"


def test_unknown_users_raise_not_found(people: People) -> None:
    with pytest.raises(UserNotFoundError, match="no user named 'ghost'"):
        people.user("ghost")
    with pytest.raises(UserNotFoundError, match="'ghost'"):
        people.update_user("ghost", active=False)


def test_update_changes_only_the_allowed_fields(people: People) -> None:
    people.create_user("ann", "h", "annotator")
    changed = people.update_user("ann", role="reviewer", password_hash="h2")
    assert (changed.role, changed.password_hash) == ("reviewer", "h2")
    assert people.user("ann") == changed
    with pytest.raises(InvalidAccountError, match="can change only"):
        people.update_user("ann", name="eve")
    assert people.user("ann").username == "ann"


def test_the_last_active_admin_can_be_neither_demoted_nor_disabled(people: People) -> None:
    people.create_user("root", "h", "admin")
    with pytest.raises(LastAdminError, match="root is the last active admin"):
        people.update_user("root", role="reviewer")
    with pytest.raises(LastAdminError):
        people.update_user("root", active=False)
    assert people.user("root").can("admin")
    people.create_user("second", "h", "admin")
    assert people.update_user("root", active=False).active is False
    with pytest.raises(LastAdminError, match="second"):
        people.update_user("second", role="annotator")


def test_roles_include_the_lesser_ones_and_inactive_users_can_nothing() -> None:
    def user(role: str, active: bool = True) -> User:
        return User(id=1, username="u", role=role, active=active, password_hash="")  # type: ignore[arg-type]

    assert [user("admin").can(r) for r in ("admin", "reviewer", "annotator")] == [True] * 3
    assert [user("reviewer").can(r) for r in ("admin", "reviewer", "annotator")] == [
        False,
        True,
        True,
    ]
    assert [user("annotator").can(r) for r in ("admin", "reviewer", "annotator")] == [
        False,
        False,
        True,
    ]
    assert not user("admin", active=False).can("annotator")


def test_a_session_resolves_to_its_user_and_csrf_token(people: People) -> None:
    ann = people.create_user("ann", "h", "annotator")
    secret, csrf = people.issue(ann.id, "session")
    assert csrf is not None
    assert people.resolve(secret, "session") == (ann, csrf)
    # A secret is valid only as the kind it was issued as.
    assert people.resolve(secret, "token") is None
    assert people.resolve("not-a-secret", "session") is None


def test_only_a_digest_of_each_secret_is_stored(store: Store, people: People) -> None:
    ann = people.create_user("ann", "h", "annotator")
    secret, _ = people.issue(ann.id, "token", name="ci")
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT secret_hash FROM credentials")).scalars().all()
    assert stored == [hashlib.sha256(secret.encode()).hexdigest()]


def test_expired_and_revoked_credentials_resolve_to_nobody(people: People) -> None:
    ann = people.create_user("ann", "h", "annotator")
    expired, _ = people.issue(ann.id, "session", ttl=timedelta(seconds=-1))
    live, _ = people.issue(ann.id, "session", ttl=timedelta(hours=1))
    assert people.resolve(expired, "session") is None
    assert people.resolve(live, "session") is not None
    people.revoke(live)
    assert people.resolve(live, "session") is None
    people.revoke("never-issued")  # ending an unknown credential is not an error


def test_disabling_a_user_or_changing_the_password_ends_their_credentials(
    people: People,
) -> None:
    people.create_user("root", "h", "admin")
    ann = people.create_user("ann", "h", "annotator")
    token, csrf = people.issue(ann.id, "token")
    assert csrf is None
    people.update_user("ann", password_hash="new")
    assert people.resolve(token, "token") is None
    session, _ = people.issue(ann.id, "session")
    people.update_user("ann", active=False)
    assert people.resolve(session, "session") is None
    # A credential issued while disabled does not sign in either.
    later, _ = people.issue(ann.id, "session")
    assert people.resolve(later, "session") is None
    people.update_user("ann", active=True)
    assert people.resolve(later, "session") is not None


def test_tokens_are_listed_newest_first_and_revoked_by_id(people: People) -> None:
    ann = people.create_user("ann", "h", "annotator")
    bob = people.create_user("bob", "h", "annotator")
    first, _ = people.issue(ann.id, "token", name="laptop")
    people.issue(ann.id, "token", name="ci", ttl=timedelta(days=1))
    people.issue(ann.id, "session")
    tokens = people.tokens(ann.id)
    assert [t.name for t in tokens] == ["ci", "laptop"]
    assert tokens[0].expires_at is not None and tokens[1].expires_at is None
    assert all(t.revoked_at is None and t.created_at.utcoffset() is not None for t in tokens)
    with pytest.raises(TokenNotFoundError, match=f"no API token {tokens[1].id}"):
        people.revoke_token(bob.id, tokens[1].id)
    assert people.resolve(first, "token") is not None
    people.revoke_token(ann.id, tokens[1].id)
    assert people.resolve(first, "token") is None
    assert people.tokens(ann.id)[1].revoked_at is not None
    assert people.tokens(bob.id) == []
