"""labelloop.server.routes_labeling: the queue, answers, skips, reviews, corrections, undo."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient

from labelloop.data.labels import LabelSchema
from labelloop.loop import Workspace
from labelloop.server.app import create_app
from labelloop.server.routes_labeling import _annotators_own, _guess
from labelloop.server.security import Caller
from labelloop.store import LabelInput
from tests.server.conftest import (
    label_truth,
    login,
    make_project,
    next_served,
    wait_idle,
)


def test_two_annotators_get_different_items_and_reload_keeps_the_lease(project: Path) -> None:
    app = create_app(project, start_training=False)
    with TestClient(app) as a, TestClient(app) as b:
        ha, hb = login(a, "ann"), login(b, "bob")
        first = next_served(a, ha)["served"]
        again = next_served(a, ha)["served"]
        other = next_served(b, hb)["served"]
        assert first["lease_id"] == again["lease_id"]
        assert other["item"]["id"] != first["item"]["id"]


def test_label_records_a_human_event_with_its_lease(app_client: TestClient) -> None:
    headers = login(app_client, "ann")
    served = next_served(app_client, headers)["served"]
    answer = label_truth(app_client, headers, served)
    event = answer["event"]
    assert (event["source"], event["action"], event["annotator"]) == ("human", "label", "ann")
    assert event["lease_id"] == served["lease_id"]
    assert answer["progress"]["labeled"] == 1
    history = app_client.get(f"/api/items/{served['item']['id']}/history").json()
    assert [e["id"] for e in history] == [event["id"]]


def test_stale_lease_and_changed_item_get_409(app_client: TestClient, project: Path) -> None:
    headers = login(app_client, "ann")
    served = next_served(app_client, headers)["served"]
    label_truth(app_client, headers, served)
    twice = app_client.post(
        "/api/labels", json={"lease_id": served["lease_id"], "value": "1"}, headers=headers
    )
    assert twice.status_code == 409 and "closed" in twice.json()["detail"]
    nxt = next_served(app_client, headers)["served"]
    ws = Workspace.open(project)
    ws.store.record_label(ws.project.id, nxt["item"]["id"], "3", annotator="other")
    ws.close()
    changed = app_client.post(
        "/api/labels", json={"lease_id": nxt["lease_id"], "value": "1"}, headers=headers
    )
    assert changed.status_code == 409 and "changed since it was served" in changed.json()["detail"]
    assert len(app_client.get(f"/api/items/{nxt['item']['id']}/history").json()) == 1
    other = login(app_client, "bob")
    fresh = next_served(app_client, other)["served"]
    stolen = app_client.post(
        "/api/labels",
        json={"lease_id": fresh["lease_id"], "value": "1"},
        headers=login(app_client, "ann"),
    )
    assert stolen.status_code == 409 and "another user" in stolen.json()["detail"]


def test_skip_moves_on_without_losing_the_item(app_client: TestClient) -> None:
    headers = login(app_client, "ann")
    first = next_served(app_client, headers)["served"]
    skipped = app_client.post(f"/api/leases/{first['lease_id']}/skip", headers=headers)
    assert skipped.status_code == 204
    second = next_served(app_client, headers)["served"]
    assert second["item"]["id"] != first["item"]["id"]
    bob = login(app_client, "bob")
    assert next_served(app_client, bob)["served"]["item"]["id"] == first["item"]["id"]


def test_bad_labels_are_refused(app_client: TestClient) -> None:
    headers = login(app_client, "ann")
    served = next_served(app_client, headers)["served"]
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
    served = next_served(app_client, headers)["served"]
    item = served["item"]["id"]
    first = label_truth(app_client, headers, served)["event"]
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


def test_auto_labels_review_accept_and_correct(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "auto", auto_label_threshold=0.3, auto_label_min_labels=20, retrain_every=1000
    )
    app = create_app(root, start_training=False)
    with TestClient(app) as client:
        headers = login(client, "rita")
        for _ in range(30):
            label_truth(client, headers, next_served(client, headers)["served"])
        client.post("/api/training", headers=headers)
        wait_idle(client)
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
            served = next_served(client, headers)["served"]
            assert served["current"] is None
            label_truth(client, headers, served)
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
            label_truth(client, headers, next_served(client, headers)["served"])
        assert client.get("/api/training").json()["runs"] == []
        label_truth(client, headers, next_served(client, headers)["served"])
        app.state.trainer.wait(60)
        runs = client.get("/api/training").json()["runs"]
        assert [(r["trigger"], r["status"]) for r in runs] == [("labels", "succeeded")]


def test_annotators_change_only_their_own_work(app_client: TestClient) -> None:
    """Another person's label, a review and an item someone else holds are reviewers' business."""
    ann = login(app_client, "ann")
    mine = label_truth(app_client, ann, next_served(app_client, ann)["served"])["event"]
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
    held = next_served(app_client, bob)["served"]["item"]["id"]  # bob holds a lease on it now
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
    answered = label_truth(app_client, ann, next_served(app_client, ann)["served"])["event"]
    item = answered["item_id"]
    on_screen = next_served(app_client, ann)["served"]["item"]["id"]
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
    assert next_served(app_client, bob)["served"]["item"]["id"] == on_screen


BOXES = LabelSchema(task="detection", classes=("cat", "dog"))
DIGITS = LabelSchema(task="classification", classes=("0", "1"))
BOX = {"x": 1, "y": 2, "width": 3, "height": 4, "label": "cat", "score": 0.5}


def test_a_classification_guess_needs_a_label_and_a_confidence() -> None:
    guess = _guess(1, "1", 0.75, DIGITS)
    assert guess is not None and guess.model_dump() == {"label": "1", "confidence": 0.75}
    assert _guess(1, None, 0.75, DIGITS) is None
    assert _guess(1, "1", None, DIGITS) is None


def test_detection_proposals_are_read_from_their_json_boxes() -> None:
    guess = _guess(1, json.dumps([BOX]), 0.5, BOXES)
    assert guess is not None and guess.model_dump()["boxes"][0]["label"] == "cat"
    assert guess.model_dump()["confidence"] == 0.5
    empty = _guess(1, "[]", None, BOXES)
    assert empty is not None and empty.model_dump() == {"boxes": [], "confidence": None}
    assert _guess(1, None, None, BOXES) is None


@pytest.mark.parametrize(
    "stored",
    [
        "not json",
        json.dumps({"boxes": []}),
        json.dumps([{**BOX, "width": -1}]),
        json.dumps([{**BOX, "label": "horse"}]),
    ],
    ids=["not-json", "not-a-list", "bad-box", "unknown-class"],
)
def test_bad_stored_proposals_are_logged_and_left_out(
    stored: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="labelloop.server"):
        assert _guess(42, stored, 0.5, BOXES) is None
    assert "item 42: ignoring proposals" in caplog.text


def test_an_annotator_changes_only_unlabeled_items_and_their_own_last_answer(
    app_client: TestClient,
) -> None:
    ws: Workspace = app_client.app.state.ws  # type: ignore[attr-defined]
    people, pid = ws.store.people, ws.project.id
    ann, bob, rita = (Caller(people.user(n), "token") for n in ("ann", "bob", "rita"))
    first, second = ws.store.items(pid)[:2]
    assert _annotators_own(ws, ann, first.id, "change") is None  # unlabeled
    [event] = ws.store.record_labels(
        pid, [LabelInput(first.id, "3", annotator="ann", user_id=ann.user.id)]
    )
    assert _annotators_own(ws, ann, first.id, "undo") == event.id
    assert _annotators_own(ws, rita, first.id, "undo") is None  # a reviewer may change anything
    with pytest.raises(HTTPException) as refused:
        _annotators_own(ws, bob, first.id, "undo")
    assert refused.value.status_code == 403
    assert refused.value.detail.startswith("to undo another person's label")
    ws.store.leases.serve_item(pid, second.id, bob.user.id, ttl=timedelta(minutes=5))
    with pytest.raises(HTTPException) as held:
        _annotators_own(ws, ann, second.id, "change")
    assert held.value.status_code == 403 and "someone else" in held.value.detail
    assert _annotators_own(ws, bob, second.id, "change") is None
