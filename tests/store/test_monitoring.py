"""The monitor's records: reports, flags, metadata originals, predictions beside labels."""

from __future__ import annotations

from datetime import timedelta

import pytest

from labelloop.store import FlagInput, MetadataValue, RankedItem, Store
from tests.store.conftest import record_round


def test_reports_are_listed_newest_first_by_kind(store: Store, project_id: int) -> None:
    first = store.monitor.add_report(project_id, "data_drift", body={"p": 0.5}, summary="ok")
    store.monitor.add_report(project_id, "stopping", body={}, summary="continue")
    last = store.monitor.add_report(
        project_id, "data_drift", body={"p": 0.001}, summary="drift", alert=True
    )
    drift = store.monitor.reports(project_id, "data_drift")
    assert [r.id for r in drift] == [last.id, first.id]
    assert drift[0].alert and drift[0].body == {"p": 0.001}
    assert store.monitor.latest(project_id, "stopping") is not None
    assert store.monitor.latest(project_id, "outliers") is None


def test_flags_stay_one_per_item_and_kind_until_resolved(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    a, b = item_ids[:2]
    store.monitor.add_report(
        project_id,
        "outliers",
        body={},
        summary="",
        flags=[FlagInput(a, 0.9), FlagInput(b, 0.5)],
        flag_kind="outlier",
    )
    again = store.monitor.add_report(
        project_id, "outliers", body={}, summary="", flags=[FlagInput(a, 0.7)], flag_kind="outlier"
    )
    flags = store.monitor.flags(project_id, "outlier")
    assert [(f.item_id, f.score) for f in flags] == [(a, 0.7), (b, 0.5)]
    assert flags[0].report_id == again.id
    assert store.monitor.resolve(project_id, [a], "outlier", resolution="dismissed") == 1
    assert store.monitor.flagged_items(project_id, "outlier") == {b}
    closed = [
        f for f in store.monitor.flags(project_id, "outlier", open_only=False) if f.item_id == a
    ]
    assert closed[0].resolution == "dismissed" and closed[0].resolved_at is not None


def test_flags_need_a_kind(store: Store, project_id: int, item_ids: list[int]) -> None:
    with pytest.raises(ValueError, match="flag_kind"):
        store.monitor.add_report(
            project_id, "outliers", body={}, summary="", flags=[FlagInput(item_ids[0])]
        )
    assert store.monitor.reports(project_id) == []


def test_metadata_original_survives_recleaning(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    item = item_ids[0]
    store.monitor.record_metadata(
        project_id, [MetadataValue(item, "speed", -3.0, 12.0, "impossible")], report_id=None
    )
    store.monitor.record_metadata(
        project_id, [MetadataValue(item, "speed", 99.0, 11.0, "impossible")], report_id=None
    )
    (value,) = store.monitor.metadata(project_id)
    assert (value.original, value.cleaned, value.reason) == (-3.0, 11.0, "impossible")


def test_prediction_outcomes_pair_first_labels_with_the_prediction_then(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    a, b, c = item_ids[:3]
    record_round(
        store, project_id, [RankedItem(a, 1.0, "cat", 0.6), RankedItem(b, 0.9, "dog", 0.7)]
    )
    store.record_label(project_id, a, "cat", annotator="rita")
    record_round(store, project_id, [RankedItem(b, 1.0, "bird", 0.5)])
    store.record_label(project_id, b, "dog", annotator="rita")
    store.record_label(project_id, c, "dog", annotator="rita")  # never ranked: no prediction
    store.record_label(project_id, a, "dog", annotator="rita")  # a correction, not a first label
    outcomes = store.monitor.prediction_outcomes(project_id)
    assert [(o.item_id, o.predicted, o.value, o.error) for o in outcomes] == [
        (a, "cat", "cat", False),
        (b, "bird", "dog", True),
    ]


def test_review_serves_flagged_items_first_and_an_answer_resolves_the_flag(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    a, b, c = item_ids[:3]
    store.record_label(project_id, a, "cat", source="auto", model_version="m", confidence=0.2)
    store.record_label(project_id, b, "cat", source="auto", model_version="m", confidence=0.9)
    store.record_label(project_id, c, "dog", annotator="rita")  # a person's label
    user = store.people.create_user("rev", "x", "reviewer")
    store.monitor.add_report(
        project_id,
        "label_errors",
        body={},
        summary="",
        flags=[FlagInput(c)],
        flag_kind="label_error",
    )
    store.monitor.add_report(
        project_id,
        "concept_drift",
        body={},
        summary="",
        flags=[FlagInput(b)],
        flag_kind="concept_drift",
    )
    order = []
    for _ in range(3):
        served = store.leases.serve(project_id, user.id, kind="review", ttl=timedelta(minutes=5))
        assert served is not None
        order.append(served.item.id)
        event = store.leases.submit(
            project_id, served.lease.id, user_id=user.id, annotator="rev", value="cat"
        )
        if served.item.id == c:
            assert event.action == "correct"
    assert order == [b, c, a]
    assert store.monitor.flagged_items(project_id, "label_error") == set()
    assert store.monitor.flagged_items(project_id, "concept_drift") == set()
    resolved = store.monitor.flags(project_id, open_only=False)
    assert {f.resolution for f in resolved} == {"accept", "correct"}


def test_auto_labels_before_a_moment_are_found(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    a, b, c = item_ids[:3]
    store.record_label(project_id, a, "cat", source="auto", model_version="m", confidence=0.9)
    store.record_label(project_id, c, "cat", source="auto", model_version="m", confidence=0.9)
    store.record_label(project_id, c, "dog", annotator="rita")  # reviewed: no longer auto
    later = store.record_label(
        project_id, b, "dog", source="auto", model_version="m", confidence=0.9
    )
    assert store.monitor.auto_labeled_before(project_id, later.created_at) == [a]


def test_annotations_keep_each_persons_latest_answer_on_shared_items(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    a, b = item_ids[:2]
    store.record_label(project_id, a, "cat", annotator="rita")
    store.record_label(project_id, a, "dog", annotator="sam")
    store.record_label(project_id, a, "bird", annotator="rita")  # rita changed her mind
    store.record_label(project_id, b, "cat", annotator="rita")  # one person only
    assert store.monitor.annotations(project_id) == {a: {"rita": "bird", "sam": "dog"}}


def test_suspect_labels_are_reviewed_by_need(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    a, b, c = item_ids[:3]
    for item in (a, b, c):
        store.record_label(project_id, item, "cat", annotator="rita")
    store.monitor.add_report(
        project_id,
        "label_errors",
        body={},
        summary="",
        flags=[FlagInput(a, 0.2), FlagInput(b, 0.9), FlagInput(c, 0.5)],
        flag_kind="label_error",
    )
    user = store.people.create_user("rev", "x", "reviewer")
    order = []
    for _ in range(3):
        served = store.leases.serve(project_id, user.id, kind="review", ttl=timedelta(minutes=5))
        assert served is not None
        order.append(served.item.id)
        store.leases.submit(
            project_id, served.lease.id, user_id=user.id, annotator="rev", value="cat"
        )
    assert order == [b, c, a]
