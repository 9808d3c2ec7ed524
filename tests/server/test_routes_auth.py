"""labelloop.server.routes_auth: signing in and out, accounts, and API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient

from labelloop.config import ProjectConfig
from labelloop.loop import Workspace
from labelloop.server.app import create_app
from labelloop.server.routes_auth import SESSION_TTL, _token_owner, setup
from labelloop.server.security import Caller
from tests.server.conftest import PASSWORD, label_truth, login, next_served, request_to


def test_tokens_expire_are_listed_and_withdrawn(app_client: TestClient) -> None:
    headers = login(app_client, "ann")
    made = app_client.post("/api/tokens", json={"name": "script"}, headers=headers).json()
    expires = datetime.fromisoformat(made["expires_at"])
    assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)
    short = app_client.post(
        "/api/tokens", json={"name": "ci", "expires_in_days": 1}, headers=headers
    ).json()
    listed = app_client.get("/api/tokens").json()
    assert [t["name"] for t in listed] == ["ci", "script"] and "token" not in listed[0]
    bearer = {"authorization": f"Bearer {made['token']}"}
    assert app_client.get("/api/auth/me", headers=bearer).status_code == 200
    # Withdrawn by id: it stops working at once.
    gone = app_client.delete(f"/api/tokens/{made['id']}", headers=headers)
    assert gone.status_code == 204
    app_client.cookies.clear()
    assert app_client.get("/api/auth/me", headers=bearer).status_code == 401
    # Logging out with a token withdraws that token.
    other = {"authorization": f"Bearer {short['token']}"}
    assert app_client.post("/api/auth/logout", headers=other).status_code == 204
    assert app_client.get("/api/auth/me", headers=other).status_code == 401
    # Someone else's tokens are an admin's to see.
    headers = login(app_client, "bob")
    assert app_client.get("/api/tokens?user=ann").status_code == 403
    assert app_client.delete(f"/api/tokens/{short['id']}", headers=headers).status_code == 404
    login(app_client, "admin")
    assert len(app_client.get("/api/tokens?user=ann").json()) == 2


def test_the_last_admin_can_be_neither_demoted_nor_disabled(app_client: TestClient) -> None:
    headers = login(app_client, "admin")
    demote = app_client.patch("/api/users/admin", json={"role": "annotator"}, headers=headers)
    assert demote.status_code == 409 and "last active admin" in demote.json()["detail"]
    disable = app_client.patch("/api/users/admin", json={"active": False}, headers=headers)
    assert disable.status_code == 409
    promoted = app_client.patch("/api/users/rita", json={"role": "admin"}, headers=headers)
    assert promoted.status_code == 200
    assert (
        app_client.patch("/api/users/admin", json={"role": "reviewer"}, headers=headers).status_code
        == 200
    )


def test_the_login_page_knows_when_no_account_exists(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "p", ProjectConfig(name="p", classes=("a", "b"))).close()
    with TestClient(create_app(tmp_path / "p", start_training=False)) as client:
        assert client.get("/api/auth/setup").json() == {"has_accounts": False}
        assert 'id="no-accounts"' in client.get("/login").text


def test_login_me_logout(app_client: TestClient) -> None:
    assert app_client.get("/api/auth/me").status_code == 401
    bad = app_client.post("/api/auth/login", json={"username": "ann", "password": "nope"})
    assert bad.status_code == 401
    unknown = app_client.post("/api/auth/login", json={"username": "zed", "password": "x"})
    assert unknown.status_code == 401
    headers = login(app_client, "ann")
    me = app_client.get("/api/auth/me").json()
    assert me["user"]["username"] == "ann" and me["csrf_token"] == headers["x-csrf-token"]
    assert app_client.post("/api/auth/logout", headers=headers).status_code == 204
    assert app_client.get("/api/auth/me").status_code == 401


def test_cookie_requests_need_the_csrf_token(app_client: TestClient) -> None:
    headers = login(app_client, "ann")
    refused = app_client.post("/api/queue/next")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    wrong = app_client.post("/api/queue/next", headers={"x-csrf-token": "forged"})
    assert wrong.status_code == 403
    assert app_client.post("/api/queue/next", headers=headers).status_code == 200


def test_api_tokens_authenticate_scripts(app_client: TestClient) -> None:
    headers = login(app_client, "ann")
    token = app_client.post("/api/tokens", json={"name": "script"}, headers=headers).json()
    app_client.cookies.clear()
    bearer = {"authorization": f"Bearer {token['token']}"}
    served = next_served(app_client, bearer)["served"]
    assert label_truth(app_client, bearer, served)["event"]["annotator"] == "ann"
    bad = app_client.post("/api/queue/next", headers={"authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_roles_are_enforced_and_refusals_change_nothing(app_client: TestClient) -> None:
    headers = login(app_client, "ann")
    assert app_client.get("/api/users").status_code == 403
    assert app_client.post("/api/review/next", headers=headers).status_code == 403
    assert app_client.post("/api/training", headers=headers).status_code == 403
    created = app_client.post(
        "/api/users",
        json={"username": "mallory", "password": "12345678", "role": "admin"},
        headers=headers,
    )
    assert created.status_code == 403
    patch = app_client.patch("/api/project/settings", json={"batch_size": 3}, headers=headers)
    assert patch.status_code == 403
    admin = login(app_client, "admin")
    users = [u["username"] for u in app_client.get("/api/users").json()]
    assert "mallory" not in users
    assert app_client.get("/api/project").json()["config"]["batch_size"] == 5
    assert app_client.post("/api/review/next", headers=admin).status_code == 200


def test_admin_manages_users(app_client: TestClient) -> None:
    headers = login(app_client, "admin")
    body = {"username": "newbie", "password": "long enough", "role": "annotator"}
    assert app_client.post("/api/users", json=body, headers=headers).status_code == 201
    assert app_client.post("/api/users", json=body, headers=headers).status_code == 409
    short = {**body, "username": "x2", "password": "short"}
    assert app_client.post("/api/users", json=short, headers=headers).status_code == 422
    made = app_client.patch("/api/users/newbie", json={"role": "reviewer"}, headers=headers)
    assert made.json()["role"] == "reviewer"
    assert (
        app_client.patch("/api/users/ghost", json={"active": False}, headers=headers).status_code
        == 404
    )
    app_client.patch("/api/users/newbie", json={"active": False}, headers=headers)
    app_client.cookies.clear()
    disabled = app_client.post(
        "/api/auth/login", json={"username": "newbie", "password": "long enough"}
    )
    assert disabled.status_code == 403


def test_password_is_stored_hashed(project: Path) -> None:
    ws = Workspace.open(project)
    user = ws.store.people.user("ann")
    ws.close()
    assert PASSWORD not in user.password_hash and user.password_hash.startswith("$argon2")


def _as(client: TestClient, username: str) -> Caller:
    ws: Workspace = client.app.state.ws  # type: ignore[attr-defined]
    return Caller(ws.store.people.user(username), "token")


def test_a_token_owner_is_the_caller_unless_an_admin_names_another(app_client: TestClient) -> None:
    request = request_to(app_client.app)  # type: ignore[arg-type]
    ann, admin = _as(app_client, "ann"), _as(app_client, "admin")
    assert _token_owner(request, ann, None) == ann.user.id
    assert _token_owner(request, ann, "ann") == ann.user.id
    assert _token_owner(request, admin, "ann") == ann.user.id
    with pytest.raises(HTTPException) as refused:
        _token_owner(request, ann, "bob")
    assert refused.value.status_code == 403 and "admin" in refused.value.detail
    assert setup(request) == {"has_accounts": True}


def test_the_session_cookie_is_httponly_strict_and_lasts_the_session(
    app_client: TestClient,
) -> None:
    answer = app_client.post("/api/auth/login", json={"username": "ann", "password": PASSWORD})
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert f"max-age={int(SESSION_TTL.total_seconds())}" in cookie
    assert "secure" not in cookie  # create_app's default: plain HTTP on loopback
    assert answer.json()["user"]["username"] == "ann" and answer.json()["csrf_token"]


def test_a_disabled_account_cannot_sign_in_and_a_new_password_replaces_the_old(
    app_client: TestClient,
) -> None:
    headers = login(app_client, "admin")
    changed = app_client.patch(
        "/api/users/bob", json={"password": "a new passphrase"}, headers=headers
    )
    assert changed.status_code == 200
    old = app_client.post("/api/auth/login", json={"username": "bob", "password": PASSWORD})
    assert old.status_code == 401 and old.json()["detail"] == "wrong username or password"
    new = {"username": "bob", "password": "a new passphrase"}
    assert app_client.post("/api/auth/login", json=new).status_code == 200
    headers = login(app_client, "admin")
    app_client.patch("/api/users/bob", json={"active": False}, headers=headers)
    disabled = app_client.post("/api/auth/login", json=new)
    assert disabled.status_code == 403 and "disabled" in disabled.json()["detail"]
    unknown = app_client.post("/api/auth/login", json={"username": "zed", "password": PASSWORD})
    assert unknown.status_code == 401 and unknown.json() == old.json()
