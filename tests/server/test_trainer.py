"""labelloop.server.trainer: rounds and label-error searches off the request path, one at a time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import labelloop.server.trainer as trainer_module
from labelloop.loop import RoundResult, Workspace, run_round
from labelloop.loop.monitoring import MonitorInputError
from labelloop.server.trainer import LabelErrorSearch, Trainer
from labelloop.store import LabelInput, TrainingBusyError
from tests.server.conftest import make_project, truth


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj", per_class=2, retrain_every=3)


@pytest.fixture
def ws(root: Path) -> Iterator[Workspace]:
    opened = Workspace.open(root)
    yield opened
    opened.close()


def _label(ws: Workspace, n: int) -> None:
    """Record ``n`` human labels (their truths) on unlabeled items."""
    labels = ws.store.current_labels(ws.project.id)
    todo = [i for i in ws.store.items(ws.project.id) if i.id not in labels][:n]
    ws.store.record_labels(
        ws.project.id, [LabelInput(i.id, truth(i.name), annotator="ann") for i in todo]
    )


def test_a_run_trains_on_its_own_thread_and_records_its_round(root: Path, ws: Workspace) -> None:
    trainer = Trainer(root, ws)
    run = trainer.start(trigger="manual", requested_by="rita")
    assert (run.status, run.trigger, run.requested_by) == ("running", "manual", "rita")
    trainer.wait(60)
    [done] = ws.store.training.runs(ws.project.id)
    assert (done.id, done.status, done.step, done.progress) == (run.id, "succeeded", "done", 1.0)
    assert done.round_id == ws.store.rounds(ws.project.id)[-1].id
    trainer.shutdown()


def test_a_second_run_is_refused_while_one_runs(
    root: Path, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    def held(ws: Workspace, **kwargs: object) -> RoundResult:
        assert release.wait(60), "the test never released the run"
        return run_round(ws)

    monkeypatch.setattr(trainer_module, "run_round", held)
    trainer = Trainer(root, ws)
    trainer.start(trigger="manual", requested_by=None)
    with pytest.raises(TrainingBusyError, match="already running"):
        trainer.start(trigger="manual", requested_by=None)
    assert trainer.maybe_start(startup=True) is None  # busy: no error, no run
    release.set()
    trainer.wait(60)
    assert [r.status for r in ws.store.training.runs(ws.project.id)] == ["succeeded"]
    again = trainer.start(trigger="manual", requested_by=None)  # free again once it ended
    trainer.wait(60)
    assert ws.store.training.runs(ws.project.id)[0].id == again.id
    trainer.shutdown()


def test_a_failed_run_is_recorded_with_its_error(
    root: Path, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ws: Workspace, **kwargs: object) -> RoundResult:
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(trainer_module, "run_round", broken)
    trainer = Trainer(root, ws)
    trainer.start(trigger="manual", requested_by=None)
    trainer.wait(60)
    [failed] = ws.store.training.runs(ws.project.id)
    assert (failed.status, failed.message) == ("failed", "RuntimeError: the disk went away")
    assert failed.round_id is None and ws.store.rounds(ws.project.id) == []
    trainer.shutdown()


def test_retraining_waits_for_retrain_every_new_human_labels(root: Path, ws: Workspace) -> None:
    trainer = Trainer(root, ws)
    assert ws.config.retrain_every == 3
    first = trainer.maybe_start(startup=True)  # no ranking yet: train at start-up
    assert first is not None and first.trigger == "startup"
    trainer.wait(60)
    assert trainer.maybe_start(startup=True) is None  # a ranking exists, no new labels
    _label(ws, 2)
    assert trainer.maybe_start() is None
    _label(ws, 1)
    second = trainer.maybe_start()
    assert second is not None and second.trigger == "labels" and second.requested_by is None
    trainer.wait(60)
    trainer.shutdown()


def test_without_a_ranking_only_startup_trains_before_enough_labels(
    root: Path, ws: Workspace
) -> None:
    trainer = Trainer(root, ws)
    assert trainer.maybe_start() is None
    assert ws.store.training.runs(ws.project.id) == []
    trainer.shutdown()


def test_external_training_queues_runs_for_workers_and_never_trains(
    root: Path, ws: Workspace
) -> None:
    trainer = Trainer(root, ws, external=True)
    run = trainer.start(trigger="manual", requested_by="rita")
    assert run.status == "queued"
    trainer.wait(5)
    assert [r.status for r in ws.store.training.runs(ws.project.id)] == ["queued"]
    assert ws.store.rounds(ws.project.id) == []
    with pytest.raises(TrainingBusyError):
        trainer.start(trigger="manual", requested_by=None)
    assert trainer.maybe_start(startup=True) is None  # one is already queued
    trainer.shutdown()


def test_a_run_left_running_by_a_dead_server_is_failed_at_start(root: Path, ws: Workspace) -> None:
    left = ws.store.training.start(ws.project.id, trigger="manual", requested_by=None)
    Trainer(root, ws, external=True).shutdown()  # web processes leave workers' runs alone
    assert ws.store.training.runs(ws.project.id)[0].status == "running"
    Trainer(root, ws).shutdown()
    [run] = ws.store.training.runs(ws.project.id)
    assert (run.id, run.status) == (left.id, "failed")
    assert run.message == "the server stopped during this run"


def test_a_label_error_search_that_cannot_run_says_why_in_its_job(root: Path) -> None:
    search = LabelErrorSearch(root)
    assert search.latest() is None
    job, started = search.start(requested_by="rita")
    assert started and (job.id, job.state, job.requested_by) == (1, "running", "rita")
    search.wait(60)
    failed = search.get(1)
    assert failed is not None and failed.state == "failed" and failed.finished_at is not None
    # A MonitorInputError is the user's to fix: its message as it is, no class name.
    assert failed.message is not None and failed.message.startswith("0 labels in 0 classes")
    assert search.latest() == failed
    assert search.get(2) is None
    search.shutdown()


def test_a_label_error_search_that_breaks_names_the_error(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ws: Workspace, **kwargs: object) -> None:
        raise OSError("the disk went away")

    monkeypatch.setattr(trainer_module, "check_label_errors", broken)
    search = LabelErrorSearch(root)
    search.start(requested_by=None)
    search.wait(60)
    failed = search.latest()
    assert failed is not None and failed.message == "OSError: the disk went away"
    search.shutdown()


def test_only_one_label_error_search_runs_and_old_jobs_are_forgotten(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    def held(ws: Workspace, **kwargs: object) -> None:
        assert release.wait(60), "the test never released the search"
        raise MonitorInputError("nothing to check")

    monkeypatch.setattr(trainer_module, "check_label_errors", held)
    search = LabelErrorSearch(root)
    first, started = search.start(requested_by="rita")
    running, again = search.start(requested_by="ann")
    assert started and not again and running == first
    release.set()
    for _ in range(trainer_module._KEEP_JOBS):
        search.wait(60)
        search.start(requested_by=None)
    search.wait(60)
    latest = search.latest()
    assert latest is not None and latest.id == trainer_module._KEEP_JOBS + 1
    assert search.get(1) is None  # forgotten
    assert search.get(2) is not None and search.get(2).state == "failed"  # type: ignore[union-attr]
    search.shutdown()
