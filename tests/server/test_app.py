"""labelloop.server.app: the pages, the error answers, the headers, and how the app is built."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import labelloop.server.app as app_module
from labelloop.errors import LabelloopError
from labelloop.loop import Workspace
from labelloop.loop.settings import apply_settings
from labelloop.server.app import (
    DETECTION_PAGES,
    PAGES,
    PROCESS_HEADER,
    STATIC,
    Page,
    app_from_env,
    create_app,
)
from labelloop.store.stats import Stats
from tests.server.conftest import login, make_project
from tests.server.detection_fixtures import make_detection_project

ALL = sorted({*PAGES.values(), *DETECTION_PAGES.values()}, key=lambda page: page.name)


@pytest.mark.parametrize("page", ALL, ids=[page.name for page in ALL])
def test_a_page_is_a_whole_document_with_its_title_script_and_body(page: Page) -> None:
    html = page.render()
    assert html.startswith("<!doctype html>\n") and html.rstrip().endswith("</html>")
    assert f"<title>{page.title}</title>" in html.replace("&#x27;", "'")
    assert f'<script type="module" src="/static/{page.name}.js"></script>' in html
    assert (STATIC / f"{page.name}.js").is_file()
    body = (STATIC / "pages" / f"{page.name}.html").read_text(encoding="utf-8")
    assert _expanded(body) in html and "<head>" not in body
    assert ('id="app-header"' in html) == page.header
    assert not re.search(r"\{\{[\w:-]+\}\}", html), "a layout or part marker was left unfilled"


def _expanded(body: str) -> str:
    """A page body with each ``{{part:name}}`` line replaced by that fragment's file."""
    lines = []
    for line in body.splitlines(keepends=True):
        marker = re.fullmatch(r"\s*\{\{part:([\w-]+)\}\}\n", line)
        part = None if marker is None else STATIC / "parts" / f"{marker[1]}.html"
        lines.append(line if part is None else part.read_text(encoding="utf-8"))
    return "".join(lines)


def test_the_image_pages_share_the_stage_bar_and_the_model_card_from_one_file() -> None:
    stage_bar = (STATIC / "parts" / "stage-head.html").read_text(encoding="utf-8")
    model_card = (STATIC / "parts" / "model-card.html").read_text(encoding="utf-8")
    for page in (PAGES["/label"], PAGES["/review"], DETECTION_PAGES["/label"]):
        html = page.render()
        assert html.count(stage_bar) == 1 and html.count(model_card) == 1
        assert html.count('id="zoom-in"') == 1 and 'id="item-title"' in html


def test_every_shared_part_is_used_by_some_page() -> None:
    parts = {path.stem for path in (STATIC / "parts").glob("*.html")}
    bodies = "".join(path.read_text(encoding="utf-8") for path in (STATIC / "pages").glob("*.html"))
    assert parts == set(re.findall(r"\{\{part:([\w-]+)\}\}", bodies))


def test_only_the_login_page_goes_without_the_app_header() -> None:
    assert [page.name for page in ALL if not page.header] == ["login"]


def test_every_page_body_is_served_by_some_route() -> None:
    bodies = {path.stem for path in (STATIC / "pages").glob("*.html")}
    assert bodies == {page.name for page in ALL}


# headers, the API reference, and error answers ------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A digits project of one image per class, shared by tests that only read it."""
    return make_project(tmp_path_factory.mktemp("app") / "proj", per_class=1)


@pytest.fixture(scope="module")
def app_client(small: Path) -> Iterator[TestClient]:
    with TestClient(create_app(small, start_training=False)) as client:
        yield client


def test_pages_and_answers_carry_security_headers(app_client: TestClient) -> None:
    page = app_client.get("/login")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    for answer in (page, app_client.get("/api/project")):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"


def test_the_api_reference_works_without_internet(app_client: TestClient) -> None:
    page = app_client.get("/docs")
    assert page.status_code == 200
    assert "/docs-assets/swagger-ui-bundle.js" in page.text
    assert "cdn." not in page.text and "https://" not in page.text.split("<body>")[0]
    script = app_client.get("/docs-assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    assert app_client.get("/openapi.json").json()["info"]["title"] == "labelloop"


def test_only_labelloops_own_errors_reach_clients(
    small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bare ValueError or LookupError is a bug: 500, its message kept in the log."""

    class WrongSettingError(LabelloopError, ValueError):
        pass

    raised: list[Exception] = []

    def boom(self: Stats, project_id: int) -> dict[str, int]:
        raise raised[-1]

    monkeypatch.setattr(Stats, "progress", boom)
    app = create_app(small, start_training=False)
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


def test_every_answer_names_the_process_and_the_root_leads_to_labeling(small: Path) -> None:
    with TestClient(create_app(small, start_training=False)) as client:
        root = client.get("/", follow_redirects=False)
        assert root.status_code == 307 and root.headers["location"] == "/label"
        for answer in (root, client.get("/api/project"), client.get("/static/label.js")):
            assert answer.headers[PROCESS_HEADER] == str(os.getpid())
        # The page policy is for the app's HTML only: Swagger UI runs its own inline script.
        assert "content-security-policy" not in client.get("/docs").headers
        assert client.get("/label").text == PAGES["/label"].render()


def test_a_detection_project_labels_and_reviews_in_the_box_editor(tmp_path: Path) -> None:
    root = make_detection_project(tmp_path / "boxes", n_items=1)
    with TestClient(create_app(root, start_training=False)) as client:
        for route in ("/label", "/review"):
            assert client.get(route).text == DETECTION_PAGES[route].render()
        assert client.get("/dashboard").text == PAGES["/dashboard"].render()


def test_store_errors_become_their_status_codes_with_the_conflict_named(small: Path) -> None:
    with TestClient(create_app(small, start_training=False)) as client:
        headers = login(client, "admin")
        missing = client.get("/api/items/987654")
        assert missing.status_code == 404 and "987654" in missing.json()["detail"]
        taken = client.post(
            "/api/users",
            json={"username": "ann", "password": "x" * 12, "role": "annotator"},
            headers=headers,
        )
        assert taken.status_code == 409
        item = client.get("/api/items", params={"limit": 1}).json()["items"][0]["item"]["id"]
        first = client.post(
            f"/api/items/{item}/labels",
            json={"value": "3", "expected_event_id": None},
            headers=headers,
        ).json()
        stale = client.post(
            f"/api/items/{item}/labels",
            json={"value": "4", "expected_event_id": None},
            headers=headers,
        )
        assert stale.status_code == 409
        assert stale.json()["item_id"] == item
        assert stale.json()["current_event_id"] == first["id"]
        wrong = client.post(
            f"/api/items/{item}/labels",
            json={"value": "cat", "expected_event_id": first["id"]},
            headers=headers,
        )
        assert wrong.status_code == 422 and wrong.json()["detail"][0]["type"] == "value_error"


def test_settings_changed_elsewhere_are_served_after_the_ttl(
    small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(small, start_training=False)
    with TestClient(app) as client:
        login(client, "admin")
        before = client.get("/api/project").json()["config"]["batch_size"]
        other = Workspace.open(small)
        apply_settings(other, {"batch_size": before + 1}, who="someone else")
        other.close()
        assert client.get("/api/project").json()["config"]["batch_size"] == before
        monkeypatch.setattr(app_module, "SETTINGS_TTL", 0.0)
        time.sleep(0.01)
        assert client.get("/api/project").json()["config"]["batch_size"] == before + 1


@pytest.fixture
def env(small: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in (
        "LABELLOOP_SECURE_COOKIES",
        "LABELLOOP_EXTERNAL_TRAINING",
        "LABELLOOP_LS_PREFIX",
        "LABELLOOP_LS_SECRET",
        "LABELLOOP_LS_FILES_ROOT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LABELLOOP_PROJECT", str(small))
    yield monkeypatch


def test_app_from_env_defaults_to_external_training_without_label_studio(
    env: pytest.MonkeyPatch,
) -> None:
    app = app_from_env()
    assert app.state.trainer.external is True and app.state.secure_cookies is False
    assert app.state.ws.root == Path(os.environ["LABELLOOP_PROJECT"])
    with TestClient(app) as client:
        assert client.get("/ls/health").status_code == 404


def test_app_from_env_reads_every_setting_the_serve_command_passes(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.setenv("LABELLOOP_SECURE_COOKIES", "1")
    env.setenv("LABELLOOP_EXTERNAL_TRAINING", "0")
    env.setenv("LABELLOOP_LS_PREFIX", "/studio")
    env.setenv("LABELLOOP_LS_SECRET", "hush")
    env.setenv("LABELLOOP_LS_FILES_ROOT", str(tmp_path))
    app = app_from_env()
    assert app.state.trainer.external is False and app.state.secure_cookies is True
    assert app.state.label_studio.files_root == tmp_path
    with TestClient(app) as client:
        assert client.get("/studio/health").status_code == 401
        assert client.get("/studio/health", headers={"x-labelloop-secret": "hush"}).is_success
        cookie = client.post(
            "/api/auth/login", json={"username": "ann", "password": "correct horse battery"}
        )
        assert "secure" in cookie.headers["set-cookie"].lower()


def test_app_from_env_names_the_missing_project(env: pytest.MonkeyPatch) -> None:
    env.delenv("LABELLOOP_PROJECT")
    with pytest.raises(KeyError, match="LABELLOOP_PROJECT"):
        app_from_env()


def test_openapi_and_pages(app_client: TestClient) -> None:
    spec = app_client.get("/openapi.json").json()
    assert "/api/queue/next" in spec["paths"] and "/api/review" in spec["paths"]
    for page in ("/login", "/label", "/review", "/dashboard", "/history"):
        response = app_client.get(page)
        assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    assert app_client.get("/", follow_redirects=False).status_code in (302, 307)
