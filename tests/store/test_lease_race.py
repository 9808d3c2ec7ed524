"""Two server processes choosing the same item at the same moment on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from labelloop.store import Store
from labelloop.store.queue import Queue
from tests import postgres
from tests.store.conftest import CLASSES, new_item


def test_an_item_labeled_while_another_process_chose_it_is_not_leased(
    postgres_url_template: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B reads item X as free; before B inserts its lease, A leases X, labels it and
    commits (its lease closes). B must not lease a labeled item: it chooses again."""
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

        def stale_choice(self: Queue, s: Any, project_id: int, user_id: int, now: Any) -> Any:
            item = choose(self, s, project_id, user_id, now)
            if not raced and item is not None and user_id == bob:
                raced.append(item.id)
                served = a.leases.serve(pid, ann, ttl=ttl)  # A: another process
                assert served is not None and served.item.id == item.id
                a.leases.submit(pid, served.lease.id, user_id=ann, annotator="ann", value="cat")
            return item

        monkeypatch.setattr(Queue, "_next_to_label", stale_choice)
        served = b.leases.serve(pid, bob, ttl=ttl)
        assert len(raced) == 1 and raced[0] in ids
        assert served is not None
        assert served.item.id != raced[0], "bob was leased the item ann had just labeled"
        assert served.current is None
    finally:
        a.close()
        b.close()
