"""Tokens that expire and can be withdrawn, an admin that cannot vanish, headers on every page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from labelloop.errors import LabelloopError
from labelloop.server.app import create_app
from labelloop.store.stats import Stats
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


def test_pages_and_answers_carry_security_headers(app_client: TestClient) -> None:
    page = app_client.get("/login")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    for answer in (page, app_client.get("/api/project")):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"


def test_the_login_page_knows_when_no_account_exists(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from labelloop.config import ProjectConfig
    from labelloop.loop import Workspace
    from labelloop.server.app import create_app

    Workspace.init(tmp_path / "p", ProjectConfig(name="p", classes=("a", "b"))).close()
    with TestClient(create_app(tmp_path / "p", start_training=False)) as client:
        assert client.get("/api/auth/setup").json() == {"has_accounts": False}
        assert 'id="no-accounts"' in client.get("/login").text


def test_the_api_reference_works_without_internet(app_client: TestClient) -> None:
    page = app_client.get("/docs")
    assert page.status_code == 200
    assert "/docs-assets/swagger-ui-bundle.js" in page.text
    assert "cdn." not in page.text and "https://" not in page.text.split("<body>")[0]
    script = app_client.get("/docs-assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    assert app_client.get("/openapi.json").json()["info"]["title"] == "labelloop"


def test_only_labelloops_own_errors_reach_clients(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bare ValueError or LookupError is a bug: 500, its message kept in the log."""

    class WrongSettingError(LabelloopError, ValueError):
        pass

    raised: list[Exception] = []

    def boom(self: Stats, project_id: int) -> dict[str, int]:
        raise raised[-1]

    monkeypatch.setattr(Stats, "progress", boom)
    app = create_app(project, start_training=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        login(client, "admin")
        raised.append(ValueError("internal detail /srv/secret.db"))
        hidden = client.get("/api/project")
        assert hidden.status_code == 500 and "secret" not in hidden.text
        raised.append(KeyError("internal key"))
        assert client.get("/api/project").status_code == 500
        raised.append(WrongSettingError("the batch size must be positive"))
        said = client.get("/api/project")
        assert said.status_code == 422
        assert said.json()["detail"][0]["msg"] == "the batch size must be positive"
