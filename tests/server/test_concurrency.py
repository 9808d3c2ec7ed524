"""Many annotators against one live ``labelloop serve``: leases stay exclusive, no answer is lost.

Every test runs the real server as a subprocess on loopback and drives it with
httpx clients, each its own annotator account holding an API token. The
checks read the SQLite file afterwards, so they see what was committed, not
what the server said.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from labelloop.loop import Workspace, run_round
from labelloop.server.security import hash_password
from tests.server.conftest import LiveServer, make_project, start_server, truth

_TIMEOUT = 30.0


@dataclass(frozen=True)
class _Ack:
    """A label the server acknowledged with 201."""

    event_id: int
    item_id: int
    value: str
    annotator: str
    lease_id: int


@dataclass
class _Tally:
    """What a pool of load clients saw, shared between their threads."""

    acks: list[_Ack] = field(default_factory=list)
    unanswered: list[tuple[str, int, str]] = field(default_factory=list)  # name, lease, value
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _prepare(root: Path, n_annotators: int) -> dict[str, str]:
    """Add annotators with API tokens and rank the pool once, before the server starts.

    The cold-start round keeps the server from training at start-up, so the
    queue order is fixed unless a test asks for retraining.

    Returns:
        Each new annotator's API token, by username.
    """
    ws = Workspace.open(root)
    try:
        secret = hash_password("load-client-password")
        tokens = {}
        for i in range(n_annotators):
            user = ws.store.people.create_user(f"load{i:02d}", secret, "annotator")
            tokens[user.username] = ws.store.people.issue(user.id, "token", name="load")[0]
        run_round(ws)
    finally:
        ws.close()
    return tokens


@contextmanager
def _serving(root: Path) -> Iterator[LiveServer]:
    server = start_server(root)
    try:
        yield server
    finally:
        server.stop()


def _client(server: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"authorization": f"Bearer {token}"}, timeout=_TIMEOUT
    )


@contextmanager
def _two_annotators(root: Path) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """A live server on ``root`` and the clients of two new annotators, load00 and load01."""
    tokens = _prepare(root, 2)
    with (
        _serving(root) as server,
        _client(server, tokens["load00"]) as ann,
        _client(server, tokens["load01"]) as bob,
    ):
        yield ann, bob


@contextmanager
def _database(root: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the project's SQLite file (safe beside a live server: WAL)."""
    uri = f"file:{root / 'labelloop.db'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as connection:
        yield connection


def _in_parallel(work: Callable[[str, str], None], tokens: dict[str, str]) -> None:
    """Run ``work(name, token)`` on one thread per client; re-raise the first failure."""
    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        futures = [pool.submit(work, name, token) for name, token in tokens.items()]
        for future in futures:
            future.result()


def _label_loop(
    server: LiveServer, name: str, token: str, tally: _Tally, keep_going: Callable[[], bool]
) -> None:
    """next → label with the true digit, until ``keep_going`` says stop or the queue is empty.

    A request cut off on the wire (the server died) ends the loop; a submit
    cut off that way is recorded as unanswered, since it may or may not have
    been committed.
    """
    with _client(server, token) as client:
        while keep_going():
            try:
                response = client.post("/api/queue/next")
            except httpx.TransportError:
                return
            if response.status_code != 200:
                with tally.lock:
                    tally.unexpected.append(f"next {response.status_code}: {response.text}")
                return
            served = response.json()["served"]
            if served is None:
                return
            lease, value = served["lease_id"], truth(served["item"]["name"])
            try:
                answer = client.post("/api/labels", json={"lease_id": lease, "value": value})
            except httpx.TransportError:
                with tally.lock:
                    tally.unanswered.append((name, lease, value))
                return
            with tally.lock:
                if answer.status_code == 201:
                    event = answer.json()["event"]
                    tally.acks.append(_Ack(event["id"], event["item_id"], value, name, lease))
                else:
                    tally.unexpected.append(f"label {answer.status_code}: {answer.text}")


def _queue_events(db: sqlite3.Connection) -> dict[int, tuple[int, str, str, str, int]]:
    """Label events answering a lease: id → (item, value, source, annotator, lease)."""
    rows = db.execute(
        "SELECT id, item_id, value, source, annotator, lease_id FROM label_events"
        " WHERE lease_id IS NOT NULL"
    )
    return {row[0]: (row[1], json.loads(row[2]), row[3], row[4], row[5]) for row in rows}


def _assert_acks_stored(db: sqlite3.Connection, acks: list[_Ack]) -> None:
    """Every acknowledged label is in the database as it was acknowledged."""
    stored = _queue_events(db)
    missing = [a for a in acks if a.event_id not in stored]
    assert not missing, f"{len(missing)} acknowledged labels are missing, e.g. {missing[:3]}"
    for ack in acks:
        expected = (ack.item_id, ack.value, "human", ack.annotator, ack.lease_id)
        assert stored[ack.event_id] == expected, (ack, stored[ack.event_id])


def _assert_each_item_answered_once(db: sqlite3.Connection) -> None:
    """A lease admits one answer and an item one open lease, so the queue labels an item once."""
    per_item = Counter(item for item, *_ in _queue_events(db).values())
    twice = {item: n for item, n in per_item.items() if n > 1}
    assert not twice, f"items answered more than once through the queue: {twice}"


def _assert_leases_handed_over_cleanly(db: sqlite3.Connection) -> None:
    """An item passed to a new lease only once the one before was given back or had expired.

    Leases are compared in id order, which is the order the writers committed
    them; answered items are never leased to label again.
    """
    leases: dict[int, list[tuple[int, str, str, str | None]]] = defaultdict(list)
    for row in db.execute(
        "SELECT item_id, id, created_at, expires_at, outcome FROM leases ORDER BY id"
    ):
        leases[row[0]].append(row[1:])
    for item, chain in leases.items():
        for (first, _, expires, outcome), (second, created, _, _) in itertools.pairwise(chain):
            where = f"item {item}: lease {second} followed lease {first} ({outcome})"
            assert outcome in ("skipped", "expired"), where
            if outcome == "expired":
                assert datetime.fromisoformat(expires) <= datetime.fromisoformat(created), where


def test_a_held_item_is_served_to_nobody_else_until_given_back(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", retrain_every=1000)
    with _two_annotators(root) as (ann, bob):
        first = ann.post("/api/queue/next").json()["served"]
        other = bob.post("/api/queue/next").json()["served"]
        assert other["item"]["id"] != first["item"]["id"]
        again = ann.post("/api/queue/next").json()["served"]
        assert (again["lease_id"], again["item"]["id"]) == (
            first["lease_id"],
            first["item"]["id"],
        )
        assert ann.post(f"/api/leases/{first['lease_id']}/skip").status_code == 204
        assert bob.post(f"/api/leases/{other['lease_id']}/skip").status_code == 204
        # ann's skipped item is free again, and the first thing bob has not skipped.
        taken = bob.post("/api/queue/next").json()["served"]
        assert taken["item"]["id"] == first["item"]["id"]
        stale = ann.post("/api/labels", json={"lease_id": first["lease_id"], "value": "0"})
        assert stale.status_code == 409
        assert "closed (skipped)" in stale.json()["detail"]


class _Holdings:
    """Which item each client holds right now, as the clients themselves saw it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, int] = {}
        self.clashes: list[str] = []
        self.taken = 0

    def take(self, name: str, item: int) -> None:
        with self._lock:
            others = [who for who, it in self._held.items() if it == item]
            if others:
                self.clashes.append(f"item {item} was served to {name} while {others} held it")
            self._held[name] = item
            self.taken += 1

    def give_back(self, name: str) -> None:
        with self._lock:
            del self._held[name]


def _hold_and_release(server: LiveServer, name: str, token: str, holdings: _Holdings) -> None:
    """Take items one by one and hold each a while; label two of three, skip the third."""
    with _client(server, token) as client:
        for step in range(30):
            served = client.post("/api/queue/next").json()["served"]
            if served is None:
                return
            holdings.take(name, served["item"]["id"])
            # While this client holds the item the others keep being served.
            again = client.post("/api/queue/next").json()["served"]
            assert again["lease_id"] == served["lease_id"], (served, again)
            # Given back before the answer is sent: once it is on the wire the
            # item may rightly go to someone else before this thread runs again.
            holdings.give_back(name)
            lease = served["lease_id"]
            if step % 3 == 2:
                assert client.post(f"/api/leases/{lease}/skip").status_code == 204
            else:
                value = truth(served["item"]["name"])
                answer = client.post("/api/labels", json={"lease_id": lease, "value": value})
                assert answer.status_code == 201, answer.text


def test_concurrent_annotators_never_hold_the_same_item(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", per_class=20, retrain_every=1000)
    tokens = _prepare(root, 6)
    holdings = _Holdings()
    with _serving(root) as server:
        _in_parallel(lambda name, token: _hold_and_release(server, name, token, holdings), tokens)
    assert not holdings.clashes, holdings.clashes
    assert holdings.taken >= 100
    with _database(root) as db:
        _assert_leases_handed_over_cleanly(db)
        _assert_each_item_answered_once(db)
        skipped = db.execute("SELECT count(*) FROM leases WHERE outcome = 'skipped'").fetchone()
        assert skipped[0] == 6 * 10


def test_an_expired_lease_returns_the_item_and_its_answer_is_refused(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", retrain_every=1000, lease_minutes=0.02)
    with _two_annotators(root) as (ann, bob):
        served = ann.post("/api/queue/next").json()["served"]
        item, value = served["item"]["id"], truth(served["item"]["name"])
        time.sleep(0.02 * 60 + 0.3)
        late = ann.post("/api/labels", json={"lease_id": served["lease_id"], "value": value})
        assert late.status_code == 409
        assert "expired" in late.json()["detail"]
        taken = bob.post("/api/queue/next").json()["served"]
        assert taken["item"]["id"] == item
        answer = bob.post("/api/labels", json={"lease_id": taken["lease_id"], "value": value})
        assert answer.status_code == 201, answer.text
    with _database(root) as db:
        events = db.execute("SELECT annotator FROM label_events WHERE item_id = ?", (item,))
        assert [row[0] for row in events] == ["load01"]
        _assert_leases_handed_over_cleanly(db)


@pytest.mark.slow
def test_twenty_clients_for_thirty_seconds_lose_no_acknowledged_label(tmp_path: Path) -> None:
    # Retraining every 150 labels keeps a training run going for much of the
    # test: the server must answer while it trains.
    root = make_project(
        tmp_path / "proj", per_class=170, retrain_every=150, auto_label_threshold=None
    )
    tokens = _prepare(root, 20)
    tally = _Tally()
    with _serving(root) as server:
        start = time.monotonic()
        deadline = start + 30

        def work(name: str, token: str) -> None:
            _label_loop(server, name, token, tally, lambda: time.monotonic() < deadline)

        _in_parallel(work, tokens)
        elapsed = time.monotonic() - start
    assert not tally.unexpected, tally.unexpected[:5]
    assert not tally.unanswered
    assert {ack.annotator for ack in tally.acks} == set(tokens)
    with _database(root) as db:
        _assert_acks_stored(db, tally.acks)
        _assert_each_item_answered_once(db)
        assert len(_queue_events(db)) == len(tally.acks)
        runs = Counter(
            db.execute("SELECT status FROM training_runs WHERE trigger = 'labels'").fetchall()
        )
    assert runs[("succeeded",)] >= 1, runs
    assert runs[("failed",)] == 0, runs
    print(
        f"\n{len(tally.acks)} labels from 20 clients in {elapsed:.1f} s "
        f"({len(tally.acks) / elapsed:.0f} labels/s), {sum(runs.values())} training runs"
    )


def _kill_while_labeling(root: Path, tokens: dict[str, str], tally: _Tally) -> None:
    """Let the clients label until some answers are in, then SIGKILL the server under them."""
    stop = threading.Event()
    server = start_server(root)
    try:
        with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
            futures = [
                pool.submit(_label_loop, server, name, token, tally, lambda: not stop.is_set())
                for name, token in tokens.items()
            ]
            deadline = time.monotonic() + 30
            while len(tally.acks) < 150 and time.monotonic() < deadline:
                time.sleep(0.01)
            server.kill()
            stop.set()
            for future in futures:
                future.result()
    finally:
        server.stop()


def test_a_killed_server_restarts_with_every_acknowledged_label(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", per_class=50, retrain_every=1000)
    tokens = _prepare(root, 8)
    tally = _Tally()
    _kill_while_labeling(root, tokens, tally)
    assert not tally.unexpected, tally.unexpected[:5]
    assert len(tally.acks) >= 150
    with _database(root) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        _assert_acks_stored(db, tally.acks)
        _assert_each_item_answered_once(db)
        answered = {lease for *_, lease in _queue_events(db).values()}
    # Labels the server wrote but could not acknowledge are possible; no others.
    assert len(tally.acks) <= len(answered) <= len(tally.acks) + len(tally.unanswered)
    with _serving(root) as server:
        for name, lease, value in tally.unanswered:
            with _client(server, tokens[name]) as client:
                retry = client.post("/api/labels", json={"lease_id": lease, "value": value})
            # Written before the kill: the lease is closed. Lost: it is still open.
            assert retry.status_code == (409 if lease in answered else 201), retry.text
        for ack in tally.acks[:5]:
            with _client(server, tokens[ack.annotator]) as client:
                stale = client.post(
                    "/api/labels", json={"lease_id": ack.lease_id, "value": ack.value}
                )
            assert stale.status_code == 409, stale.text
            assert "already closed (answered)" in stale.json()["detail"]
        for token in tokens.values():
            with _client(server, token) as client:
                response = client.post("/api/queue/next")
            assert response.status_code == 200, response.text
            assert response.json()["served"] is not None
        with _database(root) as db:
            _assert_acks_stored(db, tally.acks)
            _assert_each_item_answered_once(db)
            leases = {lease for *_, lease in _queue_events(db).values()}
    assert {lease for _, lease, _ in tally.unanswered} <= leases
