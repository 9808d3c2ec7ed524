"""One simulation driver for every mode: the loop with an oracle, its files written as it runs.

A *mode* (:class:`SimulationMode`) knows its data, its settings and one run of
one strategy (:meth:`SimulationMode.run_one`); :func:`simulate` does the rest
for all of them: it splits pool and test through the mode, runs every
strategy for every repeat, appends each round to ``curves.csv`` and
``rounds.jsonl`` (flushed at once, so an interrupted run keeps its finished
rows) and, however the run ends (finished, interrupted, failed), writes
``summary.json`` and ``curves.png`` from the rows so far.

Settings are pydantic models (frozen, no unknown fields) on
:class:`SimulationSettingsBase`, or on :class:`BatchSettingsBase` for the modes
that label a batch a round up to a budget (its subclasses name the registries
their strategies and learner come from); a bad value raises
:class:`pydantic.ValidationError` naming the field.

The modes are registered in :data:`SIMULATION_MODES`: ``pool``
(:mod:`labelloop.loop.simulate`), ``stream`` (:mod:`labelloop.loop.stream_sim`)
and ``detection`` (:mod:`labelloop.loop.detection_sim`). Each module offers
``simulate`` bound to its mode (``run_simulation``, ...) with
:func:`functools.partial`.
"""

from __future__ import annotations

import csv
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from labelloop.monitor.curves import (
    CURVE_COLUMNS,
    CurvePoint,
    plot_curves,
    read_curves,
    summarize_curves,
)
from labelloop.plugins import Registry

__all__ = [
    "SIMULATION_MODES",
    "BatchSettingsBase",
    "Emit",
    "LastRounds",
    "RoundCallback",
    "SimulationMode",
    "SimulationSettingsBase",
    "at_least_seed_size",
    "registered",
    "simulate",
]

Emit = Callable[[CurvePoint, dict[str, object]], None]
"""Reports one round: its curve point and its full metrics."""

RoundCallback = Callable[[CurvePoint], None]
"""Called after each round with its curve point (progress bars)."""

LastRounds = Mapping[tuple[str, int], Mapping[str, object]]
"""``(strategy, repeat)`` -> the metrics of that run's last round so far."""

Indices = NDArray[np.int64]


class SimulationSettingsBase(BaseModel):
    """What every simulation mode's settings share.

    Attributes:
        seed_size: labels drawn at random before the first round.
        repeats: runs per strategy, with seeds ``seed``, ``seed + 1``, ...
        seed: base seed (also of the pool/test split).
        test_fraction: share of the data held out for the test metric.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed_size: int = Field(20, ge=1)
    repeats: int = Field(3, ge=1)
    seed: int = Field(0, ge=0)
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0)

    def names(self) -> tuple[str, ...]:
        """The strategies (or selectors) to run, in order."""
        raise NotImplementedError


def registered(registry: Registry[Any]) -> Callable[[Any], Any]:
    """A field validator: every name in the field is in ``registry``.

    The error is the registry's own message (``unknown strategy 'x'; choose
    one of: ...``); pydantic puts the field's name in front of it.
    """

    def check(value: Any) -> Any:
        for name in (value,) if isinstance(value, str) else value:
            if name not in registry:
                message = f"unknown {registry.kind} {name!r}; choose one of: "
                raise PydanticCustomError("unknown_name", message + ", ".join(registry.names()))
        return value

    return check


def at_least_seed_size(budget: int, info: ValidationInfo) -> int:
    """A field validator for ``budget``: a run cannot label fewer than its seed set."""
    seed_size = info.data.get("seed_size")
    if seed_size is not None and budget < seed_size:
        raise PydanticCustomError(
            "budget_below_seed_size",
            f"must be at least seed_size ({seed_size}); got {budget}",
        )
    return budget


class BatchSettingsBase(SimulationSettingsBase):
    """What the modes share that label a batch from the pool each round, up to a budget.

    Subclasses name the registries their strategies and learner come from
    (:data:`strategy_registry`, :data:`learner_registry`) and give ``learner``
    and ``budget`` their defaults.

    Attributes:
        strategies: the strategies to compare, in order.
        learner: the model.
        batch_size: labels queried per round.
        budget: total labels per run, at least ``seed_size``.
    """

    strategy_registry: ClassVar[Registry[Any]]
    """Where the ``strategies`` must be registered."""
    learner_registry: ClassVar[Registry[Any]]
    """Where the ``learner`` must be registered."""

    strategies: tuple[str, ...] = Field(min_length=1)
    learner: str
    batch_size: int = Field(10, ge=1)
    budget: int

    _budget_covers_seed = field_validator("budget")(at_least_seed_size)

    @field_validator("strategies")
    @classmethod
    def _strategies_known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known: tuple[str, ...] = registered(cls.strategy_registry)(value)
        return known

    @field_validator("learner")
    @classmethod
    def _learner_known(cls, value: str) -> str:
        known: str = registered(cls.learner_registry)(value)
        return known

    def names(self) -> tuple[str, ...]:
        """The strategies, in order."""
        return self.strategies

    def rounds(self) -> int:
        """Evaluation points per run: the seed set, then one per batch."""
        return 1 + -(-(self.budget - self.seed_size) // self.batch_size)


DataT = TypeVar("DataT")
SettingsT = TypeVar("SettingsT", bound=SimulationSettingsBase)


class SimulationMode(ABC, Generic[DataT, SettingsT]):
    """One kind of simulation: how it splits its data and runs one strategy once.

    Subclasses implement :meth:`split`, :meth:`run_one` and :meth:`title`, and
    may add leading summary fields (:meth:`header`), the summary's accuracy
    targets (:meth:`targets`) and per-strategy summary fields (:meth:`summarize`).
    """

    @abstractmethod
    def split(self, data: DataT, settings: SettingsT) -> tuple[Indices, Indices]:
        """Indices of the pool and of the held-out test set."""

    @abstractmethod
    def run_one(
        self,
        data: DataT,
        pool: Indices,
        test: Indices,
        name: str,
        repeat: int,
        settings: SettingsT,
        emit: Emit,
    ) -> None:
        """One strategy, one repeat; each round reported through ``emit``."""

    @abstractmethod
    def title(self, settings: SettingsT) -> str:
        """The plot's title."""

    def header(self, settings: SettingsT) -> dict[str, object]:
        """Summary fields written before the settings (none by default)."""
        return {}

    def targets(self, settings: SettingsT) -> Sequence[float] | None:
        """Accuracy levels for "labels to reach"; None: the curves' default."""
        return None

    def summarize(
        self, strategies: dict[str, dict[str, object]], settings: SettingsT, last: LastRounds
    ) -> None:
        """Add mode-specific fields to each strategy's summary entry (in place)."""


def simulate(
    mode: SimulationMode[DataT, SettingsT],
    data: DataT,
    settings: SettingsT,
    out: Path,
    *,
    on_round: RoundCallback | None = None,
) -> dict[str, object]:
    """Run every strategy for every repeat and write the four output files.

    Args:
        mode: the kind of simulation.
        data: what the mode simulates on.
        settings: the mode's validated settings.
        out: folder for the outputs (created).
        on_round: called after each round with its curve point (progress bars).

    Returns:
        The summary that was written to ``summary.json``: the mode's header,
        the settings, pool and test sizes, and per strategy the curves'
        summary (:func:`~labelloop.monitor.curves.summarize_curves`) with the
        mode's own fields.
    """
    pool, test = mode.split(data, settings)
    last: dict[tuple[str, int], Mapping[str, object]] = {}
    out.mkdir(parents=True, exist_ok=True)
    try:
        with (
            (out / "curves.csv").open("w", newline="") as f,
            (out / "rounds.jsonl").open("w") as details,
        ):
            writer = csv.writer(f)
            writer.writerow(CURVE_COLUMNS)
            f.flush()

            def emit(point: CurvePoint, metrics: dict[str, object]) -> None:
                writer.writerow([point.strategy, point.repeat, point.n_labeled, point.accuracy])
                f.flush()
                details.write(json.dumps({**asdict(point), **metrics}) + "\n")
                details.flush()
                last[(point.strategy, point.repeat)] = metrics
                if on_round is not None:
                    on_round(point)

            for repeat in range(settings.repeats):
                for name in settings.names():
                    mode.run_one(data, pool, test, name, repeat, settings, emit)
    finally:
        points = read_curves(out / "curves.csv")
        targets = mode.targets(settings)
        strategies = (
            summarize_curves(points) if targets is None else summarize_curves(points, targets)
        )
        mode.summarize(strategies, settings, last)
        summary: dict[str, object] = {
            **mode.header(settings),
            "settings": settings.model_dump(mode="json"),
            "pool_size": len(pool),
            "test_size": len(test),
            "strategies": strategies,
        }
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        if points:
            plot_curves(points, out / "curves.png", title=mode.title(settings))
    return summary


SIMULATION_MODES: Registry[SimulationMode[Any, Any]] = Registry("simulation mode")
"""Simulation modes by name; each entry is the mode's class."""
SIMULATION_MODES.add(
    "detection",
    "labelloop.loop.detection_sim:DetectionMode",
    help="object detection: mAP@0.5 curves, the detector warm-started round to round",
)
SIMULATION_MODES.add(
    "pool", "labelloop.loop.simulate:PoolMode", help="classification: rank the pool each round"
)
SIMULATION_MODES.add(
    "stream",
    "labelloop.loop.stream_sim:StreamMode",
    help="classification: decide per arriving item, within a labeling budget",
)
