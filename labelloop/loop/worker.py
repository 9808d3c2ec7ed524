"""The training worker: runs a project's queued rounds outside the web processes.

``labelloop serve --workers N`` runs N web processes that never train; they
queue training runs in the database (:meth:`TrainingRuns.request`), and one or
more ``labelloop worker PROJECT`` processes take them one at a time
(:meth:`TrainingRuns.claim` locks the project row, so two workers never run a
round of one project at once). A worker says it is alive every few seconds
while it trains; a run whose worker died is failed by the next worker that
looks, and the labels since are trained on by the next run.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from labelloop.loop.workspace import Workspace

__all__ = ["HEARTBEAT_SECONDS", "SILENT_AFTER", "run_worker", "worker_name"]

log = logging.getLogger("labelloop.worker")

HEARTBEAT_SECONDS = 5.0
"""How often a training worker says it is alive."""

SILENT_AFTER = timedelta(seconds=60)
"""A running run whose worker has not said so for this long is given up."""


def worker_name() -> str:
    """This process, as runs record who holds them: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _train(ws: Workspace, root: Path, run_id: int) -> None:
    """Run the claimed round, saying it is alive meanwhile, and record how it ended."""
    from labelloop.loop.pipeline import run_round  # Imported here: it imports torch.

    runs = ws.store.training
    done = threading.Event()

    def beat() -> None:
        while not done.wait(HEARTBEAT_SECONDS):
            runs.heartbeat(run_id)

    beating = threading.Thread(target=beat, name="labelloop-heartbeat", daemon=True)
    beating.start()
    try:
        with Workspace.open(root) as round_ws:
            result = run_round(
                round_ws, on_step=lambda step, fraction: runs.progress(run_id, step, fraction)
            )
    except Exception as exc:  # a failed run is reported; the worker takes the next one
        log.error("training run %s failed:\n%s", run_id, traceback.format_exc())
        runs.finish(run_id, "failed", message=f"{type(exc).__name__}: {exc}")
    else:
        runs.finish(run_id, "succeeded", round_id=result.round.id)
    finally:
        done.set()
        beating.join()


def run_worker(
    root: Path,
    *,
    poll_seconds: float = 1.0,
    once: bool = False,
    stop: threading.Event | None = None,
    on_run: Callable[[int, str], None] | None = None,
) -> int:
    """Take and run the project's queued training runs until stopped.

    Args:
        root: the project folder.
        poll_seconds: how often to look for a queued run.
        once: return after the first run (or at once when none is queued).
        stop: set it to stop after the current run.
        on_run: called with each run's id and how it ended.

    Returns:
        How many runs this worker ran.
    """
    stop = stop or threading.Event()
    name = worker_name()
    ran = 0
    with Workspace.open(root) as ws:
        runs = ws.store.training
        pid = ws.project.id
        while not stop.is_set():
            given_up = runs.abandon_stale(pid, silent_for=SILENT_AFTER)
            if given_up:
                log.warning("gave up %d training run(s) whose worker fell silent", given_up)
            run = runs.claim(pid, name)
            if run is None:
                if once:
                    break
                stop.wait(poll_seconds)
                continue
            _train(ws, root, run.id)
            ran += 1
            if on_run is not None:
                ended = next((r for r in runs.runs(pid, limit=20) if r.id == run.id), None)
                on_run(run.id, "unknown" if ended is None else ended.status)
            if once:
                break
    return ran
