"""Auto labels and review outcomes (labelloop.store.auto_labels), straight against the store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from labelloop.data.labels import UnknownClassError
from labelloop.store import Store, UnknownItemError


def _hold(store: Store, project_id: int, item_id: int) -> None:
    """Have a new annotator hold a lease on ``item_id``."""
    user = store.people.create_user(f"holder{item_id}", "x", "annotator").id
    store.leases.serve_item(project_id, item_id, user, ttl=timedelta(minutes=10))


def test_auto_labels_leave_held_and_human_labeled_items_alone(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    held, human, doubt = item_ids[:3]
    _hold(store, project_id, held)
    store.record_label(project_id, human, "dog")
    predictions = [(i, "cat", 0.99) for i in item_ids]
    written = store.leases.record_auto_labels(
        project_id, model_version="m1", predictions=predictions, threshold=0.9
    )
    labels = store.current_labels(project_id)
    assert written == len(item_ids) - 2
    assert held not in labels and labels[human].value == "dog"
    # Agreeing again writes nothing; losing confidence withdraws the auto label.
    again = store.leases.record_auto_labels(
        project_id, model_version="m2", predictions=predictions, threshold=0.9
    )
    assert again == 0
    store.leases.record_auto_labels(
        project_id, model_version="m3", predictions=[(doubt, "cat", 0.5)], threshold=0.9
    )
    assert doubt not in store.current_labels(project_id)
    assert store.history(project_id, doubt)[-1].action == "retract"


def test_an_auto_label_carries_its_model_and_confidence(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    at, below = item_ids[:2]
    written = store.leases.record_auto_labels(
        project_id,
        model_version="m4",
        predictions=[(at, "bird", 0.9), (below, "cat", 0.89)],
        threshold=0.9,
    )
    assert written == 1
    labels = store.current_labels(project_id)
    assert below not in labels
    event = labels[at]
    assert (event.value, event.source, event.action) == ("bird", "auto", "label")
    assert event.model_version == "m4"
    assert event.confidence == pytest.approx(0.9)


def test_a_new_model_disagreeing_replaces_the_auto_label(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    item = item_ids[0]
    store.leases.record_auto_labels(
        project_id, model_version="m1", predictions=[(item, "cat", 0.95)], threshold=0.9
    )
    written = store.leases.record_auto_labels(
        project_id, model_version="m2", predictions=[(item, "dog", 0.97)], threshold=0.9
    )
    assert written == 1
    current = store.current_labels(project_id)[item]
    assert (current.value, current.model_version, current.seq) == ("dog", "m2", 2)


def test_bad_predictions_are_refused_and_write_nothing(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    with pytest.raises(UnknownClassError):
        store.leases.record_auto_labels(
            project_id,
            model_version="m1",
            predictions=[(item_ids[0], "cat", 0.99), (item_ids[1], "zebra", 0.99)],
            threshold=0.9,
        )
    with pytest.raises(UnknownItemError):
        store.leases.record_auto_labels(
            project_id, model_version="m1", predictions=[(10**6, "cat", 0.99)], threshold=0.9
        )
    assert store.current_labels(project_id) == {}


def test_review_outcomes_count_only_answers_to_auto_labels(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    a, b, c, d = item_ids[:4]
    store.leases.record_auto_labels(
        project_id,
        model_version="m1",
        predictions=[(a, "cat", 0.99), (b, "cat", 0.99), (c, "cat", 0.99)],
        threshold=0.9,
    )
    assert store.leases.review_outcomes(project_id) == {"accepted": 0, "corrected": 0}
    store.record_label(project_id, a, "cat")
    store.record_label(project_id, b, "dog")
    store.record_label(project_id, c, "dog")
    # A person correcting a person's label is no review of an auto label.
    store.record_label(project_id, d, "cat")
    store.record_label(project_id, d, "dog")
    store.record_label(project_id, c, "bird")
    assert store.leases.review_outcomes(project_id) == {"accepted": 1, "corrected": 2}
