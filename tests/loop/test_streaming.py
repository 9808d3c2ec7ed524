"""``labelloop stream``: arriving images are decided once; picks are queued first."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from labelloop.cli import app
from labelloop.config import ProjectConfig
from labelloop.data.demo import DIGITS_CLASSES, write_digits
from labelloop.loop import Workspace, run_round


def _project(tmp_path: Path) -> tuple[Path, Path]:
    digits = write_digits(tmp_path / "digits")
    pool, arriving = tmp_path / "pool", tmp_path / "arriving"
    for digit in DIGITS_CLASSES:
        files = sorted((digits / digit).glob("*.png"))
        (pool / digit).mkdir(parents=True)
        for path in files[:10]:
            (pool / digit / path.name).write_bytes(path.read_bytes())
        arriving.mkdir(exist_ok=True)
        for path in files[20:26]:
            (arriving / f"{digit}_{path.name}").write_bytes(path.read_bytes())
    (arriving / "broken.png").write_bytes(b"nope")
    config = ProjectConfig(name="s", classes=DIGITS_CLASSES, learner="logreg")
    ws = Workspace.init(tmp_path / "proj", config)
    ws.import_folder(pool)  # labeled: a model can be trained
    run_round(ws)
    ws.close()
    return tmp_path / "proj", arriving


def test_stream_queues_picks_at_the_head_and_decides_each_file_once(tmp_path: Path) -> None:
    root, arriving = _project(tmp_path)
    runner = CliRunner()
    args = ["stream", str(root), str(arriving), "--budget", "0.2", "--selector", "random"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "seen 60, queued 12, passed 48, rejected 1" in result.stdout
    ws = Workspace.open(root)
    pid = ws.project.id
    items = ws.store.items(pid)
    streamed = [item for item in items if "_" in item.name and "/" not in item.name]
    assert len(streamed) == 12, "passed images must not be imported"
    queue = [item.id for item, _ in ws.store.queue(pid, limit=12)]
    assert sorted(queue) == sorted(item.id for item in streamed)
    ws.store.people.create_user("ann", "x", "annotator")
    user = ws.store.people.user("ann")
    served = ws.store.leases.serve(pid, user.id, ttl=timedelta(minutes=5))
    assert served is not None and served.item.id == queue[0]
    ws.store.leases.submit(pid, served.lease.id, user_id=user.id, annotator="ann", value="3")
    state = json.loads((root / "stream-state.json").read_text())
    assert sum(state.values()) == 12 and len(state) == 60
    ws.close()
    again = runner.invoke(app, args)
    assert "seen 0, queued 0, passed 0" in again.stdout


def test_stream_from_a_list_with_uncertainty(tmp_path: Path) -> None:
    root, arriving = _project(tmp_path)
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(str(p) for p in sorted(arriving.glob("*_*.png"))))
    result = CliRunner().invoke(
        app, ["stream", str(root), str(listing), "--budget", "0.1", "--selector", "fixed_threshold"]
    )
    assert result.exit_code == 0, result.output
    ws = Workspace.open(root)
    queued = [item for item in ws.store.items(ws.project.id) if "/" not in item.name]
    ws.close()
    assert "seen 60" in result.stdout and len(queued) <= 7
