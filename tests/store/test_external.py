"""Links to outside labeling tools (labelloop.store.external), straight against the store."""

from __future__ import annotations

import pytest

from labelloop.data.labels import UnknownClassError
from labelloop.store import ExternalLinks, ExternalSource, Store, UnknownItemError

LS = ExternalSource("labelstudio", "7")


@pytest.fixture
def links(store: Store) -> ExternalLinks:
    return store.external


def test_a_task_is_linked_once_to_the_first_item(
    links: ExternalLinks, project_id: int, item_ids: list[int]
) -> None:
    a, b = item_ids[:2]
    assert links.link_task(project_id, LS, 1, a) == a
    assert links.link_task(project_id, LS, 1, b) == a
    assert links.link_task(project_id, LS, 2, b) == b
    assert links.task_items(project_id, LS) == {1: a, 2: b}
    assert links.task_items(project_id, LS, [2, 99]) == {2: b}


def test_each_outside_project_keeps_its_own_task_ids(
    links: ExternalLinks, project_id: int, item_ids: list[int]
) -> None:
    other = ExternalSource("labelstudio", "8")
    links.link_task(project_id, LS, 1, item_ids[0])
    assert links.link_task(project_id, other, 1, item_ids[1]) == item_ids[1]
    assert links.task_items(project_id, LS) == {1: item_ids[0]}
    assert links.task_items(project_id, other) == {1: item_ids[1]}


def test_a_task_cannot_link_an_item_of_another_project(
    store: Store, links: ExternalLinks, project_id: int, item_ids: list[int]
) -> None:
    other = store.create_project("q", {"task": "classification", "classes": ["x"]}).id
    with pytest.raises(UnknownItemError):
        links.link_task(other, LS, 1, item_ids[0])
    assert links.task_items(other, LS) == {}


def test_an_annotation_is_written_once_per_content(
    store: Store, links: ExternalLinks, project_id: int, item_ids: list[int]
) -> None:
    item = item_ids[0]
    outcome, event = links.record_annotation(
        project_id, LS, 10, item, "cat", digest="d1", annotator="ann"
    )
    assert outcome == "recorded" and event is not None
    assert (event.value, event.source, event.action, event.annotator) == (
        "cat",
        "human",
        "label",
        "ann",
    )
    # The same webhook again writes nothing.
    again = links.record_annotation(project_id, LS, 10, item, "cat", digest="d1", annotator="ann")
    assert again == ("unchanged", None)
    # A changed annotation supersedes the event it wrote.
    outcome, changed = links.record_annotation(
        project_id, LS, 10, item, "dog", digest="d2", annotator="ann"
    )
    assert outcome == "recorded" and changed is not None
    assert (changed.action, changed.supersedes_id) == ("correct", event.id)
    assert [e.value for e in store.history(project_id, item)] == ["cat", "dog"]


def test_an_annotation_that_does_not_fit_the_project_writes_nothing(
    store: Store, links: ExternalLinks, project_id: int, item_ids: list[int]
) -> None:
    with pytest.raises(UnknownClassError):
        links.record_annotation(
            project_id, LS, 10, item_ids[0], "zebra", digest="d1", annotator="ann"
        )
    assert store.history(project_id, item_ids[0]) == []
    # No link was kept: the corrected annotation is recorded, not taken as a repeat.
    outcome, _ = links.record_annotation(
        project_id, LS, 10, item_ids[0], "cat", digest="d1", annotator="ann"
    )
    assert outcome == "recorded"


def test_deleting_an_annotation_undoes_its_label_once(
    store: Store, links: ExternalLinks, project_id: int, item_ids: list[int]
) -> None:
    item = item_ids[0]
    store.record_label(project_id, item, "bird")
    links.record_annotation(project_id, LS, 10, item, "cat", digest="d1", annotator="ann")
    outcome, event = links.delete_annotation(project_id, LS, 10, annotator="ann")
    assert outcome == "undone" and event is not None
    assert (event.action, event.value) == ("undo", "bird")
    assert store.current_labels(project_id)[item].value == "bird"
    assert links.delete_annotation(project_id, LS, 10, annotator="ann") == ("gone", None)
    # A deleted annotation sent again does not come back.
    again = links.record_annotation(project_id, LS, 10, item, "dog", digest="d2", annotator="ann")
    assert again == ("gone", None)
    assert store.current_labels(project_id)[item].value == "bird"


def test_deleting_an_annotation_keeps_a_label_written_since(
    store: Store, links: ExternalLinks, project_id: int, item_ids: list[int]
) -> None:
    item = item_ids[0]
    links.record_annotation(project_id, LS, 10, item, "cat", digest="d1", annotator="ann")
    store.record_label(project_id, item, "dog")
    assert links.delete_annotation(project_id, LS, 10, annotator="ann") == ("gone", None)
    assert store.current_labels(project_id)[item].value == "dog"
    assert links.delete_annotation(project_id, LS, 99, annotator="ann") == ("gone", None)
