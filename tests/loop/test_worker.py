"""The training worker takes queued runs, trains them, and records who did."""

from __future__ import annotations

from pathlib import Path

from labelloop.loop import Workspace
from labelloop.loop.worker import run_worker, worker_name
from labelloop.store import LabelInput


def test_a_worker_runs_the_queued_round_and_a_failed_one_is_recorded(
    ws: Workspace, truth: dict[int, str]
) -> None:
    pid = ws.project.id
    assert run_worker(ws.root, once=True) == 0  # nothing queued
    queued = ws.store.training.request(pid, trigger="labels", requested_by="ann")
    ended: list[tuple[int, str]] = []
    assert run_worker(ws.root, once=True, on_run=lambda i, s: ended.append((i, s))) == 1
    assert ended == [(queued.id, "succeeded")]
    run = ws.store.training.runs(pid, limit=1)[0]
    assert run.worker == worker_name() and run.round_id is not None
    latest = ws.store.rounds(pid)[-1]
    assert latest.id == run.round_id and latest.strategy == "random"  # no labels: a cold start

    first = sorted(truth)[:20]
    ws.store.record_labels(pid, [LabelInput(i, truth[i], annotator="t") for i in first])
    labeled = ws.store.items(pid)[0]
    Path(ws.image_path(labeled)).write_bytes(b"damaged")  # a labeled image cannot be trained on
    failed = ws.store.training.request(pid, trigger="manual", requested_by="admin")
    run_worker(ws.root, once=True, on_run=lambda i, s: ended.append((i, s)))
    assert ended[-1] == (failed.id, "failed")
    assert ws.store.training.runs(pid, limit=1)[0].message  # says why
