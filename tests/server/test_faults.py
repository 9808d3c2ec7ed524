"""Fault injection: a process killed at each write that matters, damaged models, a restart.

After each fault the project is reopened (or the server restarted) and two
things must hold without anyone stepping in: every acknowledged label is
there, and training runs to a new round. Import and label submission under
SIGKILL, and a full disk, have their own modules (``tests/store/test_crash.py``,
``tests/server/test_disk_full.py``); this one covers training, snapshots, the
ranking swap and the model files.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from labelloop.loop import Workspace, run_round
from labelloop.store import LabelInput
from tests.server.conftest import make_project, start_server, truth

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def _seeded(root: Path, per_class: int = 20, seeds: int = 40) -> Path:
    """A digits project with ``seeds`` labels imported as a person would make them."""
    make_project(root, per_class=per_class, retrain_every=1000)
    ws = Workspace.open(root)
    try:
        items = ws.store.items(ws.project.id)[
            :: max(1, len(ws.store.items(ws.project.id)) // seeds)
        ]
        ws.store.record_labels(
            ws.project.id,
            [LabelInput(i.id, truth(i.name), annotator="seed") for i in items[:seeds]],
        )
    finally:
        ws.close()
    return root


def _integrity_ok(root: Path) -> bool:
    conn = sqlite3.connect(root / "labelloop.db")
    try:
        return bool(conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
    finally:
        conn.close()


def _child(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
    )


def _kill_after(proc: subprocess.Popen[str], marker: str, times: int = 1) -> None:
    """SIGKILL ``proc`` once it has printed ``marker`` ``times`` times."""
    assert proc.stdout is not None
    seen = 0
    deadline = time.monotonic() + 120
    while seen < times:
        line = proc.stdout.readline()
        assert line or proc.poll() is None, f"the child ended before {marker!r} x{times}"
        seen += marker in line
        assert time.monotonic() < deadline, f"no {marker!r} within 120 s"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()


def _trains(root: Path) -> None:
    """A round runs to the end on the reopened project, ranking the pool."""
    ws = Workspace.open(root)
    try:
        before = len(ws.store.rounds(ws.project.id))
        run_round(ws)
        assert len(ws.store.rounds(ws.project.id)) == before + 1
        assert ws.store.queue(ws.project.id, limit=5), "the new round ranks nothing"
    finally:
        ws.close()


def _wait_idle(client: httpx.Client, limit: float = 180) -> dict[str, object]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        state = client.get("/api/training").json()
        if state["state"] == "idle":
            return state  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError("training did not finish")


def test_a_server_killed_while_training_keeps_labels_and_trains_after_restart(
    tmp_path: Path,
) -> None:
    root = _seeded(tmp_path / "proj", per_class=40)
    server = start_server(root)
    acked: dict[int, str] = {}
    try:
        with httpx.Client(base_url=server.url, timeout=60) as ann:
            token = ann.post(
                "/api/auth/login", json={"username": "ann", "password": "correct horse battery"}
            )
            headers = {"x-csrf-token": token.json()["csrf_token"]}
            for _ in range(5):
                served = ann.post("/api/queue/next", headers=headers).json()["served"]
                value = truth(served["item"]["name"])
                answer = ann.post(
                    "/api/labels",
                    json={"lease_id": served["lease_id"], "value": value},
                    headers=headers,
                )
                assert answer.status_code == 201, answer.text
                acked[served["item"]["id"]] = value
        with httpx.Client(base_url=server.url, timeout=60) as admin:
            login = admin.post(
                "/api/auth/login", json={"username": "admin", "password": "correct horse battery"}
            )
            headers = {"x-csrf-token": login.json()["csrf_token"]}
            assert admin.post("/api/training", headers=headers).status_code == 202
            deadline = time.monotonic() + 60
            while admin.get("/api/training").json()["state"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.01)
        server.kill()
    finally:
        server.stop()

    assert _integrity_ok(root)
    server = start_server(root)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as admin:
            login = admin.post(
                "/api/auth/login", json={"username": "admin", "password": "correct horse battery"}
            )
            headers = {"x-csrf-token": login.json()["csrf_token"]}
            state = admin.get("/api/training").json()
            # The killed run is closed with the reason, not left running for ever.
            assert state["state"] == "idle"
            killed = state["runs"][0]
            assert killed["status"] == "failed", killed
            assert killed["message"] == "the server stopped during this run"
            for item_id, value in acked.items():
                current = admin.get(f"/api/items/{item_id}").json()["current"]
                assert current["value"] == value
            assert admin.post("/api/training", headers=headers).status_code == 202
            after = _wait_idle(admin)
            assert after["runs"][0]["status"] == "succeeded", after["runs"][0]  # type: ignore[index]
            assert admin.post("/api/queue/next", headers=headers).json()["served"] is not None
    finally:
        server.stop()


def test_a_process_killed_while_snapshotting_leaves_only_whole_snapshots(tmp_path: Path) -> None:
    root = _seeded(tmp_path / "proj", per_class=30, seeds=200)
    proc = _child(
        f"""
        from pathlib import Path
        from labelloop.loop import Workspace
        ws = Workspace.open(Path({str(root)!r}))
        while True:
            snap = ws.store.create_snapshot(ws.project.id)
            print("snapshot", snap.id, flush=True)
        """
    )
    _kill_after(proc, "snapshot", times=5)
    assert _integrity_ok(root)
    conn = sqlite3.connect(root / "labelloop.db")
    try:
        rows = conn.execute(
            "SELECT s.id, s.n_labels, count(e.event_id) FROM snapshots s "
            "LEFT JOIN snapshot_events e ON e.snapshot_id = s.id GROUP BY s.id"
        ).fetchall()
    finally:
        conn.close()
    assert len(rows) >= 5
    assert all(n == members for _, n, members in rows), "a snapshot was half written"
    _trains(root)


def test_a_process_killed_mid_ranking_swap_keeps_the_previous_ranking(tmp_path: Path) -> None:
    root = _seeded(tmp_path / "proj", per_class=40)
    _trains(root)
    ws = Workspace.open(root)
    try:
        pid = ws.project.id
        served_before = [item.id for item, _ in ws.store.queue(pid)]
        rounds_before = [r.number for r in ws.store.rounds(pid)]
        n_items = len(ws.store.items(pid))
    finally:
        ws.close()
    # A ranking of every item, written a chunk at a time; killed after two chunks.
    proc = _child(
        f"""
        from pathlib import Path
        from labelloop.loop import Workspace
        from labelloop.store import RankedItem
        ws = Workspace.open(Path({str(root)!r}))
        pid = ws.project.id
        items = ws.store.items(pid)
        snap = ws.store.create_snapshot(pid)
        ranking = [RankedItem(i.id, 1.0 - n / len(items), None, None) for n, i in enumerate(items)]
        ws.store.add_round(
            pid, snapshot_id=snap.id, model_id=None, strategy="slow", ranking=ranking * 1,
            batch_size=10, metrics={{}}, chunk_size=20,
            on_chunk=lambda done, total: (print("chunk", done, total, flush=True),
                                          __import__("time").sleep(0.2)),
        )
        print("swapped", flush=True)
        """
    )
    _kill_after(proc, "chunk", times=2)
    assert _integrity_ok(root)
    ws = Workspace.open(root)
    try:
        # The half-written ranking is invisible: the queue serves the previous one.
        assert [item.id for item, _ in ws.store.queue(pid)] == served_before
        assert [r.number for r in ws.store.rounds(pid)] == rounds_before
        assert n_items > 40  # the kill came mid-swap, not after it
    finally:
        ws.close()
    _trains(root)
    ws = Workspace.open(root)
    try:
        assert [r.number for r in ws.store.rounds(pid)] == [*rounds_before, rounds_before[-1] + 1]
    finally:
        ws.close()


@pytest.mark.parametrize("damage", ["deleted", "corrupted"])
def test_a_damaged_model_file_is_set_aside_and_the_cli_trains_on(
    tmp_path: Path, damage: str
) -> None:
    root = _seeded(tmp_path / "proj")
    _trains(root)
    ws = Workspace.open(root)
    try:
        rounds = ws.store.rounds(ws.project.id)
        model = ws.store.model(rounds[-1].model_id)  # type: ignore[arg-type]
    finally:
        ws.close()
    path = root / str(model.path)
    if damage == "deleted":
        path.unlink()
    else:
        path.write_bytes(b"not a model at all")
    done = subprocess.run(
        [sys.executable, "-m", "labelloop.cli", "train", str(root)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    if damage == "corrupted":
        assert path.with_name(path.name + ".quarantined").exists()
    _trains(root)
