"""labelloop.server.deps: a request reaches the server's workspace, store and trainer."""

from __future__ import annotations

from fastapi.testclient import TestClient

from labelloop.server.deps import store_of, trainer_of, workspace_of
from tests.server.conftest import request_to


def test_a_request_reaches_the_apps_own_workspace_store_and_trainer(
    app_client: TestClient,
) -> None:
    request = request_to(app_client.app)  # type: ignore[arg-type]
    state = app_client.app.state  # type: ignore[attr-defined]
    ws = workspace_of(request)
    assert ws is state.ws
    assert store_of(request) is ws.store
    assert trainer_of(request) is state.trainer
    assert trainer_of(request).ws is ws
    # The store is the served project's: it knows the project's accounts.
    assert {u.username for u in store_of(request).people.users()} >= {"admin", "ann"}
