"""The HTTP API through FastAPI's test client: every endpoint, and every refusal."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image

from labelloop.loop import Workspace
from labelloop.server.app import create_app
from tests.server.conftest import PASSWORD, login, make_project, truth


def _next(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.post("/api/queue/next", headers=headers)
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


def _label(client: TestClient, headers: dict[str, str], served: dict[str, Any]) -> dict[str, Any]:
    value = truth(served["item"]["name"])
    response = client.post(
        "/api/labels", json={"lease_id": served["lease_id"], "value": value}, headers=headers
    )
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def _wait_idle(client: TestClient) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = client.get("/api/training").json()
        if state["state"] == "idle" and state["runs"]:
            return state  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError("training did not finish")


# authentication and roles -----------------------------------------------------


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
    served = _next(app_client, bearer)["served"]
    assert _label(app_client, bearer, served)["event"]["annotator"] == "ann"
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


# the queue ----------------------------------------------------------------------


def test_two_annotators_get_different_items_and_reload_keeps_the_lease(project: Path) -> None:
    app = create_app(project, start_training=False)
    with TestClient(app) as a, TestClient(app) as b:
        ha, hb = login(a, "ann"), login(b, "bob")
        first = _next(a, ha)["served"]
        again = _next(a, ha)["served"]
        other = _next(b, hb)["served"]
        assert first["lease_id"] == again["lease_id"]
        assert other["item"]["id"] != first["item"]["id"]


def test_label_records_a_human_event_with_its_lease(app_client: TestClient) -> None:
    headers = login(app_client, "ann")
    served = _next(app_client, headers)["served"]
    answer = _label(app_client, headers, served)
    event = answer["event"]
    assert (event["source"], event["action"], event["annotator"]) == ("human", "label", "ann")
    assert event["lease_id"] == served["lease_id"]
    assert answer["progress"]["labeled"] == 1
    history = app_client.get(f"/api/items/{served['item']['id']}/history").json()
    assert [e["id"] for e in history] == [event["id"]]


def test_stale_lease_and_changed_item_get_409(app_client: TestClient, project: Path) -> None:
    headers = login(app_client, "ann")
    served = _next(app_client, headers)["served"]
    _label(app_client, headers, served)
    twice = app_client.post(
        "/api/labels", json={"lease_id": served["lease_id"], "value": "1"}, headers=headers
    )
    assert twice.status_code == 409 and "closed" in twice.json()["detail"]
    nxt = _next(app_client, headers)["served"]
    ws = Workspace.open(project)
    ws.store.record_label(ws.project.id, nxt["item"]["id"], "3", annotator="other")
    ws.close()
    changed = app_client.post(
        "/api/labels", json={"lease_id": nxt["lease_id"], "value": "1"}, headers=headers
    )
    assert changed.status_code == 409 and "changed since it was served" in changed.json()["detail"]
    assert len(app_client.get(f"/api/items/{nxt['item']['id']}/history").json()) == 1
    other = login(app_client, "bob")
    fresh = _next(app_client, other)["served"]
    stolen = app_client.post(
        "/api/labels",
        json={"lease_id": fresh["lease_id"], "value": "1"},
        headers=login(app_client, "ann"),
    )
    assert stolen.status_code == 409 and "another user" in stolen.json()["detail"]


def test_skip_moves_on_without_losing_the_item(app_client: TestClient) -> None:
    headers = login(app_client, "ann")
    first = _next(app_client, headers)["served"]
    skipped = app_client.post(f"/api/leases/{first['lease_id']}/skip", headers=headers)
    assert skipped.status_code == 204
    second = _next(app_client, headers)["served"]
    assert second["item"]["id"] != first["item"]["id"]
    bob = login(app_client, "bob")
    assert _next(app_client, bob)["served"]["item"]["id"] == first["item"]["id"]


def test_bad_labels_are_refused(app_client: TestClient) -> None:
    headers = login(app_client, "ann")
    served = _next(app_client, headers)["served"]
    unknown = app_client.post(
        "/api/labels", json={"lease_id": served["lease_id"], "value": "cat"}, headers=headers
    )
    assert unknown.status_code == 422 and "cat" in str(unknown.json()["detail"])
    malformed = app_client.post("/api/labels", json={"value": "1"}, headers=headers)
    assert malformed.status_code == 422
    extra = app_client.post(
        "/api/labels",
        json={"lease_id": served["lease_id"], "value": "1", "sneaky": True},
        headers=headers,
    )
    assert extra.status_code == 422
    not_json = app_client.post(
        "/api/labels", content=b"{nope", headers={**headers, "content-type": "application/json"}
    )
    assert not_json.status_code == 422
    assert app_client.get(f"/api/items/{served['item']['id']}/history").json() == []


def test_items_history_correction_and_undo(app_client: TestClient) -> None:
    headers = login(app_client, "ann")
    served = _next(app_client, headers)["served"]
    item = served["item"]["id"]
    first = _label(app_client, headers, served)["event"]
    other = "1" if first["value"] != "1" else "2"
    stale = app_client.post(
        f"/api/items/{item}/labels",
        json={"value": other, "expected_event_id": None},
        headers=headers,
    )
    assert stale.status_code == 409
    fixed = app_client.post(
        f"/api/items/{item}/labels",
        json={"value": other, "expected_event_id": first["id"]},
        headers=headers,
    ).json()
    assert fixed["action"] == "correct" and fixed["supersedes_id"] == first["id"]
    undone = app_client.post(
        f"/api/items/{item}/undo", json={"expected_event_id": fixed["id"]}, headers=headers
    ).json()
    assert undone["value"] == first["value"] and undone["action"] == "undo"
    late = app_client.post(
        f"/api/items/{item}/undo", json={"expected_event_id": fixed["id"]}, headers=headers
    )
    assert late.status_code == 409
    got = app_client.get(f"/api/items/{item}").json()
    assert got["current"]["id"] == undone["id"]
    image = app_client.get(f"/api/items/{item}/image")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert app_client.get("/api/items/999999").status_code == 404
    assert app_client.get("/api/items/999999/history").status_code == 404
    assert app_client.get("/api/items/999999/image").status_code == 404


# training, auto-labels, review ----------------------------------------------------


def test_manual_training_ranks_the_pool_and_reports_progress(app_client: TestClient) -> None:
    headers = login(app_client, "rita")
    for _ in range(15):
        _label(app_client, headers, _next(app_client, headers)["served"])
    started = app_client.post("/api/training", headers=headers)
    assert started.status_code == 202
    state = _wait_idle(app_client)
    run = state["runs"][0]
    assert run["status"] == "succeeded" and run["trigger"] == "manual" and run["round_id"]
    [snapshot] = app_client.get("/api/snapshots").json()
    assert snapshot["n_labels"] == 15
    curve = app_client.get("/api/dashboard").json()["learning_curve"]
    assert [point["snapshot_id"] for point in curve] == [snapshot["id"]]
    exported = app_client.get(f"/api/export?format=json&snapshot={snapshot['id']}").json()
    assert len(exported["labels"]) == 15
    assert state["model_version"] and state["model_metrics"]["n_labeled"] == 15
    # The dashboard reads whether the model collapsed to one class from the model's metrics.
    health = state["model_metrics"]["model_health"]
    assert health["collapsed"] is False and health["pool_classes"] >= 2
    served = _next(app_client, headers)["served"]
    assert served["rank"] is not None and served["uncertainty"] is not None


def test_training_refuses_a_second_run_while_one_runs(project: Path) -> None:
    app = create_app(project, start_training=False)
    with TestClient(app) as client:
        headers = login(client, "admin")
        assert client.post("/api/training", headers=headers).status_code == 202
        second = client.post("/api/training", headers=headers)
        app.state.trainer.wait(60)
        assert second.status_code in (202, 409)
        if second.status_code == 409:
            assert "already running" in second.json()["detail"]
        runs = client.get("/api/training").json()["runs"]
        assert len(runs) == 1 + (second.status_code == 202)


def test_failed_training_is_reported_and_the_previous_ranking_serves(
    app_client: TestClient, project: Path
) -> None:
    headers = login(app_client, "admin")
    for _ in range(12):
        _label(app_client, headers, _next(app_client, headers)["served"])
    app_client.post("/api/training", headers=headers)
    good = _wait_idle(app_client)["runs"][0]
    assert good["status"] == "succeeded"
    ws = Workspace.open(project)
    # A damaged pool image is flagged and left out (the round goes on); a
    # damaged labeled image cannot be trained on: the run fails.
    labeled = set(ws.store.current_labels(ws.project.id))
    victim = next(i for i in ws.store.items(ws.project.id) if i.id in labeled)
    ws.image_path(victim).write_bytes(b"not an image any more")
    ws.close()
    app_client.post("/api/training", headers=headers)
    time.sleep(0.05)
    state = _wait_idle(app_client)
    failed = state["runs"][0]
    assert failed["status"] == "failed" and failed["message"]
    assert state["model_version"] == f"m{good['round_id']}" or state["model_version"]
    served = _next(app_client, headers)["served"]
    assert served["rank"] is not None


def test_auto_labels_review_accept_and_correct(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "auto", auto_label_threshold=0.3, auto_label_min_labels=20, retrain_every=1000
    )
    app = create_app(root, start_training=False)
    with TestClient(app) as client:
        headers = login(client, "rita")
        for _ in range(30):
            _label(client, headers, _next(client, headers)["served"])
        client.post("/api/training", headers=headers)
        _wait_idle(client)
        first = client.post("/api/review/next", headers=headers).json()["served"]
        assert first["kind"] == "review" and first["current"]["source"] == "auto"
        auto = first["current"]
        accept = client.post(
            "/api/review",
            json={"lease_id": first["lease_id"], "value": auto["value"]},
            headers=headers,
        ).json()["event"]
        assert accept["action"] == "accept" and accept["supersedes_id"] == auto["id"]
        second = client.post("/api/review/next", headers=headers).json()["served"]
        assert second["current"]["confidence"] >= auto["confidence"]  # least sure first
        wrong = "0" if second["current"]["value"] != "0" else "1"
        fix = client.post(
            "/api/review", json={"lease_id": second["lease_id"], "value": wrong}, headers=headers
        ).json()["event"]
        assert fix["action"] == "correct"
        dash = client.get("/api/dashboard").json()
        assert dash["auto_labels"]["accepted"] == 1 and dash["auto_labels"]["corrected"] == 1
        assert dash["auto_labels"]["precision"] == 0.5
        # Auto-labeled items are not in the annotators' queue.
        for _ in range(5):
            served = _next(client, headers)["served"]
            assert served["current"] is None
            _label(client, headers, served)
        # Exports hold what people made or checked; unchecked auto labels on request.
        checked = client.get("/api/export?format=json").json()["labels"]
        everything = client.get("/api/export?format=json&include_auto=true").json()["labels"]
        assert {row["source"] for row in checked} == {"human"}
        assert "auto" in {row["source"] for row in everything}
        assert len(everything) > len(checked)


def test_retraining_starts_after_enough_new_labels(tmp_path: Path) -> None:
    root = make_project(tmp_path / "auto", retrain_every=5, auto_label_threshold=None)
    app = create_app(root, start_training=False)
    with TestClient(app) as client:
        headers = login(client, "ann")
        for _ in range(4):
            _label(client, headers, _next(client, headers)["served"])
        assert client.get("/api/training").json()["runs"] == []
        _label(client, headers, _next(client, headers)["served"])
        app.state.trainer.wait(60)
        runs = client.get("/api/training").json()["runs"]
        assert [(r["trigger"], r["status"]) for r in runs] == [("labels", "succeeded")]


# project, dashboard, export, uploads ----------------------------------------------


def test_project_and_settings(app_client: TestClient) -> None:
    headers = login(app_client, "admin")
    project = app_client.get("/api/project").json()
    assert project["classes"] == [str(d) for d in range(10)] and project["progress"]["items"] == 120
    changed = app_client.patch(
        "/api/project/settings",
        json={"retrain_every": 7, "show_prediction": "prefill"},
        headers=headers,
    )
    assert changed.json()["config"]["retrain_every"] == 7
    bad = app_client.patch("/api/project/settings", json={"batch_size": 0}, headers=headers)
    assert bad.status_code == 422
    # Classes can be removed or renamed only while no label uses them.
    _label(app_client, headers, _next(app_client, headers)["served"])
    fewer = app_client.patch("/api/project/settings", json={"classes": ["0"]}, headers=headers)
    assert fewer.status_code == 422 and "cannot be removed" in str(fewer.json()["detail"])
    unknown = app_client.patch("/api/project/settings", json={"colour": "red"}, headers=headers)
    assert unknown.status_code == 422
    served = _next(app_client, headers)["served"]
    assert "prediction" in served


def test_dashboard_reports_counts_and_annotators(app_client: TestClient) -> None:
    headers = login(app_client, "ann")
    answers = [_label(app_client, headers, _next(app_client, headers)["served"]) for _ in range(3)]
    dash = app_client.get("/api/dashboard").json()
    assert dash["progress"] == {"items": 120, "labeled": 3, "auto_labeled": 0, "unlabeled": 117}
    assert sum(row["count"] for row in dash["labels_over_time"]) == 3
    assert sum(sum(v.values()) for v in dash["class_balance"].values()) == 3
    [ann] = dash["annotators"]
    assert ann["annotator"] == "ann" and ann["labels"] == 3 and ann["median_seconds"] >= 0
    last = answers[-1]["event"]
    app_client.post(
        f"/api/items/{last['item_id']}/undo",
        json={"expected_event_id": last["id"]},
        headers=headers,
    )
    after = app_client.get("/api/dashboard").json()
    assert after["annotators"][0]["labels"] == 3, "an undo is not a label"
    assert after["progress"]["labeled"] == 2
    assert sum(row["count"] for row in after["labels_over_time"]) == 3


def test_export_formats(app_client: TestClient) -> None:
    headers = login(app_client, "ann")
    labeled = [_label(app_client, headers, _next(app_client, headers)["served"]) for _ in range(4)]
    # Exports are a reviewer's right unless the project opens them to annotators.
    refused = app_client.get("/api/export?format=csv")
    assert refused.status_code == 403 and "team.annotators_export" in refused.json()["detail"]
    login(app_client, "rita")
    rows = list(csv.DictReader(io.StringIO(app_client.get("/api/export?format=csv").text)))
    assert {int(r["item"]) for r in rows} == {a["event"]["item_id"] for a in labeled}
    data = app_client.get("/api/export?format=json").json()
    assert len(data["labels"]) == 4
    archive = app_client.get("/api/export?format=imagefolder")
    assert archive.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert len(names) == 4 and all(n.count("/") == 2 for n in names)
    assert app_client.get("/api/export?format=xml").status_code == 422
    assert app_client.get("/api/snapshots").json() == []
    assert app_client.get("/api/export?snapshot=999").status_code == 404


def _png(size: tuple[int, int] = (8, 8), value: int = 7) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, value).save(buffer, format="PNG")
    return buffer.getvalue()


def test_uploads(app_client: TestClient, project: Path) -> None:
    ann = login(app_client, "ann")
    files = {"file": ("new.png", _png(), "image/png")}
    assert app_client.post("/api/items", files=files, headers=ann).status_code == 403
    admin = login(app_client, "admin")
    made = app_client.post("/api/items", files=files, headers=admin)
    assert made.status_code == 201 and made.json()["name"] == "new.png"
    again = app_client.post(
        "/api/items", files={"file": ("copy.png", _png(), "image/png")}, headers=admin
    )
    assert again.json()["id"] == made.json()["id"]
    text = app_client.post(
        "/api/items", files={"file": ("notes.png", b"hello", "image/png")}, headers=admin
    )
    assert text.status_code == 422 and "not a usable image" in str(text.json()["detail"])
    app_client.app.state.max_upload_bytes = 50  # type: ignore[attr-defined]
    big = app_client.post(
        "/api/items", files={"file": ("big.png", _png((64, 64), 3), "image/png")}, headers=admin
    )
    assert big.status_code == 413
    assert app_client.get("/api/project").json()["progress"]["items"] == 121


def test_openapi_and_pages(app_client: TestClient) -> None:
    spec = app_client.get("/openapi.json").json()
    assert "/api/queue/next" in spec["paths"] and "/api/review" in spec["paths"]
    for page in ("/login", "/label", "/review", "/dashboard", "/history"):
        response = app_client.get(page)
        assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    assert app_client.get("/", follow_redirects=False).status_code in (302, 307)


def test_password_is_stored_hashed(project: Path) -> None:
    ws = Workspace.open(project)
    user = ws.store.people.user("ann")
    ws.close()
    assert PASSWORD not in user.password_hash and user.password_hash.startswith("$argon2")


def test_ids_beyond_the_database_range_and_bad_values_get_a_422_in_the_declared_shape(
    app_client: TestClient,
) -> None:
    """Ids up to 2^63 - 1 are the databases' range: beyond it a 422, never a 500."""
    headers = login(app_client, "admin")
    huge = 2**63
    answers = [
        app_client.get(f"/api/items/{huge}"),
        app_client.get(f"/api/items/{huge}/history"),
        app_client.get(f"/api/items/{huge}/image"),
        app_client.post(f"/api/leases/{huge}/skip", headers=headers),
        app_client.post("/api/labels", json={"lease_id": 2**64, "value": "1"}, headers=headers),
        app_client.post(
            f"/api/items/{huge}/labels",
            json={"value": "1", "expected_event_id": None},
            headers=headers,
        ),
        app_client.post("/api/items/1/undo", json={"expected_event_id": 2**70}, headers=headers),
        app_client.get(f"/api/export?snapshot={huge}"),
        app_client.get("/api/monitor/flags?kind=bogus"),
        app_client.patch("/api/project/settings", json={"batch_size": "many"}, headers=headers),
        app_client.patch("/api/project/settings", json={"no_such": 1}, headers=headers),
    ]
    for answer in answers:
        assert answer.status_code == 422, (answer.request.url, answer.text)
        detail = answer.json()["detail"]
        assert isinstance(detail, list) and detail, detail
        assert all({"loc", "msg", "type"} <= set(entry) for entry in detail), detail
    # The largest id the database holds is a plain "not found".
    assert app_client.get(f"/api/items/{huge - 1}").status_code == 404


def test_annotators_change_only_their_own_work(app_client: TestClient) -> None:
    """Another person's label, a review and an item someone else holds are reviewers' business."""
    ann = login(app_client, "ann")
    mine = _label(app_client, ann, _next(app_client, ann)["served"])["event"]
    bob = login(app_client, "bob")
    other = "1" if mine["value"] != "1" else "2"
    overwrite = app_client.post(
        f"/api/items/{mine['item_id']}/labels",
        json={"value": other, "expected_event_id": mine["id"]},
        headers=bob,
    )
    assert overwrite.status_code == 403 and "reviewer's right" in overwrite.json()["detail"]
    undo = app_client.post(
        f"/api/items/{mine['item_id']}/undo", json={"expected_event_id": mine["id"]}, headers=bob
    )
    assert undo.status_code == 403
    held = _next(app_client, bob)["served"]["item"]["id"]  # bob holds a lease on it now
    ann = login(app_client, "ann")
    taken = app_client.post(
        f"/api/items/{held}/labels", json={"value": "3", "expected_event_id": None}, headers=ann
    )
    assert taken.status_code == 403 and "someone else" in taken.json()["detail"]
    # Her own answer she may change; a reviewer may change anyone's.
    own = app_client.post(
        f"/api/items/{mine['item_id']}/labels",
        json={"value": other, "expected_event_id": mine["id"]},
        headers=ann,
    )
    assert own.status_code == 201
    rita = login(app_client, "rita")
    fixed = app_client.post(
        f"/api/items/{mine['item_id']}/labels",
        json={"value": mine["value"], "expected_event_id": own.json()["id"]},
        headers=rita,
    )
    assert fixed.status_code == 201
    ann = login(app_client, "ann")
    back = app_client.post(
        f"/api/items/{mine['item_id']}/undo",
        json={"expected_event_id": fixed.json()["id"]},
        headers=ann,
    )
    assert back.status_code == 403  # the reviewer's correction stands
    # Annotators see their own statistics; the team's once the project opens them.
    assert [row["annotator"] for row in app_client.get("/api/dashboard").json()["annotators"]] == [
        "ann"
    ]
    admin = login(app_client, "admin")
    app_client.patch(
        "/api/project/settings", json={"team": {"annotators_see_everyone": True}}, headers=admin
    )
    login(app_client, "ann")
    time.sleep(1.1)  # a server process re-reads the settings each second
    names = {row["annotator"] for row in app_client.get("/api/dashboard").json()["annotators"]}
    assert {"ann", "rita"} <= names


def test_an_undone_item_can_come_straight_back_to_its_annotator(app_client: TestClient) -> None:
    ann = login(app_client, "ann")
    answered = _label(app_client, ann, _next(app_client, ann)["served"])["event"]
    item = answered["item_id"]
    on_screen = _next(app_client, ann)["served"]["item"]["id"]
    labeled = app_client.post(f"/api/items/{item}/lease", headers=ann)
    assert labeled.status_code == 409 and "has a label" in labeled.json()["detail"]
    app_client.post(
        f"/api/items/{item}/undo", json={"expected_event_id": answered["id"]}, headers=ann
    )
    back = app_client.post(f"/api/items/{item}/lease", headers=ann)
    assert back.status_code == 200 and back.json()["served"]["item"]["id"] == item
    # The item that was on screen went back to the queue, not to the skipped pile.
    bob = login(app_client, "bob")
    taken = app_client.post(f"/api/items/{item}/lease", headers=bob)
    assert taken.status_code == 409 and "someone else" in taken.json()["detail"]
    assert _next(app_client, bob)["served"]["item"]["id"] == on_screen
