"""The pool (labelloop.store.items): content deduplication, imported labels, lookups."""

from __future__ import annotations

from dataclasses import replace

from labelloop.store import Store
from tests.store.conftest import new_item


def test_duplicate_content_is_stored_once(store: Store, project_id: int) -> None:
    first = store.add_items(project_id, [new_item(1), new_item(2)])
    again = store.add_items(project_id, [new_item(2), new_item(3), new_item(3)])
    assert [i.sha256 for i in again.added] == [new_item(3).sha256]
    by_sha = {i.sha256: i.id for i in first.added + again.added}
    assert sorted(again.duplicates) == sorted(
        [("img_2.png", by_sha[new_item(2).sha256]), ("img_3.png", by_sha[new_item(3).sha256])]
    )
    assert len(store.items(project_id)) == 3


def test_imported_labels_become_events(store: Store, project_id: int) -> None:
    result = store.add_items(project_id, [new_item(1, "cat"), new_item(2)], annotator="folder")
    labels = store.current_labels(project_id)
    assert list(labels) == [result.added[0].id]
    assert (labels[result.added[0].id].source, labels[result.added[0].id].annotator) == (
        "import",
        "folder",
    )


def test_items_are_found_by_id_content_hash_or_name(store: Store, project_id: int) -> None:
    added = store.add_items(project_id, [new_item(i) for i in range(12)]).added
    tenth = added[10]
    assert store.find_items(project_id, tenth.sha256) == [tenth]
    assert store.find_items(project_id, "img_10.png") == [tenth]
    assert store.find_items(project_id, str(tenth.id)) == [tenth]
    assert store.find_items(project_id, "9" * 30) == []  # past the integer range: no error
    assert store.find_items(project_id, "nothing") == []


def test_image_kinds_are_the_distinct_modes_and_sizes(store: Store, project_id: int) -> None:
    color = replace(new_item(1), mode="RGB", width=16, height=4)
    store.add_items(project_id, [new_item(0), color, new_item(2)])
    assert store.image_kinds(project_id) == [("L", 8, 8), ("RGB", 4, 16)]
