"""The lease rules of labelloop.store.queue, straight against the store (no HTTP)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from labelloop.store import LeaseConflictError, RankedItem, Served, Store
from labelloop.store.queue import Queue
from tests import postgres
from tests.store.conftest import CLASSES, new_item, record_round

TTL = timedelta(minutes=10)
GONE = timedelta(seconds=-1)
"""A lease that has expired the moment it is written."""


def _user(store: Store, name: str) -> int:
    return store.people.create_user(name, "x", "annotator").id


def _rank(store: Store, project_id: int, item_ids: list[int]) -> None:
    """Record a round whose ranking is ``item_ids``, first served first."""
    record_round(store, project_id, [RankedItem(i, float(n)) for n, i in enumerate(item_ids)])


def _serve(store: Store, project_id: int, user_id: int, ttl: timedelta = TTL) -> Served:
    served = store.leases.serve(project_id, user_id, ttl=ttl)
    assert served is not None
    return served


def test_items_are_served_in_ranking_order_and_never_to_two_people(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    order = item_ids[::-1]
    _rank(store, project_id, order)
    users = [_user(store, f"u{n}") for n in range(len(item_ids))]
    served = [_serve(store, project_id, u) for u in users]
    assert [s.item.id for s in served] == order
    assert [(s.rank, s.lease.user_id) for s in served] == list(enumerate(users))
    assert store.leases.serve(project_id, _user(store, "late"), ttl=TTL) is None
    assert store.leases.holder(project_id, order[0]) == users[0]


def test_concurrent_annotators_are_each_leased_a_different_item(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    users = [_user(store, f"u{n}") for n in range(len(item_ids))]
    got: dict[int, int] = {}
    lock = threading.Lock()

    def ask(user_id: int) -> None:
        served = _serve(store, project_id, user_id)
        with lock:
            got[user_id] = served.item.id

    threads = [threading.Thread(target=ask, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got.values()) == sorted(item_ids)


def test_asking_again_while_the_lease_runs_gives_the_same_lease(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    ann = _user(store, "ann")
    first = _serve(store, project_id, ann)
    again = _serve(store, project_id, ann)
    assert (again.lease.id, again.item.id) == (first.lease.id, first.item.id)


def test_an_expired_lease_frees_its_item_and_refuses_its_answer(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    _rank(store, project_id, item_ids)
    ann, bob = _user(store, "ann"), _user(store, "bob")
    lapsed = _serve(store, project_id, ann, ttl=GONE)
    assert store.leases.holder(project_id, lapsed.item.id) is None
    with pytest.raises(LeaseConflictError, match="has expired"):
        store.leases.submit(project_id, lapsed.lease.id, user_id=ann, annotator="ann", value="cat")
    taken = _serve(store, project_id, bob)
    assert taken.item.id == lapsed.item.id
    with pytest.raises(LeaseConflictError, match=r"already closed \(expired\)"):
        store.leases.skip(project_id, lapsed.lease.id, user_id=ann)
    assert store.current_labels(project_id) == {}


def test_an_answer_labels_the_item_and_closes_the_lease(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    _rank(store, project_id, item_ids)
    ann = _user(store, "ann")
    served = _serve(store, project_id, ann)
    event = store.leases.submit(
        project_id, served.lease.id, user_id=ann, annotator="a", value="dog"
    )
    assert (event.item_id, event.value, event.lease_id) == (served.item.id, "dog", served.lease.id)
    assert store.leases.holder(project_id, served.item.id) is None
    assert _serve(store, project_id, ann).item.id == item_ids[1]
    with pytest.raises(LeaseConflictError, match=r"already closed \(answered\)"):
        store.leases.submit(project_id, served.lease.id, user_id=ann, annotator="a", value="cat")


def test_a_lease_answers_only_for_its_own_user(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    ann, bob = _user(store, "ann"), _user(store, "bob")
    served = _serve(store, project_id, ann)
    with pytest.raises(LeaseConflictError, match="belongs to another user"):
        store.leases.submit(project_id, served.lease.id, user_id=bob, annotator="b", value="cat")
    with pytest.raises(LeaseConflictError, match="does not exist"):
        store.leases.skip(project_id, served.lease.id + 1000, user_id=ann)


def test_a_label_written_meanwhile_releases_the_lease(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    _rank(store, project_id, item_ids)
    ann = _user(store, "ann")
    served = _serve(store, project_id, ann)
    store.record_label(project_id, served.item.id, "bird", source="import")
    with pytest.raises(LeaseConflictError, match="changed since it was served"):
        store.leases.submit(project_id, served.lease.id, user_id=ann, annotator="a", value="cat")
    assert [e.value for e in store.history(project_id, served.item.id)] == ["bird"]
    # Asking again hands out the next item, not the one labeled meanwhile.
    assert _serve(store, project_id, ann).item.id == item_ids[1]


def test_a_skipped_item_comes_back_to_its_user_only_when_nothing_else_is_left(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    _rank(store, project_id, item_ids)
    ann, bob = _user(store, "ann"), _user(store, "bob")
    skipped = _serve(store, project_id, ann)
    store.leases.skip(project_id, skipped.lease.id, user_id=ann)
    assert _serve(store, project_id, bob).item.id == skipped.item.id
    store.leases.skip(project_id, _serve(store, project_id, bob).lease.id, user_id=bob)
    for expected in item_ids[1:]:
        served = _serve(store, project_id, ann)
        assert served.item.id == expected
        store.leases.submit(project_id, served.lease.id, user_id=ann, annotator="a", value="cat")
    assert _serve(store, project_id, ann).item.id == skipped.item.id


def test_serving_a_given_item_hands_back_the_users_other_lease(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    _rank(store, project_id, item_ids)
    ann, bob = _user(store, "ann"), _user(store, "bob")
    first = _serve(store, project_id, ann)
    chosen = store.leases.serve_item(project_id, item_ids[3], ann, ttl=TTL)
    assert chosen.item.id == item_ids[3]
    assert store.leases.holder(project_id, first.item.id) is None
    with pytest.raises(LeaseConflictError, match="someone else"):
        store.leases.serve_item(project_id, item_ids[3], bob, ttl=TTL)
    store.record_label(project_id, item_ids[4], "cat")
    with pytest.raises(LeaseConflictError, match="has a label"):
        store.leases.serve_item(project_id, item_ids[4], bob, ttl=TTL)


def test_reviewers_get_the_least_confident_auto_label_and_their_answers_are_counted(
    store: Store, project_id: int, item_ids: list[int]
) -> None:
    a, b = item_ids[:2]
    store.leases.record_auto_labels(
        project_id,
        model_version="m1",
        predictions=[(a, "cat", 0.99), (b, "dog", 0.95)],
        threshold=0.9,
    )
    rev = _user(store, "rev")
    answers = {a: "cat", b: "bird"}
    order = []
    for _ in answers:
        served = store.leases.serve(project_id, rev, kind="review", ttl=TTL)
        assert served is not None and served.current is not None
        order.append(served.item.id)
        store.leases.submit(
            project_id, served.lease.id, user_id=rev, annotator="r", value=answers[served.item.id]
        )
    assert order == [b, a]
    assert store.leases.review_outcomes(project_id) == {"accepted": 1, "corrected": 1}
    assert store.leases.serve(project_id, rev, kind="review", ttl=TTL) is None


def test_an_item_another_process_is_choosing_is_skipped_not_fought_over(
    postgres_url_template: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B has chosen item X and not yet leased it; A, asking at that moment, is
    served the next item at once (SKIP LOCKED) instead of colliding on X or
    waiting; B then leases X. Before, both chose X, one lost on the open-lease
    index and chose again, and 20 annotators exhausted the retries (409s)."""
    url = postgres.create_database(postgres_url_template, "lease_race")
    a, b = Store(url, create=True), Store(url)
    try:
        pid = a.create_project("p", {"task": "classification", "classes": CLASSES}).id
        ids = [item.id for item in a.add_items(pid, [new_item(i) for i in range(2)]).added]
        ann = a.people.create_user("ann", "x", "annotator").id
        bob = a.people.create_user("bob", "x", "annotator").id
        ttl = timedelta(minutes=10)
        choose = Queue._next_to_label
        raced: list[int] = []
        other: list[int] = []

        def meanwhile(self: Queue, s: Any, project_id: int, user_id: int, now: Any) -> Any:
            item = choose(self, s, project_id, user_id, now)
            if not raced and item is not None and user_id == bob:
                raced.append(item.id)
                served = a.leases.serve(pid, ann, ttl=ttl)  # A: another process, right now
                assert served is not None
                other.append(served.item.id)
            return item

        monkeypatch.setattr(Queue, "_next_to_label", meanwhile)
        served = b.leases.serve(pid, bob, ttl=ttl)
        assert len(raced) == 1 and raced[0] in ids
        assert other and other[0] != raced[0], "ann was given the item bob was leasing"
        assert served is not None and served.item.id == raced[0]
        assert sorted([other[0], served.item.id]) == sorted(ids)
    finally:
        a.close()
        b.close()
