"""Simulated stream-based selective sampling: items arrive one by one, an oracle labels picks.

The pool is shuffled into a stream (the same order for every selector within
a repeat). A model trained on a small seed set scores each arriving item; the
selector decides at once, within its labeling budget; picked items are labeled
by the oracle, and the model retrains after every ``retrain_every`` new labels.
Each retraining writes a curve point, in the same format as pool simulation.
This is the ``stream`` mode of :func:`labelloop.loop.simulation.simulate`.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from pydantic import Field, field_validator

from labelloop.learners import evaluate
from labelloop.learners.registry import LEARNERS
from labelloop.loop.oracle import LabeledSet, Oracle
from labelloop.loop.simulate import ClassificationMode, Dataset
from labelloop.loop.simulation import (
    Emit,
    LastRounds,
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


class StreamMode(ClassificationMode[StreamSettings]):
    """Stream selective sampling: a selector decides on each arriving item at once.

    Each record in ``rounds.jsonl`` adds ``seen`` (items streamed so far) and
    ``spent_share`` (share of them sent for labeling); the summary adds, per
    selector, ``spent_share`` (its mean over the repeats' last rounds) and
    ``budget_fraction``.
    """

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
        bought = LabeledSet(Oracle(data.y[pool]), data.classes)
        bought.add(seed_idx)
        learner = data.new_learner(settings.learner, seed)
        selector = make_stream_selector(name, budget=settings.budget_fraction, random_state=seed)
        seen = 0

        def refit() -> None:
            bought.fit(learner, X)
            accuracy = evaluate(learner.predict_proba(X_test), y_test, len(data.classes)).accuracy
            spent = (len(bought) - settings.seed_size) / max(seen, 1)
            emit(
                CurvePoint(name, repeat, len(bought), accuracy),
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
                bought.add(np.array([item]))
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


run_stream_simulation = partial(simulate, StreamMode())
"""``run_stream_simulation(data, settings, out, *, on_round=None)``: every selector, every repeat.

:func:`~labelloop.loop.simulation.simulate` in the :class:`StreamMode`: an
interrupted run keeps its finished rows and still writes its summary, which
adds per selector ``spent_share``, the mean share of streamed items sent for
labeling, and ``budget_fraction``.
"""
