"""Simulated stream-based selective sampling: items arrive one by one, an oracle labels picks.

The pool is shuffled into a stream (the same order for every selector within
a repeat). A model trained on a small seed set scores each arriving item; the
selector decides at once, within its labeling budget; picked items are labeled
by the oracle, and the model retrains after every ``retrain_every`` new labels.
Each retraining writes a curve point, in the same format as pool simulation.
This is the ``stream`` mode of :func:`labelloop.loop.simulation.simulate`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import Field, field_validator

from labelloop.data.split import StratifiedSplitter
from labelloop.learners import evaluate, make_learner
from labelloop.learners.registry import LEARNERS
from labelloop.loop.engine import fit_learner
from labelloop.loop.oracle import Oracle
from labelloop.loop.simulate import Dataset, split_pool_test
from labelloop.loop.simulation import (
    Emit,
    LastRounds,
    RoundCallback,
    SimulationMode,
    SimulationSettingsBase,
    registered,
    simulate,
)
from labelloop.monitor.curves import CurvePoint
from labelloop.strategies.registry import STREAM_SELECTORS
from labelloop.strategies.stream import make_stream_selector

__all__ = ["StreamMode", "StreamSettings", "run_stream_simulation"]


class StreamSettings(SimulationSettingsBase):
    """How a stream simulation runs (see ``labelloop simulate --mode stream --help``).

    Attributes:
        selectors: stream selector names
            (:data:`~labelloop.strategies.registry.STREAM_SELECTORS`).
        learner: the classifier (:data:`~labelloop.learners.registry.LEARNERS`).
        budget_fraction: share of arriving items that may be labeled, in (0, 1].
        retrain_every: the model retrains after this many new labels.
        chunk: arriving items scored at once.
    """

    selectors: tuple[str, ...] = Field(min_length=1)
    learner: str = "logreg"
    budget_fraction: float = Field(0.1, gt=0.0, le=1.0)
    retrain_every: int = Field(10, ge=1)
    chunk: int = Field(64, ge=1)

    _selectors_known = field_validator("selectors")(registered(STREAM_SELECTORS))
    _learner_known = field_validator("learner")(registered(LEARNERS))

    def names(self) -> tuple[str, ...]:
        """The selectors, in order."""
        return self.selectors


class StreamMode(SimulationMode[Dataset, StreamSettings]):
    """Stream selective sampling: a selector decides on each arriving item at once.

    Each record in ``rounds.jsonl`` adds ``seen`` (items streamed so far) and
    ``spent_share`` (share of them sent for labeling); the summary adds, per
    selector, ``spent_share`` (its mean over the repeats' last rounds) and
    ``budget_fraction``.
    """

    def split(self, data: Dataset, settings: StreamSettings) -> tuple[np.ndarray, np.ndarray]:
        return split_pool_test(data, settings.test_fraction, settings.seed)

    def run_one(
        self,
        data: Dataset,
        pool: np.ndarray,
        test: np.ndarray,
        name: str,
        repeat: int,
        settings: StreamSettings,
        emit: Emit,
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

    def title(self, settings: StreamSettings) -> str:
        return f"Stream selective sampling ({settings.learner})"

    def header(self, settings: StreamSettings) -> dict[str, object]:
        return {"mode": "stream"}

    def summarize(
        self, strategies: dict[str, dict[str, object]], settings: StreamSettings, last: LastRounds
    ) -> None:
        for name, entry in strategies.items():
            spent = [m["spent_share"] for (s, _), m in last.items() if s == name]
            entry["spent_share"] = float(np.mean(np.asarray(spent, dtype=np.float64)))
            entry["budget_fraction"] = settings.budget_fraction


def run_stream_simulation(
    data: Dataset,
    settings: StreamSettings,
    out: Path,
    *,
    on_round: RoundCallback | None = None,
) -> dict[str, object]:
    """Run every selector for every repeat; write curves, rounds, summary and plot.

    :func:`~labelloop.loop.simulation.simulate` in the :class:`StreamMode`:
    an interrupted run keeps its finished rows and still writes its summary.

    Returns:
        The summary written to ``summary.json``; per selector it adds
        ``spent_share``, the mean share of streamed items sent for labeling,
        and ``budget_fraction``.
    """
    return simulate(StreamMode(), data, settings, out, on_round=on_round)
