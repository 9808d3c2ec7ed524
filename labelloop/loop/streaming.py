"""``labelloop stream``: decide on arriving images one by one, and queue the picks.

Images arriving in a folder (or named in a list) are scored by the project's
current model; a stream selector decides at once, within its labeling budget,
whether each is worth a person's time. Picked images are imported and put at
the head of the labeling queue, where the server serves them before the
round's ranking. Passed images are not imported. Every file is decided once:
the decisions are kept in ``PROJECT_DIR/stream-state.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from labelloop.data.images import ImageFileError, inspect_image
from labelloop.loop.models import latest_learner
from labelloop.loop.workspace import Workspace
from labelloop.strategies.detection import image_confidence
from labelloop.strategies.stream import StreamSelector

__all__ = ["StreamReport", "iter_arrivals", "stream_images"]

_STATE = "stream-state.json"


@dataclass
class StreamReport:
    """What a stream run decided."""

    seen: int = 0
    queued: list[int] = field(default_factory=list)
    passed: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        """Counts of items seen, queued, passed and rejected."""
        return {
            "seen": self.seen,
            "queued": len(self.queued),
            "passed": self.passed,
            "rejected": len(self.rejected),
        }


def _confidence_of(
    ws: Workspace, input_shape: tuple[int, int, int]
) -> Callable[[NDArray[np.float32]], float] | None:
    """How sure the latest model is about one image; None before the first model.

    A classifier's confidence is its top probability. A detector's is that of
    its least confident object (boxes at or above ``detection.min_score``):
    one doubtful object is enough to send the image to a person, and an image
    with no detection at all gets 0, since a missed object is what a person
    must catch.
    """
    cfg = ws.config
    if cfg.task == "classification":
        learner = latest_learner(ws, input_shape)
        if learner is None:
            return None
        return lambda X: float(np.max(learner.predict_proba(X)[0]))
    # Imported here: the detection round pulls in torchvision's detection models.
    from labelloop.loop.detection_round import warm_detector

    if not any(r.model_id is not None for r in ws.store.rounds(ws.project.id)):
        return None
    detector = warm_detector(ws)

    def least_confident_object(X: NDArray[np.float32]) -> float:
        scores = detector.predict(X)[0].scores
        return image_confidence(scores[scores >= cfg.detection.min_score], how="min", empty=0.0)

    return least_confident_object


def iter_arrivals(
    source: Path | Iterable[Path], *, watch: bool, interval: float, until: float | None
) -> Iterator[Path]:
    """Files as they arrive: a folder's files in name order (polled while ``watch``), or a list."""
    if not isinstance(source, Path):
        yield from source
        return
    given: set[Path] = set()
    while True:
        fresh = sorted(p for p in source.iterdir() if p.is_file() and p not in given)
        for path in fresh:
            given.add(path)
            yield path
        if not watch or (until is not None and time.monotonic() >= until):
            return
        time.sleep(interval)


def stream_images(
    ws: Workspace,
    arrivals: Iterable[Path],
    selector: StreamSelector,
    *,
    on_decision: Callable[[Path, bool], None] | None = None,
) -> StreamReport:
    """Decide on each arriving image; import and queue the picked ones.

    Before any model exists, every image counts as uncertain, so the selector
    spends its budget on the first arrivals.
    """
    state_path = ws.root / _STATE
    state: dict[str, bool] = json.loads(state_path.read_text()) if state_path.exists() else {}
    report = StreamReport()
    confidence_of: Callable[[NDArray[np.float32]], float] | None = None
    loaded = False
    for path in arrivals:
        key = str(path.resolve())
        if key in state:
            continue
        try:
            inspect_image(path)
            X = ws.load_paths([path])
        except (ImageFileError, ValueError) as exc:
            report.rejected.append((str(path), str(exc)))
            continue
        if not loaded:
            confidence_of = _confidence_of(ws, (int(X.shape[1]), int(X.shape[2]), int(X.shape[3])))
            loaded = True
        report.seen += 1
        confidence = 0.0 if confidence_of is None else confidence_of(X)
        picked = selector.decide(confidence=confidence)
        if picked:
            item, _new = ws.add_file(path, path.name)
            ws.store.enqueue(ws.project.id, item.id, score=1.0 - confidence)
            report.queued.append(item.id)
        else:
            report.passed += 1
        state[key] = picked
        state_path.write_text(json.dumps(state))
        if on_decision is not None:
            on_decision(path, picked)
    return report
