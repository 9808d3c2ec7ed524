"""labelloop.server.routes_labelstudio: the ML-backend routes, their secret, and training calls.

What the bridge answers (setup, predict, webhooks) is tested in tests/labelstudio.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from labelloop.server.app import create_app
from labelloop.server.routes_labelstudio import LabelStudioOptions, label_studio_router
from tests.server.conftest import make_project

SECRET = "s3cret:with colon"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj", per_class=1)


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_the_router_serves_label_studios_five_calls_under_its_prefix() -> None:
    router = label_studio_router(LabelStudioOptions(prefix="/studio"))
    routes = [r for r in router.routes if isinstance(r, APIRoute)]
    served = {(r.path, method) for r in routes for method in r.methods or ()}
    assert served == {
        ("/studio/health", "GET"),
        ("/studio/setup", "POST"),
        ("/studio/predict", "POST"),
        ("/studio/webhook", "POST"),
        ("/studio/train", "POST"),
    }


def test_the_secret_may_come_as_basic_auth_for_any_user_bearer_or_header(root: Path) -> None:
    app = create_app(root, start_training=False, label_studio=LabelStudioOptions(secret=SECRET))
    with TestClient(app) as client:
        for headers in (
            _basic("anyone", SECRET),
            _basic("", SECRET),
            {"Authorization": f"Bearer  {SECRET} "},
            {"X-Labelloop-Secret": SECRET},
        ):
            answer = client.get("/ls/health", headers=headers)
            assert answer.status_code == 200 and answer.json()["status"] == "UP", headers
        for headers in (
            {},
            _basic(SECRET, "wrong"),  # the secret is the password, not the user name
            {"Authorization": "Basic not*base64"},
            {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:x").decode()},
            {"Authorization": f"Token {SECRET}"},
            {"X-Labelloop-Secret": SECRET.upper()},
        ):
            refused = client.get("/ls/health", headers=headers)
            assert refused.status_code == 401, headers
            assert refused.headers["www-authenticate"] == 'Basic realm="labelloop"'
            assert "shared secret" in refused.json()["detail"]


def test_without_a_secret_anyone_may_call(root: Path) -> None:
    app = create_app(root, start_training=False, label_studio=LabelStudioOptions())
    with TestClient(app) as client:
        assert client.get("/ls/health").json()["status"] == "UP"


def test_train_starts_one_run_and_answers_busy_while_it_is_open(root: Path) -> None:
    # External training only queues the run: it stays open, so "busy" is certain.
    options = LabelStudioOptions(prefix="")
    app = create_app(root, start_training=False, external_training=True, label_studio=options)
    with TestClient(app) as client:
        started = client.post("/train")
        assert started.status_code == 200
        ws = app.state.ws
        [run] = ws.store.training.runs(ws.project.id)
        assert started.json() == {"status": "ok", "job": run.id}
        assert (run.trigger, run.requested_by) == ("labelstudio", "labelstudio")
        assert client.post("/train", json={"project": 3}).json() == {
            "status": "busy",
            "detail": "a training run is already running",
        }
        webhook = client.post("/webhook", json={"action": "START_TRAINING"}).json()
        assert webhook["training"]["status"] == "busy" and "train" not in webhook
        assert len(ws.store.training.runs(ws.project.id)) == 1
