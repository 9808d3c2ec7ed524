"""A process killed mid-write leaves the database consistent and loses nothing acknowledged."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
from PIL import Image

from labelloop.config import ProjectConfig
from labelloop.loop import Workspace

N_IMAGES = 400
IMPORT_BATCH = 10


def _make_images(folder: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (folder / label).mkdir(parents=True)
    for i in range(n):
        pixels = rng.integers(0, 256, size=(8, 8), dtype=np.uint8)
        Image.fromarray(pixels, mode="L").save(folder / ("a", "b")[i % 2] / f"{i:04d}.png")


def _count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def _integrity_ok(db: Path) -> bool:
    conn = sqlite3.connect(db)
    try:
        return bool(conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
    finally:
        conn.close()


def _spawn(code: str, *, capture: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def test_killed_import_leaves_whole_batches_and_resumes(tmp_path: Path) -> None:
    src, root = tmp_path / "src", tmp_path / "proj"
    _make_images(src, N_IMAGES)
    Workspace.init(root, ProjectConfig(name="p", classes=("a", "b"))).close()
    db = root / "labelloop.db"
    proc = _spawn(
        f"""
        import time
        from pathlib import Path
        from labelloop.loop import Workspace
        ws = Workspace.open(Path({str(root)!r}))
        ws.import_folder(Path({str(src)!r}), batch_size={IMPORT_BATCH},
                         on_file=lambda: time.sleep(0.003))
        """
    )
    deadline = time.monotonic() + 60
    while _count(db, "SELECT count(*) FROM items") < 3 * IMPORT_BATCH:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    assert _integrity_ok(db)
    n_items = _count(db, "SELECT count(*) FROM items")
    assert 0 < n_items < N_IMAGES
    assert n_items % IMPORT_BATCH == 0, "a batch was half written"
    assert _count(db, "SELECT count(*) FROM label_events") == n_items
    ws = Workspace.open(root)
    for item in ws.store.items(ws.project.id):
        assert hashlib.sha256(ws.image_path(item).read_bytes()).hexdigest() == item.sha256
    report = ws.import_folder(src)
    assert (report.imported, report.duplicates) == (N_IMAGES - n_items, n_items)
    assert len(ws.store.items(ws.project.id)) == N_IMAGES
    ws.close()


def test_killed_labeler_keeps_every_acknowledged_label(tmp_path: Path) -> None:
    src, root = tmp_path / "src", tmp_path / "proj"
    _make_images(src, 200)
    ws = Workspace.init(root, ProjectConfig(name="p", classes=("a", "b")))
    ws.import_folder(src, with_labels=False)
    ws.close()
    proc = _spawn(
        f"""
        from pathlib import Path
        from labelloop.loop import Workspace
        from labelloop.store import LabelInput
        ws = Workspace.open(Path({str(root)!r}))
        ids = [item.id for item in ws.store.items(ws.project.id)]
        for round_ in range(1000):
            for start in range(0, len(ids), 5):
                chunk = ids[start:start + 5]
                value = ("a", "b")[round_ % 2]
                ws.store.record_labels(ws.project.id, [LabelInput(i, value) for i in chunk])
                print(*chunk, flush=True)
        """,
        capture=True,
    )
    assert proc.stdout is not None
    acked: list[int] = []
    for _ in range(60):
        acked.extend(int(x) for x in proc.stdout.readline().split())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()

    db = root / "labelloop.db"
    assert _integrity_ok(db)
    ws = Workspace.open(root)
    pid = ws.project.id
    n_events = _count(db, "SELECT count(*) FROM label_events")
    assert n_events >= len(acked)
    assert n_events % 5 == 0, "a transaction was half written"
    for item_id in set(acked):
        history = ws.store.history(pid, item_id)
        assert [e.seq for e in history] == list(range(1, len(history) + 1))
        assert [e.supersedes_id for e in history] == [None] + [e.id for e in history[:-1]]
    assert set(acked) <= set(ws.store.current_labels(pid))
    ws.close()
