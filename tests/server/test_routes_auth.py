"""labelloop.server.routes_auth: signing in and out, accounts, and API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from labelloop.config import ProjectConfig
from labelloop.loop import Workspace
from labelloop.server.app import create_app
from tests.server.conftest import login


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
