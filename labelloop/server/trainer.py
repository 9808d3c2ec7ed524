"""Background retraining: rounds run off the request path, one per project at a time.

Inline (one server process), the trainer runs rounds on a thread with its
own database connections, so the server keeps answering while a model
trains. With ``external`` training (several server processes on
PostgreSQL), web processes never train: they queue the run in the database
and a ``labelloop worker`` process (:mod:`labelloop.loop.worker`) takes it.
Either way a run that fails is recorded with its error and the previous
ranking keeps serving: a round swaps in its ranking only when it finishes.

Label-error searches (:class:`LabelErrorSearch`) run the same way, on their
own thread, one at a time: a cross-validated fit takes seconds to minutes,
too long for a request. Their jobs live in the server process's memory; what
they find is stored as a monitor report like any other.
"""

from __future__ import annotations

import logging
import threading
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from labelloop.loop import Workspace, run_round
from labelloop.loop.monitoring import MonitorInputError, check_label_errors
from labelloop.store import TrainingBusyError, TrainingRun

__all__ = ["LabelErrorJob", "LabelErrorSearch", "Trainer"]

# Finished label-error jobs kept for GET; older ones are forgotten.
_KEEP_JOBS = 20

log = logging.getLogger("labelloop.trainer")


class _OneJobAtATime:
    """A worker thread that runs one job at a time, and the job it runs now."""

    def __init__(self, thread_name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)
        self._lock = threading.Lock()
        self._future: Future[None] | None = None

    def wait(self, timeout: float | None = None) -> None:
        """Block until the current job, if any, ends (for tests and shutdown)."""
        future = self._future
        if future is not None:
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        """Stop accepting jobs; let a running one finish."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class Trainer(_OneJobAtATime):
    """Starts training runs for one project folder, on demand or after enough new labels.

    Args:
        root: the project folder; the worker opens its own workspace on it.
        ws: the server's open workspace (for bookkeeping queries).
        external: queue runs for worker processes instead of running them here.
    """

    def __init__(self, root: Path, ws: Workspace, *, external: bool = False) -> None:
        super().__init__("labelloop-train")
        self.root = root
        self.ws = ws
        self.external = external
        self.label_errors = LabelErrorSearch(root)
        if not external:
            ws.store.training.abandon_running(ws.project.id, "the server stopped during this run")

    def start(self, *, trigger: str, requested_by: str | None) -> TrainingRun:
        """Start (or, external, queue) a run now; :class:`TrainingBusyError` if one is open."""
        if self.external:
            return self.ws.store.training.request(
                self.ws.project.id, trigger=trigger, requested_by=requested_by
            )
        with self._lock:
            if self._future is not None and not self._future.done():
                raise TrainingBusyError("a training run is already running for this project")
            run = self.ws.store.training.start(
                self.ws.project.id, trigger=trigger, requested_by=requested_by
            )
            self._future = self._pool.submit(self._work, run.id)
            return run

    def maybe_start(self, *, startup: bool = False) -> TrainingRun | None:
        """Start a run when ``retrain_every`` human labels arrived since the last run
        started, or, at ``startup``, when the project has no ranking yet."""
        pid = self.ws.project.id
        runs = self.ws.store.training.runs(pid, limit=1)
        if runs and runs[0].status in ("queued", "running"):
            return None
        if startup and not runs and not self.ws.store.rounds(pid):
            trigger = "startup"
        else:
            since = runs[0].last_event_id if runs else 0
            new = self.ws.store.training.human_labels_since(
                pid, since, at_most=self.ws.config.retrain_every
            )
            if new < self.ws.config.retrain_every:
                return None
            trigger = "labels"
        try:
            return self.start(trigger=trigger, requested_by=None)
        except TrainingBusyError:
            return None

    def _work(self, run_id: int) -> None:
        runs = self.ws.store.training
        try:
            ws = Workspace.open(self.root)
            try:
                result = run_round(ws, on_step=lambda step, done: runs.progress(run_id, step, done))
            finally:
                ws.close()
        except Exception as exc:  # a failed run is reported; the server keeps serving
            log.error("training run %s failed:\n%s", run_id, traceback.format_exc())
            runs.finish(run_id, "failed", message=f"{type(exc).__name__}: {exc}")
            return
        runs.finish(run_id, "succeeded", round_id=result.round.id)

    def shutdown(self) -> None:
        """Stop accepting runs; let a running one (and a label-error search) finish."""
        super().shutdown()
        self.label_errors.shutdown()


@dataclass(frozen=True)
class LabelErrorJob:
    """One label-error search: its state, progress and, when done, its report.

    Attributes:
        id: Numbered from 1 in this server process.
        state: ``running``, then ``done`` or ``failed``.
        step: What the search is doing (``embedding``, ``fold 2/5``, ``ranking``).
        progress: Share of the search done, in [0, 1].
        requested_by: Who started it.
        started_at: When it started (UTC).
        finished_at: When it ended, or None while it runs.
        report_id: The stored ``label_errors`` report, once done.
        summary: The report's one-line summary, once done.
        message: Why it failed, if it did.
    """

    id: int
    state: Literal["running", "done", "failed"]
    step: str
    progress: float
    requested_by: str | None
    started_at: datetime
    finished_at: datetime | None = None
    report_id: int | None = None
    summary: str | None = None
    message: str | None = None


class LabelErrorSearch(_OneJobAtATime):
    """Runs label-error searches off the request path, one at a time for the project.

    Args:
        root: The project folder; each search opens its own workspace on it.
    """

    def __init__(self, root: Path) -> None:
        super().__init__("labelloop-label-errors")
        self.root = root
        self._jobs: dict[int, LabelErrorJob] = {}

    def start(self, *, requested_by: str | None) -> tuple[LabelErrorJob, bool]:
        """Start a search, unless one is running.

        Returns:
            The new job and True, or the running job and False.
        """
        with self._lock:
            running = self._latest()
            if running is not None and running.state == "running":
                return running, False
            number = max(self._jobs, default=0) + 1
            job = LabelErrorJob(number, "running", "queued", 0.0, requested_by, datetime.now(UTC))
            self._jobs[number] = job
            for old in sorted(self._jobs)[:-_KEEP_JOBS]:
                del self._jobs[old]
            self._future = self._pool.submit(self._work, number)
            return job, True

    def get(self, job_id: int) -> LabelErrorJob | None:
        """The job numbered ``job_id``, as it stands now; None if unknown or forgotten."""
        with self._lock:
            return self._jobs.get(job_id)

    def latest(self) -> LabelErrorJob | None:
        """The most recent job, as it stands now; None before the first."""
        with self._lock:
            return self._latest()

    def _latest(self) -> LabelErrorJob | None:
        return self._jobs[max(self._jobs)] if self._jobs else None

    def _update(self, job_id: int, **changes: Any) -> None:
        with self._lock:
            if job_id in self._jobs:
                self._jobs[job_id] = replace(self._jobs[job_id], **changes)

    def _work(self, job_id: int) -> None:
        def progress(step: str, done: float) -> None:
            self._update(job_id, step=step, progress=done)

        try:
            ws = Workspace.open(self.root)
            try:
                report = check_label_errors(ws, on_progress=progress)
            finally:
                ws.close()
        except Exception as exc:  # a failed search is reported; the server keeps serving
            if not isinstance(exc, MonitorInputError):
                log.error("label-error search %s failed:\n%s", job_id, traceback.format_exc())
            message = (
                str(exc) if isinstance(exc, MonitorInputError) else f"{type(exc).__name__}: {exc}"
            )
            self._update(job_id, state="failed", message=message, finished_at=datetime.now(UTC))
            return
        self._update(
            job_id,
            state="done",
            step="done",
            progress=1.0,
            report_id=report.id,
            summary=report.summary,
            finished_at=datetime.now(UTC),
        )
