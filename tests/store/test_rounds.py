"""Rounds and rankings (labelloop.store.rounds): numbering, the chunked swap, the queue."""

from __future__ import annotations

from typing import Any

import pytest

from labelloop.store import RankedItem, Store, UnknownModelError
from tests.store.conftest import new_item, record_round


def test_an_item_queued_before_any_round_does_not_make_the_first_round_number_two(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    store.enqueue(project_id, item_ids[0])  # e.g. an outlier put up for review at import
    assert [r.number for r in store.rounds(project_id)] == [0]
    snapshot = store.create_snapshot(project_id, note="round")
    first = store.add_round(
        project_id,
        snapshot_id=snapshot.id,
        model_id=None,
        strategy="random",
        ranking=[RankedItem(item_id=i, score=None) for i in item_ids],
        batch_size=2,
        metrics={},
    )
    assert first.number == 1


def test_a_long_ranking_is_swapped_in_chunks_and_read_only_when_whole(
    store: Store, project_id: int
) -> None:
    ids = [item.id for item in store.add_items(project_id, [new_item(i) for i in range(25)]).added]
    snapshot = store.create_snapshot(project_id)

    def record(ranking: list[RankedItem], **kw: Any) -> Any:
        return store.add_round(
            project_id,
            snapshot_id=snapshot.id,
            model_id=None,
            strategy="margin",
            ranking=ranking,
            batch_size=3,
            metrics={},
            **kw,
        )

    first = record([RankedItem(i, 0.5) for i in ids[:4]])
    seen: list[tuple[int, int, list[int]]] = []

    def peek(done: int, total: int) -> None:
        # Mid-swap, readers still get the previous ranking whole.
        seen.append((done, total, [item.id for item, _ in store.queue(project_id)]))

    second = record(
        [RankedItem(i, 1.0 - n / 25) for n, i in enumerate(ids[::-1])], chunk_size=10, on_chunk=peek
    )
    assert [(d, t) for d, t, _ in seen] == [(10, 25), (20, 25), (25, 25)]
    assert all(queue == ids[:4] for _, _, queue in seen)
    assert [item.id for item, _ in store.queue(project_id)] == ids[::-1]
    assert [r.number for r in store.rounds(project_id)] == [first.number, second.number]

    # A swap that dies half-way is never read, and the next one clears it.
    def die(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        record([RankedItem(i) for i in ids], chunk_size=10, on_chunk=die)
    assert [item.id for item, _ in store.queue(project_id)] == ids[::-1]
    assert [r.number for r in store.rounds(project_id)] == [1, 2]
    third = record([RankedItem(i) for i in ids[:12]], chunk_size=5)
    assert third.number == 3
    assert [item.id for item, _ in store.queue(project_id)] == ids[:12]
    with pytest.raises(ValueError, match="chunk_size"):
        record([], chunk_size=0)


def test_enqueued_items_go_to_the_head_of_the_ranking(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    a, b, c, d = item_ids[:4]
    record_round(store, project_id, [RankedItem(i, 0.5, "cat", 0.6) for i in (a, b, c)])
    store.enqueue(project_id, d, score=9.0)
    store.enqueue(project_id, c)  # ranked already: moved up, keeping its prediction
    assert [(i.id, s) for i, s in store.queue(project_id)] == [
        (c, 0.5),
        (d, 9.0),
        (a, 0.5),
        (b, 0.5),
    ]
    assert store.prediction(project_id, c) == ("cat", 0.6)
    assert store.prediction(project_id, d) is None
    assert [i.id for i, _ in store.queue(project_id, limit=2)] == [c, d]
    store.record_label(project_id, c, "dog")
    assert [i.id for i, _ in store.queue(project_id)] == [d, a, b]


def test_the_ranking_view_scores_places_between_zero_and_one(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    assert store.ranking_view(project_id, item_ids).entries == {}
    a, b, c = item_ids[:3]
    record_round(store, project_id, [RankedItem(a, 0.1, "cat", 0.9), RankedItem(b), RankedItem(c)])
    view = store.ranking_view(project_id, item_ids)
    assert view.round_number == 1 and sorted(view.entries) == sorted([a, b, c])
    scores = [view.entries[i].score for i in (a, b, c)]
    assert scores == sorted(scores) and scores[0] > 0 and scores[-1] <= 1
    assert (view.entries[a].predicted, view.entries[a].confidence) == ("cat", 0.9)


def test_models_are_registered_then_given_their_weights(store: Store, project_id: int) -> None:
    snapshot = store.create_snapshot(project_id)
    model = store.add_model(project_id, snapshot.id, "logistic", {"accuracy": 0.5})
    assert (model.path, model.version) == (None, f"m{model.id}")
    store.set_model_path(model.id, "models/m1.joblib")
    assert store.model(model.id).path == "models/m1.joblib"
    with pytest.raises(UnknownModelError, match=str(model.id + 7)):
        store.set_model_path(model.id + 7, "x")
    with pytest.raises(UnknownModelError):
        store.model(model.id + 7)
