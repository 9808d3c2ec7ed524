"""Simulated stream-based selective sampling: items arrive one by one, an oracle labels picks.

The pool is shuffled into a stream (the same order for every selector within
a repeat). A model trained on a small seed set scores each arriving item; the
selector decides at once, within its labeling budget; picked items are labeled
by the oracle, and the model retrains after every ``retrain_every`` new labels.
Each retraining writes a curve point, in the same format as pool simulation.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from labelloop.data.split import StratifiedSplitter
from labelloop.learners import evaluate, make_learner
from labelloop.loop.engine import fit_learner
from labelloop.loop.oracle import Oracle
from labelloop.loop.simulate import Dataset, split_pool_test
from labelloop.monitor.curves import (
    CURVE_COLUMNS,
    CurvePoint,
    plot_curves,
    read_curves,
    summarize_curves,
)
from labelloop.strategies.stream import make_stream_selector

__all__ = ["StreamSettings", "run_stream_simulation"]


@dataclass(frozen=True)
class StreamSettings:
    """How a stream simulation runs (see ``labelloop simulate --mode stream --help``)."""

    selectors: tuple[str, ...]
    learner: str = "logreg"
    seed_size: int = 20
    budget_fraction: float = 0.1
    retrain_every: int = 10
    repeats: int = 3
    seed: int = 0
    test_fraction: float = 0.2
    chunk: int = 64

    def __post_init__(self) -> None:
        if not self.selectors:
            raise ValueError("name at least one stream selector, e.g. --strategies random")
        if not 0.0 < self.budget_fraction <= 1.0:
            raise ValueError(f"--budget-fraction must be in (0, 1], got {self.budget_fraction}")
        if min(self.seed_size, self.retrain_every, self.repeats, self.chunk) < 1:
            raise ValueError("seed size, retrain interval and repeats must each be at least 1")
        for name in self.selectors:
            make_stream_selector(name, budget=self.budget_fraction)


def _run_one(
    data: Dataset,
    pool: np.ndarray,
    test: np.ndarray,
    name: str,
    repeat: int,
    settings: StreamSettings,
    emit: Callable[[CurvePoint, dict[str, object]], None],
) -> None:
    seed = settings.seed + repeat
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pool))
    seed_idx, stream = order[: settings.seed_size], order[settings.seed_size :]
    X, X_test, y_test = data.X[pool], data.X[test], data.y[test]
    oracle = Oracle(data.y[pool])
    labeled = list(seed_idx)
    labels = list(oracle.label(seed_idx))
    splitter = StratifiedSplitter(val_fraction=0.2)
    sides = [splitter.assign(data.classes[c]) for c in labels]
    learner = make_learner(
        settings.learner,
        n_classes=len(data.classes),
        input_shape=tuple(data.X.shape[1:]),
        random_state=seed,
    )
    selector = make_stream_selector(name, budget=settings.budget_fraction, random_state=seed)
    seen = 0

    def refit() -> None:
        is_val = np.array([s == "val" for s in sides])
        idx = np.array(labeled, dtype=np.int64)
        fit_learner(
            learner,
            X[idx],
            np.array(labels, dtype=np.int64),
            np.flatnonzero(~is_val),
            np.flatnonzero(is_val),
        )
        accuracy = evaluate(learner.predict_proba(X_test), y_test, len(data.classes)).accuracy
        spent = (len(labeled) - settings.seed_size) / max(seen, 1)
        emit(
            CurvePoint(name, repeat, len(labeled), accuracy),
            {"seen": seen, "spent_share": spent},
        )

    refit()
    pending = 0
    start = 0
    while start < len(stream):
        chunk = stream[start : start + settings.chunk]
        probs = learner.predict_proba(X[chunk])
        for offset, item in enumerate(chunk):
            seen += 1
            if not selector.decide(probs[offset]):
                continue
            labeled.append(int(item))
            label = int(oracle.label(np.array([item]))[0])
            labels.append(label)
            sides.append(splitter.assign(data.classes[label]))
            pending += 1
            if pending >= settings.retrain_every:
                pending = 0
                refit()
                # The rest of this chunk was scored by the old model: rescore it.
                start += offset + 1
                break
        else:
            start += len(chunk)
    if pending:
        refit()


def run_stream_simulation(
    data: Dataset,
    settings: StreamSettings,
    out: Path,
    *,
    on_round: Callable[[CurvePoint], None] | None = None,
) -> dict[str, object]:
    """Run every selector for every repeat; write curves, rounds, summary and plot.

    Returns:
        The summary written to ``summary.json``; per selector it adds
        ``spent_share``, the mean share of streamed items sent for labeling.
    """
    out.mkdir(parents=True, exist_ok=True)
    pool, test = split_pool_test(data, settings.test_fraction, settings.seed)
    spent: dict[str, list[float]] = {name: [] for name in settings.selectors}
    with (out / "curves.csv").open("w", newline="") as f, (out / "rounds.jsonl").open("w") as log:
        writer = csv.writer(f)
        writer.writerow(CURVE_COLUMNS)

        def emit(point: CurvePoint, extra: dict[str, object]) -> None:
            writer.writerow([point.strategy, point.repeat, point.n_labeled, point.accuracy])
            f.flush()
            log.write(json.dumps({**asdict(point), **extra}) + "\n")
            log.flush()
            if on_round is not None:
                on_round(point)

        last: dict[tuple[str, int], float] = {}

        def track(point: CurvePoint, extra: dict[str, object]) -> None:
            last[(point.strategy, point.repeat)] = float(extra["spent_share"])  # type: ignore[arg-type]
            emit(point, extra)

        for repeat in range(settings.repeats):
            for name in settings.selectors:
                _run_one(data, pool, test, name, repeat, settings, track)
                spent[name].append(last[(name, repeat)])
    points = read_curves(out / "curves.csv")
    strategies = summarize_curves(points)
    for name, entry in strategies.items():
        entry["spent_share"] = float(np.mean(spent[name]))
        entry["budget_fraction"] = settings.budget_fraction
    summary: dict[str, object] = {
        "mode": "stream",
        "settings": asdict(settings),
        "pool_size": len(pool),
        "test_size": len(test),
        "strategies": strategies,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    plot_curves(points, out / "curves.png", title=f"Stream selective sampling ({settings.learner})")
    return summary
