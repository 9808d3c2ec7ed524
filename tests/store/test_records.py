"""The plain records and errors of labelloop.store.records."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, get_args

import pytest

from labelloop.store import (
    LABEL_SOURCES,
    Item,
    LabelConflictError,
    LabelSource,
    LeaseConflictError,
    ModelRecord,
    NewItem,
    Store,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_label_sources_list_every_source_the_type_allows() -> None:
    assert get_args(LabelSource) == LABEL_SOURCES


def test_a_model_version_is_its_id_with_an_m() -> None:
    model = ModelRecord(id=3, snapshot_id=1, learner="knn", path=None, metrics={}, created_at=NOW)
    assert model.version == "m3"


def test_a_label_conflict_says_which_item_and_event_are_current() -> None:
    error = LabelConflictError("item 4 changed", item_id=4, current_event_id=17)
    assert (str(error), error.item_id, error.current_event_id) == ("item 4 changed", 4, 17)
    with pytest.raises(LabelConflictError) as caught:
        raise LeaseConflictError("lease expired", item_id=None, current_event_id=None)
    assert (caught.value.item_id, caught.value.current_event_id) == (None, None)


def test_records_from_the_store_cannot_be_changed(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    event = store.record_label(project_id, item_ids[0], "cat")
    item = store.item(project_id, item_ids[0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.value = "dog"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.split = "val"  # type: ignore[misc]
    assert store.current_labels(project_id)[item_ids[0]].value == "cat"


def test_an_item_is_built_by_keyword_and_a_new_item_needs_no_label() -> None:
    image: dict[str, Any] = {
        "sha256": "0" * 64,
        "name": "a.png",
        "uri": "a.png",
        "width": 8,
        "height": 8,
        "mode": "L",
        "format": "PNG",
    }
    item = Item(**image, id=1, project_id=2, split=None)
    assert (item.provenance, item.meta) == (None, None)
    with pytest.raises(TypeError):
        Item(*image.values(), 1, 2, None)  # type: ignore[call-arg]
    new = NewItem(**image, size_bytes=100)
    assert (new.size_bytes, new.label, new.provenance, new.meta) == (100, None, None, None)
