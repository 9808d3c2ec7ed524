"""Two server processes choosing the same item at the same moment on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from labelloop.store import Store
from labelloop.store.queue import Queue
from tests import postgres
from tests.store.conftest import CLASSES, new_item


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
