"""Response bodies built from store records (labelloop.server.schemas)."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import UTC, datetime
from types import SimpleNamespace

from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from labelloop.server.schemas import EventOut, FromRecord
from labelloop.store import LabelEvent
from tests.server.conftest import login


def _event() -> LabelEvent:
    return LabelEvent(
        id=3,
        item_id=7,
        seq=2,
        value="cat",
        source="human",
        action="correct",
        annotator="ann",
        model_version=None,
        confidence=None,
        supersedes_id=2,
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def test_a_record_response_carries_the_records_fields_in_its_order() -> None:
    event = _event()
    out = EventOut.of(event)
    dumped = TypeAdapter(EventOut).dump_python(out)
    assert dumped == asdict(event) and list(dumped) == [f.name for f in fields(LabelEvent)]


def test_the_api_schema_of_a_record_response_requires_every_field_defaults_included() -> None:
    schema = TypeAdapter(EventOut).json_schema(mode="serialization")
    assert list(schema["properties"]) == [f.name for f in fields(LabelEvent)]
    assert schema["required"] == list(schema["properties"])  # lease_id has a default
    assert schema["description"] == "One label event."


class _LinkOut(FromRecord):
    id: int
    url: str
    tags: list[str]


def test_a_response_reads_the_record_but_for_the_fields_given() -> None:
    record = SimpleNamespace(id=4, url="/stale", tags=("a", "b"))
    out = _LinkOut.of(record, url="/items/4")
    assert out.model_dump() == {"id": 4, "url": "/items/4", "tags": ["a", "b"]}
    assert _LinkOut.of(record).url == "/stale"


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
