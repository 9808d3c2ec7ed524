"""Serving beyond one process: two server processes and a training worker on one PostgreSQL.

``labelloop serve --workers 2`` and ``labelloop worker`` run as real
subprocesses against a real PostgreSQL server started by the test;
annotators label through the shared port. What must hold: no item is leased
to two annotators, no acknowledged label is lost, web processes never train
(every run is a worker's), and a round the worker finishes is served by both
server processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from labelloop.loop import Workspace
from labelloop.server.app import PROCESS_HEADER
from tests import postgres
from tests.server.conftest import PASSWORD, free_port, make_project, truth

pytestmark = pytest.mark.slow

ANNOTATORS = ("ann", "bob", "rita", "admin")
LABELS_EACH = 10


@pytest.fixture(scope="module")
def postgres_template() -> Iterator[str]:
    if not postgres.available():
        pytest.skip("PostgreSQL server binaries or psycopg are not installed")
    with postgres.postgres_server() as template:
        yield template


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "labelloop.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the server's processes are stopped as a group
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _client(url: str, name: str) -> tuple[httpx.Client, dict[str, str]]:
    # A new connection per request: the kernel spreads connections, not
    # requests, over the server processes, and four kept-alive connections
    # could all land on one of them.
    client = httpx.Client(base_url=url, timeout=30, headers={"Connection": "close"})
    answer = client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client, {"x-csrf-token": answer.json()["csrf_token"]}


def _wait_for_round(url: str, *, with_model: bool, timeout: float = 240) -> dict[str, Any]:
    """Poll until the latest run succeeded (with a model, if asked) and nothing is open."""
    client, _ = _client(url, "admin")
    deadline = time.monotonic() + timeout
    with closing(client):
        while time.monotonic() < deadline:
            state = client.get("/api/training").json()
            runs = state["runs"]
            done = state["state"] == "idle" and runs and runs[0]["status"] == "succeeded"
            if done and (state["model_version"] is not None or not with_model):
                return state  # type: ignore[no-any-return]
            assert not runs or runs[0]["status"] != "failed", runs[0]
            time.sleep(0.3)
    raise AssertionError(f"no round finished within {timeout} s")


def test_two_server_processes_and_a_worker_share_one_database(
    tmp_path: Path, postgres_template: str
) -> None:
    url_db = postgres.create_database(postgres_template, "processes")
    root = make_project(tmp_path / "proj", database_url=url_db, retrain_every=20)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _spawn("serve", str(root), "--port", str(port), "--workers", "2")
    worker = _spawn("worker", str(root), "--poll", "0.2")
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert server.poll() is None, "labelloop serve --workers 2 exited"
            try:
                if httpx.get(f"{url}/login", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        # The start-up run is queued by a web process and ranked by the worker.
        _wait_for_round(url, with_model=False)

        served: list[int] = []
        acked: list[tuple[int, str]] = []
        processes: set[str] = set()
        errors: list[str] = []
        lock = threading.Lock()

        def annotate(name: str) -> None:
            client, headers = _client(url, name)
            with closing(client):
                for _ in range(LABELS_EACH):
                    answer = client.post("/api/queue/next", headers=headers)
                    item = answer.json()["served"]
                    if answer.status_code != 200 or item is None:
                        errors.append(f"{name}: next {answer.status_code} {answer.text[:200]}")
                        return
                    value = truth(item["item"]["name"])
                    label = client.post(
                        "/api/labels",
                        json={"lease_id": item["lease_id"], "value": value},
                        headers=headers,
                    )
                    with lock:
                        served.append(item["item"]["id"])
                        processes.update(
                            (answer.headers[PROCESS_HEADER], label.headers[PROCESS_HEADER])
                        )
                        if label.status_code == 201:
                            acked.append((item["item"]["id"], value))
                        else:
                            errors.append(f"{name}: label {label.status_code} {label.text[:200]}")

        threads = [threading.Thread(target=annotate, args=(name,)) for name in ANNOTATORS]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not errors, errors
        assert len(served) == len(ANNOTATORS) * LABELS_EACH
        assert len(set(served)) == len(served), "an item was leased to two annotators"
        assert len(processes) == 2, f"answers came from {processes}"

        # 40 labels: the web processes queued a run; the worker trains a model.
        state = _wait_for_round(url, with_model=True)
        version = state["model_version"]
        seen: dict[str, str] = {}
        predicted: set[str] = set()
        for _ in range(20):  # new connections, spread over both processes
            client, headers = _client(url, "ann")
            with closing(client):
                answer = client.get("/api/training")
                seen[answer.headers[PROCESS_HEADER]] = answer.json()["model_version"]
                nxt = client.post("/api/queue/next", headers=headers)
                # The model's round scores what it serves (the cold start did not).
                if nxt.json()["served"]["uncertainty"] is not None:
                    predicted.add(nxt.headers[PROCESS_HEADER])
                client.post(f"/api/leases/{nxt.json()['served']['lease_id']}/skip", headers=headers)
            if len(seen) == 2 and len(predicted) == 2:
                break
        assert set(seen.values()) == {version} and len(seen) == 2, seen
        assert len(predicted) == 2, "a process served the queue without the new round"
    finally:
        _stop(server)
        _stop(worker)

    with Workspace.open(root) as ws:
        pid = ws.project.id
        current = ws.store.current_labels(pid)
        for item_id, value in acked:
            assert current[item_id].value == value, "an acknowledged label was lost"
        runs = ws.store.training.runs(pid, limit=50)
        assert runs and all(run.worker is not None for run in runs), "a web process trained"
        assert {run.status for run in runs} == {"succeeded"}
