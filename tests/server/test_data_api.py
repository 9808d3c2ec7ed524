"""The data browser's API: pages, filters, rights, thumbnails, and bad queries (422, not 500)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from labelloop.server.app import create_app
from tests.server.conftest import login, make_project, truth


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    root = make_project(tmp_path / "proj", per_class=3, retrain_every=1000)
    with TestClient(create_app(root, start_training=False)) as c:
        yield c


def _label_some(client: TestClient, n: int) -> list[dict[str, Any]]:
    """Label the first ``n`` items as admin, through the API."""
    headers = login(client, "admin")
    items: list[dict[str, Any]] = client.get("/api/items", params={"limit": n}).json()["items"]
    for row in items:
        response = client.post(
            f"/api/items/{row['item']['id']}/labels",
            json={"value": truth(row["item"]["name"]), "expected_event_id": None},
            headers=headers,
        )
        assert response.status_code == 201, response.text
    return items


def test_a_filtered_sorted_page_with_its_total(client: TestClient) -> None:
    labeled = _label_some(client, 6)
    everything = client.get("/api/items").json()
    assert everything["total"] == 30 and len(everything["items"]) == 30
    first = everything["items"][0]
    assert first["thumbnail_url"] == f"/api/items/{first['item']['id']}/thumbnail"
    assert first["origin"] == "human" and first["annotator"] == "admin"
    assert first["value"] == truth(first["item"]["name"])

    digit = truth(labeled[0]["item"]["name"])
    by_label = client.get("/api/items", params={"label": digit}).json()
    assert by_label["total"] >= 1
    assert all(row["value"] == digit for row in by_label["items"])
    unlabeled = client.get("/api/items", params={"origin": "unlabeled", "limit": 10, "offset": 20})
    page = unlabeled.json()
    assert page["total"] == 24 and len(page["items"]) == 4
    assert all(row["value"] is None and row["origin"] == "unlabeled" for row in page["items"])
    newest = client.get("/api/items", params={"sort": "updated", "order": "desc", "limit": 1})
    assert newest.json()["items"][0]["item"]["id"] == labeled[-1]["item"]["id"]
    facets = client.get("/api/item-facets").json()
    assert facets["annotators"] == ["admin"] and "unlabeled" in facets["origins"]
    assert "outlier" in facets["flags"] and "confidence" in facets["sorts"]


def test_browsing_is_a_reviewers_right_unless_the_project_allows_it(client: TestClient) -> None:
    login(client, "ann")
    refused = client.get("/api/items")
    assert refused.status_code == 403
    assert "team.annotators_export" in refused.json()["detail"]
    assert client.get("/api/item-facets").status_code == 403
    login(client, "rita")
    assert client.get("/api/items").status_code == 200
    headers = login(client, "admin")
    opened = client.patch(
        "/api/project/settings", json={"team.annotators_export": True}, headers=headers
    )
    assert opened.status_code == 200, opened.text
    login(client, "ann")
    assert client.get("/api/items").status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "nonsense"},
        {"order": "sideways"},
        {"limit": 0},
        {"limit": 201},
        {"offset": -1},
        {"offset": 2**63},
        {"min_confidence": 1.5},
        {"origin": "martian"},
        {"flag": "bad"},
        {"split": "test"},
        {"since": "yesterday"},
        {"label": "x" * 201},
    ],
)
def test_bad_queries_get_422(client: TestClient, params: dict[str, Any]) -> None:
    login(client, "admin")
    response = client.get("/api/items", params=params)
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list)


def test_thumbnails_are_small_upright_jpegs_made_once(client: TestClient) -> None:
    login(client, "admin")
    row = client.get("/api/items", params={"limit": 1}).json()["items"][0]
    response = client.get(row["thumbnail_url"], params={"size": 96})
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "JPEG" and max(image.size) <= 96
    root = client.app.state.ws.root  # type: ignore[attr-defined]
    cached = list((root / "cache" / "thumbnails" / "96").glob("*.jpg"))
    assert [p.name for p in cached] == [f"{row['item']['sha256']}.jpg"]
    assert client.get(row["thumbnail_url"], params={"size": 97}).status_code == 422
    assert client.get("/api/items/999999/thumbnail").status_code == 404
