"""The simulation driver: files written as rows arrive, a summary however the run ends, modes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from pydantic import Field, ValidationError

from labelloop.loop.simulate import Dataset, SimulationSettings, load_dataset, run_simulation
from labelloop.loop.simulation import (
    SIMULATION_MODES,
    BatchSettingsBase,
    Emit,
    LastRounds,
    SimulationMode,
    SimulationSettingsBase,
    simulate,
)
from labelloop.monitor.curves import CurvePoint, read_curves
from labelloop.plugins import Registry

Indices = NDArray[np.int64]


class ToySettings(SimulationSettingsBase):
    strategies: tuple[str, ...] = Field(min_length=1)
    rounds: int = 3

    def names(self) -> tuple[str, ...]:
        return self.strategies


class ToyMode(SimulationMode[int, ToySettings]):
    """Accuracy ``0.1 * round`` (plus 0.05 for ``better``); fails on a strategy named ``boom``."""

    def split(self, data: int, settings: ToySettings) -> tuple[Indices, Indices]:
        return np.arange(data - 2, dtype=np.int64), np.arange(2, dtype=np.int64)

    def run_one(
        self,
        data: int,
        pool: Indices,
        test: Indices,
        name: str,
        repeat: int,
        settings: ToySettings,
        emit: Emit,
    ) -> None:
        for r in range(settings.rounds):
            if name == "boom" and r == 1:
                raise RuntimeError("boom")
            bonus = 0.05 if name == "better" else 0.0
            emit(CurvePoint(name, repeat, 10 * (r + 1), 0.1 * r + bonus), {"round": r})

    def title(self, settings: ToySettings) -> str:
        return "toy"

    def header(self, settings: ToySettings) -> dict[str, object]:
        return {"metric": "toy"}

    def targets(self, settings: ToySettings) -> tuple[float, ...]:
        return (0.15,)

    def summarize(
        self, strategies: dict[str, dict[str, object]], settings: ToySettings, last: LastRounds
    ) -> None:
        for name, entry in strategies.items():
            entry["last_rounds"] = [m["round"] for (s, _), m in sorted(last.items()) if s == name]


def _summary(out: Path) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return summary


def test_runs_every_strategy_per_repeat_and_writes_the_hooks_fields(tmp_path: Path) -> None:
    seen: list[CurvePoint] = []
    settings = ToySettings(strategies=("random", "better"), repeats=2, rounds=2)
    summary: dict[str, Any] = simulate(ToyMode(), 10, settings, tmp_path, on_round=seen.append)
    # Repeats outside, strategies inside, every round reported once.
    assert [(p.repeat, p.strategy) for p in seen[::2]] == [
        (0, "random"),
        (0, "better"),
        (1, "random"),
        (1, "better"),
    ]
    assert read_curves(tmp_path / "curves.csv") == seen
    records = [json.loads(line) for line in (tmp_path / "rounds.jsonl").read_text().splitlines()]
    assert [r["round"] for r in records] == [0, 1] * 4
    assert summary == _summary(tmp_path)
    assert list(summary)[:2] == ["metric", "settings"]
    assert summary["pool_size"] == 8 and summary["test_size"] == 2
    assert summary["settings"]["strategies"] == ["random", "better"]
    strategies = summary["strategies"]
    # The mode's hook saw each run's last round; its targets replace the default.
    assert strategies["better"]["last_rounds"] == [1, 1]
    assert strategies["better"]["labels_to_15"] == 20
    assert strategies["random"]["labels_to_15"] is None
    assert "labels_to_90" not in strategies["random"]
    assert (tmp_path / "curves.png").is_file()


def test_a_failed_run_keeps_its_rows_and_writes_the_summary(tmp_path: Path) -> None:
    settings = ToySettings(strategies=("random", "boom"), repeats=1)
    with pytest.raises(RuntimeError, match="boom"):
        simulate(ToyMode(), 10, settings, tmp_path)
    points = read_curves(tmp_path / "curves.csv")
    assert [(p.strategy, p.n_labeled) for p in points] == [
        ("random", 10),
        ("random", 20),
        ("random", 30),
        ("boom", 10),
    ]
    assert len((tmp_path / "rounds.jsonl").read_text().splitlines()) == 4
    strategies = _summary(tmp_path)["strategies"]
    assert strategies["boom"]["last_rounds"] == [0]
    assert strategies["random"]["final_n_labeled"] == 30


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits")


def _pool(digits: Dataset, out: Path, on_round: Callable[[CurvePoint], None]) -> None:
    settings = SimulationSettings(strategies=("random",), learner="logreg", budget=100)
    run_simulation(digits, settings, out, on_round=on_round)


def _stream(digits: Dataset, out: Path, on_round: Callable[[CurvePoint], None]) -> None:
    from labelloop.loop.stream_sim import StreamSettings, run_stream_simulation

    settings = StreamSettings(selectors=("random",), learner="logreg", retrain_every=5)
    run_stream_simulation(digits, settings, out, on_round=on_round)


def _detection(digits: Dataset, out: Path, on_round: Callable[[CurvePoint], None]) -> None:
    import torch

    from labelloop.loop.detection_sim import (
        DetectionSimulationSettings,
        load_detection_dataset,
        run_detection_simulation,
    )

    torch.set_num_threads(1)
    data = load_detection_dataset("detection-demo:0,1", n_images=30, seed=1)
    settings = DetectionSimulationSettings(
        strategies=("random",), seed_size=4, batch_size=2, budget=12, epochs=1, min_steps=0
    )
    run_detection_simulation(data, settings, out, on_round=on_round)


@pytest.mark.parametrize("run", [_pool, _stream, _detection], ids=["pool", "stream", "detection"])
def test_an_interrupted_run_keeps_its_rows_and_writes_the_summary(
    run: Callable[[Dataset, Path, Callable[[CurvePoint], None]], None],
    digits: Dataset,
    tmp_path: Path,
) -> None:
    seen: list[CurvePoint] = []

    def stop_after_three(point: CurvePoint) -> None:
        seen.append(point)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(digits, tmp_path, stop_after_three)
    assert read_curves(tmp_path / "curves.csv") == seen
    assert len((tmp_path / "rounds.jsonl").read_text().splitlines()) == 3
    entry = _summary(tmp_path)["strategies"]["random"]
    assert entry["final_n_labeled"] == seen[-1].n_labeled
    if run is _stream:
        assert entry["budget_fraction"] == 0.1 and 0.0 < entry["spent_share"] <= 1.0
    assert (tmp_path / "curves.png").is_file()


def _settings(mode: str) -> Callable[..., SimulationSettingsBase]:
    if mode == "stream":
        from labelloop.loop.stream_sim import StreamSettings

        return StreamSettings
    if mode == "detection":
        from labelloop.loop.detection_sim import DetectionSimulationSettings

        return DetectionSimulationSettings
    return SimulationSettings


NAMES = {"pool": "strategies", "stream": "selectors", "detection": "strategies"}
VALID = {"pool": "random", "stream": "random", "detection": "random"}


@pytest.mark.parametrize("mode", ["pool", "stream", "detection"])
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("names", ("clairvoyant",), "unknown .*'clairvoyant'; choose one of: .*random"),
        ("names", (), "at least 1 item"),
        ("learner", "oracle", "unknown .*learner 'oracle'; choose one of"),
        ("seed_size", 0, "greater than or equal to 1"),
        ("repeats", 0, "greater than or equal to 1"),
        ("seed", -1, "greater than or equal to 0"),
        ("test_fraction", 1.0, "less than 1"),
        ("colour", "blue", "Extra inputs are not permitted"),
    ],
)
def test_settings_name_the_field_they_refuse(
    mode: str, field: str, value: object, message: str
) -> None:
    names = NAMES[mode]
    params: dict[str, Any] = {names: (VALID[mode],)}
    params[names if field == "names" else field] = value
    with pytest.raises(ValidationError) as raised:
        _settings(mode)(**params)
    (error,) = raised.value.errors()
    assert error["loc"] == (names if field == "names" else field,)
    assert re.search(message, error["msg"]), error["msg"]


@pytest.mark.parametrize("mode", ["pool", "detection"])
def test_budget_below_the_seed_set_names_both_fields(mode: str) -> None:
    with pytest.raises(ValidationError) as raised:
        _settings(mode)(strategies=("random",), seed_size=30, budget=20)
    (error,) = raised.value.errors()
    assert error["loc"] == ("budget",)
    assert error["msg"] == "must be at least seed_size (30); got 20"


@pytest.mark.parametrize("value", [0.0, 1.5])
def test_stream_budget_fraction_is_a_share(value: float) -> None:
    with pytest.raises(ValidationError) as raised:
        _settings("stream")(selectors=("random",), budget_fraction=value)
    assert raised.value.errors()[0]["loc"] == ("budget_fraction",)
    _settings("stream")(selectors=("random",), budget_fraction=1.0)


def test_settings_are_frozen() -> None:
    settings = SimulationSettings(strategies=("random",))
    with pytest.raises(ValidationError, match="frozen"):
        settings.seed = 3  # type: ignore[misc]


def test_every_registered_mode_loads_a_simulation_mode() -> None:
    assert SIMULATION_MODES.names() == ("detection", "pool", "stream")
    for entry in SIMULATION_MODES:
        mode = SIMULATION_MODES.create(entry.name)
        assert isinstance(mode, SimulationMode), entry.name
        assert entry.help


def test_batch_settings_check_names_against_their_subclass_registries() -> None:
    shapes: Registry[object] = Registry("shape")
    shapes.add("square", "builtins:dict", help="four sides")
    models: Registry[object] = Registry("model")
    models.add("tiny", "builtins:dict", help="small")

    class ShapeSettings(BatchSettingsBase):
        strategy_registry = shapes
        learner_registry = models
        learner: str = "tiny"
        budget: int = 45

    settings = ShapeSettings(strategies=("square",), seed_size=20)
    # 20 seed labels, then batches of 10, 10 and a last one cut to the budget.
    assert settings.names() == ("square",) and settings.rounds() == 4
    with pytest.raises(ValidationError, match="unknown shape 'circle'; choose one of: square"):
        ShapeSettings(strategies=("circle",))
    with pytest.raises(ValidationError, match="unknown model 'huge'; choose one of: tiny"):
        ShapeSettings(strategies=("square",), learner="huge")
    with pytest.raises(ValidationError, match="must be at least seed_size"):
        ShapeSettings(strategies=("square",), budget=5)


@pytest.mark.parametrize("mode", ["pool", "detection"])
def test_summaries_list_the_shared_settings_first_in_one_order(mode: str) -> None:
    dumped = _settings(mode)(strategies=("random",)).model_dump()
    assert list(dumped)[:8] == [
        "seed_size",
        "repeats",
        "seed",
        "test_fraction",
        "strategies",
        "learner",
        "batch_size",
        "budget",
    ]
    assert dumped["learner"] == ("cnn" if mode == "pool" else "fcos_tiny")
    assert dumped["budget"] == (300 if mode == "pool" else 100)
