"""labelloop.server.routes_data: the data browser's pages, filters, rights and thumbnails."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from PIL import Image

from labelloop.loop import Workspace
from labelloop.server.app import create_app
from labelloop.server.routes_data import THUMBNAIL_SIZES, browse, facets, thumbnail
from labelloop.server.security import Caller
from tests.server.conftest import login, make_project, request_to, truth


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    root = make_project(tmp_path / "proj", per_class=3, retrain_every=1000)
    with TestClient(create_app(root, start_training=False)) as c:
        yield c


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One project for the module's tests that only read (and sign in)."""
    root = make_project(tmp_path_factory.mktemp("data") / "proj", per_class=1)
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
def test_bad_queries_get_422(reader: TestClient, params: dict[str, Any]) -> None:
    login(reader, "admin")
    response = reader.get("/api/items", params=params)
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


def _caller(client: TestClient, username: str) -> Caller:
    ws: Workspace = client.app.state.ws  # type: ignore[attr-defined]
    return Caller(ws.store.people.user(username), "token")


def test_the_functions_check_the_right_to_browse_themselves(client: TestClient) -> None:
    request = request_to(client.app)  # type: ignore[arg-type]
    ann = _caller(client, "ann")
    for call in (lambda: browse(request, ann), lambda: facets(request, ann)):
        with pytest.raises(HTTPException) as refused:
            call()
        assert refused.value.status_code == 403
    rita = _caller(client, "rita")
    page = browse(request, rita, limit=4, sort="name", order="desc")
    names = [row.item.name for row in page.items]
    assert page.total == 30 and names == sorted(names, reverse=True) and len(names) == 4
    assert facets(request, rita).classes == [str(d) for d in range(10)]


def test_a_thumbnail_size_must_be_one_of_the_offered_sizes(client: TestClient) -> None:
    request = request_to(client.app)  # type: ignore[arg-type]
    item = browse(request, _caller(client, "admin"), limit=1).items[0].item.id
    with pytest.raises(HTTPException) as refused:
        thumbnail(item, request, _caller(client, "admin"), size=100)
    assert refused.value.status_code == 422
    assert refused.value.detail[0]["msg"] == (  # type: ignore[index]
        f"size must be one of {list(THUMBNAIL_SIZES)}, got 100"
    )
    for size in THUMBNAIL_SIZES:
        made = thumbnail(item, request, _caller(client, "admin"), size=size)
        image = Image.open(io.BytesIO(bytes(made.body)))
        assert max(image.size) == min(size, 8)  # the digits are 8x8 images: never enlarged
    assert made.headers["cache-control"] == "private, max-age=86400"


def test_an_unreadable_image_is_a_404_and_nothing_is_cached(client: TestClient) -> None:
    ws: Workspace = client.app.state.ws  # type: ignore[attr-defined]
    item = ws.store.items(ws.project.id)[0]
    ws.image_path(item).write_bytes(b"not an image any more")
    login(client, "admin")
    broken = client.get(f"/api/items/{item.id}/thumbnail")
    assert broken.status_code == 404 and "cannot be read" in broken.json()["detail"]
    assert not list((ws.root / "cache" / "thumbnails").rglob("*"))


def test_a_cached_thumbnail_is_served_as_it_was_made(client: TestClient) -> None:
    login(client, "admin")
    ws: Workspace = client.app.state.ws  # type: ignore[attr-defined]
    item = ws.store.items(ws.project.id)[0]
    first = client.get(f"/api/items/{item.id}/thumbnail", params={"size": 96}).content
    ws.image_path(item).unlink()  # the cache answers without the image
    assert client.get(f"/api/items/{item.id}/thumbnail", params={"size": 96}).content == first
    assert client.get(f"/api/items/{item.id}/thumbnail", params={"size": 160}).status_code == 404
