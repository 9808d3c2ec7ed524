"""Background retraining: rounds run off the request path, one per project at a time.

Inline (one server process), the trainer runs rounds on a thread with its
own database connections, so the server keeps answering while a model
trains. With ``external`` training (several server processes on
PostgreSQL), web processes never train: they queue the run in the database
and a ``labelloop worker`` process (:mod:`labelloop.loop.worker`) takes it.
Either way a run that fails is recorded with its error and the previous
ranking keeps serving: a round swaps in its ranking only when it finishes.
"""

from __future__ import annotations

import logging
import threading
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from labelloop.loop import Workspace, run_round
from labelloop.store import TrainingBusyError, TrainingRun

__all__ = ["Trainer"]

log = logging.getLogger("labelloop.trainer")


class Trainer:
    """Starts training runs for one project folder, on demand or after enough new labels.

    Args:
        root: the project folder; the worker opens its own workspace on it.
        ws: the server's open workspace (for bookkeeping queries).
        external: queue runs for worker processes instead of running them here.
    """

    def __init__(self, root: Path, ws: Workspace, *, external: bool = False) -> None:
        self.root = root
        self.ws = ws
        self.external = external
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="labelloop-train")
        self._lock = threading.Lock()
        self._future: Future[None] | None = None
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

    def wait(self, timeout: float | None = None) -> None:
        """Block until the current run, if any, ends (for tests and shutdown)."""
        future = self._future
        if future is not None:
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        """Stop accepting runs; let a running one finish."""
        self._pool.shutdown(wait=True, cancel_futures=True)
