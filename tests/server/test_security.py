"""labelloop.server.security: password hashes, who a request is, and what their role allows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from starlette.requests import Request

from labelloop.server.app import create_app
from labelloop.server.deps import store_of
from labelloop.server.security import (
    SESSION_COOKIE,
    Caller,
    caller,
    hash_password,
    require,
    verify_password,
)
from labelloop.store import Store
from tests.server.conftest import make_project, request_to


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One small project for the module: these tests only add credentials."""
    root = make_project(tmp_path_factory.mktemp("security") / "proj", per_class=1)
    with TestClient(create_app(root, start_training=False)) as client:
        yield client


def _request(client: TestClient, method: str = "GET", **headers: str) -> Request:
    return request_to(client.app, method, **headers)  # type: ignore[arg-type]


def _store(client: TestClient) -> Store:
    return store_of(_request(client))


def test_a_password_matches_only_its_own_hash() -> None:
    stored = hash_password("s3cret words")
    assert stored != "s3cret words" and stored.startswith("$argon2id$")
    assert hash_password("s3cret words") != stored  # salted
    assert verify_password(stored, "s3cret words")
    assert not verify_password(stored, "s3cret word")


def test_a_missing_user_or_a_broken_hash_never_verifies() -> None:
    assert not verify_password(None, "labelloop: no such user")
    assert not verify_password(None, "anything")
    assert not verify_password("not a hash", "anything")


def test_a_bearer_token_names_its_user_and_needs_no_csrf(app_client: TestClient) -> None:
    store = _store(app_client)
    ann = store.people.user("ann")
    secret, _ = store.people.issue(ann.id, "token", name="script")
    who = caller(_request(app_client, "POST", authorization=f"Bearer {secret}"))
    assert (who.user.username, who.via, who.csrf_token) == ("ann", "token", None)
    store.people.revoke(secret)
    with pytest.raises(HTTPException) as refused:
        caller(_request(app_client, authorization=f"bearer {secret}"))
    assert refused.value.status_code == 401 and "revoked" in refused.value.detail


def test_a_session_cookie_needs_its_csrf_token_on_unsafe_methods(app_client: TestClient) -> None:
    store = _store(app_client)
    secret, csrf = store.people.issue(store.people.user("rita").id, "session")
    cookie = f"{SESSION_COOKIE}={secret}"
    read = caller(_request(app_client, "GET", cookie=cookie))
    assert (read.user.username, read.via, read.csrf_token) == ("rita", "session", csrf)
    assert caller(_request(app_client, "POST", cookie=cookie, x_csrf_token=str(csrf))).user
    for headers in ({}, {"x_csrf_token": "forged"}):
        with pytest.raises(HTTPException) as refused:
            caller(_request(app_client, "POST", cookie=cookie, **headers))
        assert refused.value.status_code == 403 and "X-CSRF-Token" in refused.value.detail


@pytest.mark.parametrize(
    "headers",
    [{}, {"cookie": f"{SESSION_COOKIE}=made-up"}, {"authorization": "Basic YTpi"}],
    ids=["nothing", "unknown-cookie", "other-scheme"],
)
def test_no_valid_credential_is_a_401_that_says_how_to_sign_in(
    app_client: TestClient, headers: dict[str, str]
) -> None:
    with pytest.raises(HTTPException) as refused:
        caller(_request(app_client, **headers))
    assert refused.value.status_code == 401 and "/login" in refused.value.detail


def test_require_lets_through_roles_that_include_the_one_needed(app_client: TestClient) -> None:
    people = _store(app_client).people
    admin, rita, ann = (Caller(people.user(n), "token") for n in ("admin", "rita", "ann"))
    needs_reviewer = require("reviewer")
    assert needs_reviewer(admin) is admin
    assert needs_reviewer(rita) is rita
    with pytest.raises(HTTPException) as refused:
        needs_reviewer(ann)
    assert refused.value.status_code == 403
    assert refused.value.detail == "this needs the reviewer role; ann is annotator"
    assert require("annotator")(ann) is ann


def test_a_disabled_account_loses_its_role_and_its_credentials(app_client: TestClient) -> None:
    people = _store(app_client).people
    secret, _ = people.issue(people.user("bob").id, "token")
    bob = Caller(people.update_user("bob", active=False), "token")
    with pytest.raises(HTTPException):
        require("annotator")(bob)
    with pytest.raises(HTTPException) as refused:
        caller(_request(app_client, authorization=f"Bearer {secret}"))
    assert refused.value.status_code == 401
