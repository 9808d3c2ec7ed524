"""Dashboard counts of labelloop.store.stats, straight against the store."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta

import pytest

from labelloop.store import Store
from tests.store.conftest import new_item


def _auto(store: Store, project_id: int, item_id: int, value: str) -> None:
    store.leases.record_auto_labels(
        project_id, model_version="m1", predictions=[(item_id, value, 0.99)], threshold=0.9
    )


def test_progress_splits_the_pool_by_who_labeled_it(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    assert store.stats.progress(project_id) == {
        "items": 5,
        "labeled": 0,
        "auto_labeled": 0,
        "unlabeled": 5,
    }
    store.record_label(project_id, item_ids[0], "cat")
    store.record_label(project_id, item_ids[1], "dog", source="oracle")
    _auto(store, project_id, item_ids[2], "bird")
    store.record_label(project_id, item_ids[3], "cat")
    store.undo(project_id, item_ids[3])
    assert store.stats.progress(project_id) == {
        "items": 5,
        "labeled": 2,
        "auto_labeled": 1,
        "unlabeled": 2,
    }


def test_progress_counts_items_added_since_it_last_counted(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    assert store.stats.progress(project_id)["items"] == 5
    store.add_items(project_id, [new_item(i) for i in range(5, 8)])
    assert store.stats.progress(project_id)["items"] == 8
    other = store.create_project("q", {"task": "classification", "classes": ["x"]}).id
    assert store.stats.progress(other)["items"] == 0


def test_labels_over_time_counts_answers_per_hour_and_source(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    first = store.record_label(project_id, item_ids[0], "cat")
    store.record_label(project_id, item_ids[0], "dog")
    store.record_label(project_id, item_ids[1], "dog", source="oracle")
    store.undo(project_id, item_ids[1])  # an undo is no answer
    _auto(store, project_id, item_ids[2], "bird")
    rows = store.stats.labels_over_time(project_id)
    assert {(r["source"], r["count"]) for r in rows} == {("auto", 1), ("human", 2), ("oracle", 1)}
    hour = first.created_at.replace(minute=0, second=0, microsecond=0)
    hours = {datetime.fromisoformat(r["hour"]) for r in rows}
    # Events written within a second of each other share an hour, unless one crossed it.
    assert hour in hours and all(timedelta(0) <= h - hour <= timedelta(hours=1) for h in hours)


def test_class_balance_counts_current_labels_per_class_and_source(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    store.record_label(project_id, item_ids[0], "cat")
    store.record_label(project_id, item_ids[0], "dog")  # only the current label counts
    store.record_label(project_id, item_ids[1], "dog")
    store.record_label(project_id, item_ids[2], "cat", source="oracle")
    _auto(store, project_id, item_ids[3], "dog")
    assert store.stats.class_balance(project_id) == {
        "dog": {"human": 2, "auto": 1},
        "cat": {"oracle": 1},
    }


def test_class_balance_counts_each_box_of_a_detection_label(store: Store) -> None:
    project = store.create_project("boxes", {"task": "detection", "classes": ["car", "tree"]}).id
    items = [item.id for item in store.add_items(project, [new_item(i) for i in range(3)]).added]

    def box(label: str) -> dict[str, object]:
        return {"x": 0.0, "y": 0.0, "width": 2.0, "height": 2.0, "label": label}

    store.record_label(project, items[0], [box("car"), box("car"), box("tree")])
    store.record_label(project, items[1], [box("car")])
    store.record_label(project, items[2], [])
    assert store.stats.class_balance(project) == {"car": {"human": 3}, "tree": {"human": 1}}


def test_annotators_report_counts_and_median_time_from_serving_to_answer(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    ann = store.people.create_user("ann", "x", "annotator").id
    waits = []
    for item in item_ids[:3]:
        lease = store.leases.serve_item(project_id, item, ann, ttl=timedelta(minutes=5)).lease
        event = store.leases.submit(project_id, lease.id, user_id=ann, annotator="ann", value="cat")
        waits.append((event.created_at - lease.created_at).total_seconds())
    # Labels given without a lease count, but have no serving time.
    last = store.record_label(project_id, item_ids[3], "dog", annotator="zed")
    store.record_label(project_id, item_ids[4], "dog", annotator=None)
    _auto(store, project_id, item_ids[4], "cat")
    rows = store.stats.annotators(project_id)
    assert [(r["annotator"], r["labels"]) for r in rows] == [("ann", 3), ("zed", 1)]
    assert rows[0]["median_seconds"] == pytest.approx(statistics.median(waits))
    assert rows[1]["median_seconds"] is None
    assert datetime.fromisoformat(rows[1]["last_label_at"]) == last.created_at
