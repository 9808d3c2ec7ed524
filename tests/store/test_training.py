"""Training runs across processes: queued for workers, claimed once, given up when silent."""

from __future__ import annotations

from datetime import timedelta

import pytest

from labelloop.store import Store, TrainingBusyError


def test_a_queued_run_is_claimed_by_one_worker_only(store: Store, project_id: int) -> None:
    queued = store.training.request(project_id, trigger="labels", requested_by="ann")
    assert queued.status == "queued" and queued.worker is None
    with pytest.raises(TrainingBusyError):
        store.training.request(project_id, trigger="manual", requested_by="admin")
    with pytest.raises(TrainingBusyError):
        store.training.start(project_id, trigger="manual", requested_by="admin")
    first = store.training.claim(project_id, "host:1")
    assert first is not None and first.id == queued.id
    assert first.status == "running" and first.worker == "host:1"
    assert store.training.claim(project_id, "host:2") is None  # nothing queued, one running
    store.training.finish(first.id, "succeeded")
    assert store.training.claim(project_id, "host:2") is None  # nothing queued at all
    again = store.training.request(project_id, trigger="labels", requested_by=None)
    second = store.training.claim(project_id, "host:2")
    assert second is not None and second.id == again.id and second.worker == "host:2"


def test_a_silent_worker_loses_its_run_and_the_server_leaves_workers_alone(
    store: Store, project_id: int
) -> None:
    store.training.request(project_id, trigger="labels", requested_by=None)
    run = store.training.claim(project_id, "host:1")
    assert run is not None
    # A server starting up fails only the runs it left running itself.
    assert store.training.abandon_running(project_id, "server restarted") == 0
    # A live worker keeps its run; one silent for longer than allowed loses it.
    store.training.heartbeat(run.id)
    assert store.training.abandon_stale(project_id, silent_for=timedelta(minutes=5)) == 0
    assert store.training.abandon_stale(project_id, silent_for=timedelta(seconds=-1)) == 1
    latest = store.training.runs(project_id, limit=1)[0]
    assert latest.status == "failed" and "fell silent" in (latest.message or "")
    # The project is free again: the next run can be queued.
    assert store.training.request(project_id, trigger="labels", requested_by=None).status == (
        "queued"
    )
