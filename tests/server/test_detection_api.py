"""The HTTP API of a detection project: pages, proposals, box labels, corrections, review."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from labelloop.server.app import create_app
from tests.server.conftest import login
from tests.server.detection_fixtures import (
    add_auto_labels,
    add_proposals,
    item_ids,
    make_detection_project,
)

CAT = {"x": 4.0, "y": 6.0, "width": 20.0, "height": 10.0, "label": "cat"}
DOG = {"x": 50.0, "y": 20.0, "width": 30.0, "height": 40.0, "label": "dog"}
BIRD = {"x": 0.0, "y": 0.0, "width": 96.0, "height": 64.0, "label": "bird"}


def _scored(box: dict[str, Any], score: float) -> dict[str, Any]:
    """A proposal as a round stores it: its score and its likeliest classes."""
    return {**box, "score": score, "classes": {box["label"]: 1.0}}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_detection_project(
        tmp_path_factory.mktemp("template") / "det", show_prediction="prefill"
    )


@pytest.fixture
def det_root(template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the template project (creating one costs seconds of password hashing)."""
    return Path(shutil.copytree(template, tmp_path / "det"))


@pytest.fixture
def client(det_root: Path) -> Iterator[TestClient]:
    with TestClient(create_app(det_root, start_training=False)) as client:
        yield client


def _next(client: TestClient, headers: dict[str, str], url: str = "/api/queue/next") -> Any:
    response = client.post(url, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["served"]


def _next_and_skip(client: TestClient, headers: dict[str, str]) -> Any:
    """Serve an item and hand it back, so that the next call serves the next one."""
    served = _next(client, headers)
    skipped = client.post(f"/api/leases/{served['lease_id']}/skip", headers=headers)
    assert skipped.status_code == 204, skipped.text
    return served


def _submit(client: TestClient, headers: dict[str, str], lease_id: int, value: Any) -> Any:
    return client.post("/api/labels", json={"lease_id": lease_id, "value": value}, headers=headers)


def _history(client: TestClient, item_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/api/items/{item_id}/history")
    assert response.status_code == 200, response.text
    return list(response.json())


def test_label_and_review_pages_are_the_box_editor(client: TestClient) -> None:
    for route in ("/label", "/review"):
        page = client.get(route)
        assert page.status_code == 200
        assert "/static/detect.js" in page.text
    assert "/static/history.js" in client.get("/history").text
    assert client.get("/static/boxes.js").status_code == 200


def test_classification_pages_are_unchanged(app_client: TestClient) -> None:
    assert "/static/label.js" in app_client.get("/label").text
    assert "/static/review.js" in app_client.get("/review").text


def test_proposals_are_served_as_boxes(det_root: Path, client: TestClient) -> None:
    ids = item_ids(det_root)
    add_proposals(det_root, {ids[2]: [_scored(CAT, 0.9), _scored(DOG, 0.4)], ids[0]: []})
    headers = login(client, "ann")

    first = _next_and_skip(client, headers)
    assert first["item"]["id"] == ids[2]
    assert first["prediction"] == {
        "boxes": [_scored(CAT, 0.9), _scored(DOG, 0.4)],
        "confidence": 0.4,
    }
    assert (first["rank"], first["uncertainty"]) == (0, 1.0)
    second = _next(client, headers)
    assert second["item"]["id"] == ids[0]
    assert second["prediction"] == {"boxes": [], "confidence": None}


@pytest.mark.parametrize("show", ["after", "never"])
def test_proposals_follow_show_prediction(det_root: Path, client: TestClient, show: str) -> None:
    ids = item_ids(det_root)
    add_proposals(det_root, {ids[1]: [_scored(DOG, 0.7)]})
    admin = login(client, "admin")
    changed = client.patch("/api/project/settings", json={"show_prediction": show}, headers=admin)
    assert changed.status_code == 200, changed.text
    headers = login(client, "ann")
    served = _next(client, headers)
    answered = _submit(client, headers, served["lease_id"], [CAT])
    assert served["item"]["id"] == ids[1]
    assert answered.status_code == 201, answered.text
    after = answered.json()["prediction"]
    if show == "after":
        # Proposals are there to be accepted or corrected: shown while labeling too.
        assert served["prediction"] == {"boxes": [_scored(DOG, 0.7)], "confidence": 0.7}
        assert after == {"boxes": [_scored(DOG, 0.7)], "confidence": 0.7}
    else:
        assert served["prediction"] is None and after is None


def test_submitted_boxes_are_recorded_exactly(client: TestClient) -> None:
    headers = login(client, "ann")
    served = _next(client, headers)
    # Whole-pixel coordinates as the editor sends them; the store keeps floats.
    sent = [
        {"x": 4, "y": 6, "width": 20, "height": 10, "label": "cat"},
        {"x": 50.5, "y": 20, "width": 30, "height": 40, "label": "dog"},
    ]
    response = _submit(client, headers, served["lease_id"], sent)
    assert response.status_code == 201, response.text
    event = response.json()["event"]
    assert event["value"] == [CAT, {**DOG, "x": 50.5}]
    assert (event["action"], event["source"], event["annotator"]) == ("label", "human", "ann")
    assert _history(client, served["item"]["id"])[-1]["value"] == event["value"]


@pytest.mark.parametrize(
    "value",
    [
        [{**CAT, "label": "horse"}],
        [CAT, {**DOG, "width": 0}],
        [{**CAT, "x": -1}],
        [{"x": 1, "y": 1, "width": 2, "label": "cat"}],
        [{**CAT, "score": 0.9}],
        [{**CAT, "x": "4"}],
        "cat",
        {"boxes": [CAT]},
    ],
    ids=[
        "unknown-class",
        "zero-width",
        "negative-x",
        "missing-height",
        "extra-key",
        "string-coordinate",
        "class-name",
        "not-a-list",
    ],
)
def test_bad_boxes_are_refused_and_nothing_is_recorded(client: TestClient, value: Any) -> None:
    headers = login(client, "ann")
    served = _next(client, headers)
    refused = _submit(client, headers, served["lease_id"], value)
    assert refused.status_code == 422, refused.text
    assert _history(client, served["item"]["id"]) == []
    # The lease is still open: a good answer after the refusal goes through.
    assert _submit(client, headers, served["lease_id"], [CAT]).status_code == 201


def test_no_objects_is_a_label(client: TestClient) -> None:
    headers = login(client, "ann")
    served = _next(client, headers)
    response = _submit(client, headers, served["lease_id"], [])
    assert response.status_code == 201, response.text
    assert response.json()["event"]["value"] == []
    assert response.json()["progress"]["labeled"] == 1
    current = client.get(f"/api/items/{served['item']['id']}").json()["current"]
    assert current["value"] == []
    later = [_next_and_skip(client, headers)["item"]["id"] for _ in range(3)]
    assert served["item"]["id"] not in later


def test_correction_and_undo_of_box_lists(client: TestClient) -> None:
    headers = login(client, "ann")
    served = _next(client, headers)
    item_id = served["item"]["id"]
    first = _submit(client, headers, served["lease_id"], [CAT]).json()["event"]
    corrected = client.post(
        f"/api/items/{item_id}/labels",
        json={"value": [CAT, DOG], "expected_event_id": first["id"]},
        headers=headers,
    )
    assert corrected.status_code == 201, corrected.text
    stale = client.post(
        f"/api/items/{item_id}/labels",
        json={"value": [BIRD], "expected_event_id": first["id"]},
        headers=headers,
    )
    assert stale.status_code == 409
    assert stale.json()["current_event_id"] == corrected.json()["id"]
    undone = client.post(
        f"/api/items/{item_id}/undo",
        json={"expected_event_id": corrected.json()["id"]},
        headers=headers,
    )
    assert undone.status_code == 201, undone.text

    events = _history(client, item_id)
    assert [e["action"] for e in events] == ["label", "correct", "undo"]
    assert [e["value"] for e in events] == [[CAT], [CAT, DOG], [CAT]]
    assert events[1]["supersedes_id"] == events[0]["id"]


def test_corrupt_proposals_do_not_break_the_queue(
    det_root: Path, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    ids = item_ids(det_root)
    add_proposals(
        det_root,
        {
            ids[0]: "{not json",
            ids[1]: '[{"x": 1, "label": "cat", "score": 0.5}]',
            ids[2]: [_scored({**CAT, "label": "horse"}, 0.8)],
            ids[3]: [_scored(BIRD, 0.6)],
        },
    )
    headers = login(client, "ann")
    with caplog.at_level(logging.WARNING, logger="labelloop.server"):
        served = [_next_and_skip(client, headers) for _ in ids]
    assert [s["item"]["id"] for s in served] == ids
    assert [s["prediction"] for s in served[:3]] == [None, None, None]
    assert served[3]["prediction"]["boxes"] == [_scored(BIRD, 0.6)]
    warned = [r.getMessage() for r in caplog.records if r.name == "labelloop.server"]
    assert len(warned) == 3
    assert all(f"item {item_id}:" in w for item_id, w in zip(ids[:3], warned, strict=True))


def test_review_accepts_or_corrects_auto_boxes(det_root: Path, client: TestClient) -> None:
    ids = item_ids(det_root)
    add_auto_labels(
        det_root, {ids[0]: [_scored(CAT, 0.95), _scored(DOG, 0.5)], ids[1]: [_scored(BIRD, 0.8)]}
    )
    headers = login(client, "rita")

    least_sure = _next(client, headers, "/api/review/next")
    assert least_sure["item"]["id"] == ids[0]
    assert least_sure["current"]["value"] == [CAT, DOG]
    assert least_sure["current"]["confidence"] == 0.5
    accepted = client.post(
        "/api/review",
        json={"lease_id": least_sure["lease_id"], "value": [CAT, DOG]},
        headers=headers,
    )
    assert accepted.json()["event"]["action"] == "accept"

    other = _next(client, headers, "/api/review/next")
    moved = {**BIRD, "x": 10.0, "width": 40.0}
    corrected = client.post(
        "/api/review", json={"lease_id": other["lease_id"], "value": [moved]}, headers=headers
    )
    assert corrected.json()["event"]["action"] == "correct"
    assert [e["value"] for e in _history(client, ids[1])] == [[BIRD], [moved]]
    assert _next(client, headers, "/api/review/next") is None


def test_box_formats_are_served_as_zips_with_their_images(client: TestClient) -> None:
    import io
    import json
    import zipfile

    headers = login(client, "ann")
    served = _next(client, headers)
    assert _submit(client, headers, served["lease_id"], [CAT]).status_code == 201
    login(client, "rita")
    coco = client.get("/api/export?format=coco")
    assert coco.status_code == 200 and coco.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(coco.content)).namelist()
    assert names[0] == "coco/coco.json" and any(n.endswith(".png") for n in names)
    document = json.loads(zipfile.ZipFile(io.BytesIO(coco.content)).read(names[0]))
    assert len(document["annotations"]) == 1
    for fmt in ("yolo", "voc", "labelstudio"):
        answer = client.get(f"/api/export?format={fmt}")
        assert answer.status_code == 200, (fmt, answer.text)
        assert zipfile.ZipFile(io.BytesIO(answer.content)).namelist(), fmt
    # A box project has no ImageFolder tree (it was a 22-byte empty zip).
    assert client.get("/api/export?format=imagefolder").status_code == 422
