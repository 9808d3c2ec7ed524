"""Response bodies built from store records (labelloop.server.schemas)."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import UTC, datetime
from types import SimpleNamespace

from pydantic import TypeAdapter

from labelloop.server.schemas import EventOut, FromRecord
from labelloop.store import LabelEvent


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
