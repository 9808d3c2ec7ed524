"""The data browser's pages, on SQLite and PostgreSQL: every filter, sort and the count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from labelloop.store import FlagInput, ItemQuery, LabelInput, RankedItem, Store
from tests.store.conftest import new_item, record_round


@pytest.fixture
def seeded(store: Store, project_id: int) -> list[int]:
    """Eight items: two labeled by ann, one by bob, two auto-labeled (one then
    reviewed), one imported with its label, two unlabeled; a ranking; a flag."""
    added = store.add_items(
        project_id, [new_item(i) for i in range(7)] + [new_item(7, label="bird")]
    ).added
    ids = [item.id for item in added]
    store.record_labels(
        project_id,
        [
            LabelInput(ids[0], "cat", source="human", annotator="ann"),
            LabelInput(ids[1], "dog", source="human", annotator="ann"),
            LabelInput(ids[2], "cat", source="human", annotator="bob"),
        ],
    )
    store.leases.record_auto_labels(
        project_id,
        model_version="m1",
        predictions=[(ids[3], "dog", 0.97), (ids[4], "cat", 0.95)],
        threshold=0.9,
    )
    store.record_labels(project_id, [LabelInput(ids[4], "dog", source="human", annotator="rita")])
    record_round(
        store,
        project_id,
        [RankedItem(ids[5], 0.9, "bird", 0.40), RankedItem(ids[6], 0.2, "cat", 0.80)],
    )
    store.monitor.add_report(
        project_id,
        "outliers",
        body={},
        summary="",
        flags=[FlagInput(ids[6], 0.9)],
        flag_kind="outlier",
    )
    return ids


def _ids(store: Store, project_id: int, **query: object) -> list[int]:
    page = store.catalog.page(project_id, ItemQuery(**query))  # type: ignore[arg-type]
    return [row.item.id for row in page.rows]


def test_each_filter_picks_its_items(store: Store, project_id: int, seeded: list[int]) -> None:
    i = seeded
    pid = project_id
    assert _ids(store, pid) == i
    assert _ids(store, pid, label="cat") == [i[0], i[2]]
    assert _ids(store, pid, label="dog") == [i[1], i[3], i[4]]
    assert _ids(store, pid, origin="human") == [i[0], i[1], i[2]]
    assert _ids(store, pid, origin="reviewed") == [i[4]]
    assert _ids(store, pid, origin="auto") == [i[3]]
    assert _ids(store, pid, origin="import") == [i[7]]
    assert _ids(store, pid, origin="unlabeled") == [i[5], i[6]]
    assert _ids(store, pid, annotator="ann") == [i[0], i[1]]
    assert _ids(store, pid, split="none") == [i[5], i[6]]
    assert set(_ids(store, pid, split="train")) | set(_ids(store, pid, split="val")) == set(
        [*i[:5], i[7]]
    )
    assert _ids(store, pid, flag="outlier") == [i[6]]
    assert _ids(store, pid, flag="label_error") == []
    # The ranking's confidence for unlabeled items, the auto label's otherwise.
    assert _ids(store, pid, min_confidence=0.5) == [i[3], i[6]]
    assert _ids(store, pid, max_confidence=0.5) == [i[5]]
    assert _ids(store, pid, name="IMG_7") == [i[7]]
    assert _ids(store, pid, origin="human", label="cat", annotator="bob") == [i[2]]
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert _ids(store, pid, since=later) == []
    assert _ids(store, pid, until=later) == i


def test_sorts_pages_and_counts(store: Store, project_id: int, seeded: list[int]) -> None:
    i = seeded
    pid = project_id
    assert _ids(store, pid, sort="uncertainty", descending=True)[:2] == [i[5], i[6]]
    assert _ids(store, pid, sort="confidence", descending=True)[:3] == [i[3], i[6], i[5]]
    assert _ids(store, pid, sort="id", descending=True) == i[::-1]
    labels = [
        row.value for row in store.catalog.page(pid, ItemQuery(sort="label", origin="human")).rows
    ]
    assert labels == ["cat", "cat", "dog"]
    page = store.catalog.page(pid, ItemQuery(offset=2, limit=3))
    assert page.total == 8 and [row.item.id for row in page.rows] == i[2:5]
    filtered = store.catalog.page(pid, ItemQuery(label="dog", limit=1))
    assert filtered.total == 3 and len(filtered.rows) == 1
    row = store.catalog.page(pid, ItemQuery(flag="outlier")).rows[0]
    assert (row.origin, row.value, row.flags, row.confidence) == (
        "unlabeled",
        None,
        ("outlier",),
        0.8,
    )
    assert row.uncertainty == pytest.approx(0.2)
    reviewed = store.catalog.page(pid, ItemQuery(origin="reviewed")).rows[0]
    assert (reviewed.value, reviewed.annotator) == ("dog", "rita")
    assert store.catalog.annotators(pid) == ["ann", "bob", "rita"]


def test_boxes_match_by_class(store: Store) -> None:
    pid = store.create_project("det", {"task": "detection", "classes": ["a_b", "axb"]}).id
    ids = [item.id for item in store.add_items(pid, [new_item(i) for i in range(3)]).added]
    box = {"x": 0.0, "y": 0.0, "width": 2.0, "height": 2.0}
    store.record_labels(
        pid,
        [
            LabelInput(ids[0], [{**box, "label": "a_b"}], source="human", annotator="ann"),
            LabelInput(ids[1], [{**box, "label": "axb"}, {**box, "label": "axb"}], source="human"),
            LabelInput(ids[2], [], source="human", annotator="ann"),
        ],
    )
    # "_" is matched as itself, not as LIKE's any-character.
    assert _ids(store, pid, label="a_b") == [ids[0]]
    assert _ids(store, pid, label="axb") == [ids[1]]


@pytest.mark.parametrize("sort", ["uncertainty", "confidence"])
@pytest.mark.parametrize("descending", [False, True])
def test_ranking_sorts_page_like_one_full_sort(
    store: Store, project_id: int, sort: str, descending: bool
) -> None:
    """Paging through the index-walked ranking gives the order of one full sort:
    by the value (ties by id), items without one last by id, at every offset."""
    ids = [item.id for item in store.add_items(project_id, [new_item(i) for i in range(40)]).added]
    # Ten auto labels outside the ranking, with their confidence; ties on purpose.
    store.leases.record_auto_labels(
        project_id,
        model_version="m1",
        predictions=[(i, "cat", 0.91 + (n % 3) / 100) for n, i in enumerate(ids[30:])],
        threshold=0.9,
    )
    record_round(
        store,
        project_id,
        [
            RankedItem(
                i,
                None if n % 7 == 0 else round((n * 37 % 11) / 10, 1),
                "dog",
                None if n % 5 == 0 else round((n * 13 % 9) / 10, 1),
            )
            for n, i in enumerate(ids[:25])
        ],
        batch_size=5,
    )
    everything = store.catalog.page(project_id, ItemQuery(limit=100)).rows
    value = {r.item.id: getattr(r, sort) for r in everything}
    with_value = sorted((v, i) for i, v in value.items() if v is not None)
    if descending:
        with_value.reverse()
    without = sorted((i for i, v in value.items() if v is None), reverse=descending)
    expected = [i for _, i in with_value] + without
    for limit in (1, 7, 40):
        paged: list[int] = []
        for offset in range(0, 45, limit):
            paged += _ids(
                store, project_id, sort=sort, descending=descending, offset=offset, limit=limit
            )
        assert paged == expected, (limit, paged, expected)
    assert _ids(store, project_id, sort=sort, descending=descending, min_confidence=0.5) == [
        i
        for i in expected
        if (c := {r.item.id: r.confidence for r in everything}[i]) is not None and c >= 0.5
    ]
