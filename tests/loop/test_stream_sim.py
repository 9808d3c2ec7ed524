"""labelloop.loop.stream_sim: stream-based selective sampling within a labeling budget."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from labelloop.loop import Dataset, load_dataset
from labelloop.loop.stream_sim import StreamMode, StreamSettings, run_stream_simulation
from labelloop.monitor import read_curves


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits")


@pytest.fixture(scope="module")
def small(digits: Dataset) -> Dataset:
    """300 digits: enough for a stream of a few hundred decisions."""
    return Dataset(digits.X[:300], digits.y[:300], digits.classes)


def test_stream_simulation_spends_the_budget(digits: Dataset, tmp_path: Path) -> None:

    settings = StreamSettings(
        selectors=("random", "variable_uncertainty"),
        learner="logreg",
        budget_fraction=0.1,
        retrain_every=20,
        repeats=1,
    )
    summary = run_stream_simulation(digits, settings, tmp_path)
    strategies = summary["strategies"]
    assert isinstance(strategies, dict)
    stream_len = summary["pool_size"] - settings.seed_size  # type: ignore[operator]
    for name in ("random", "variable_uncertainty"):
        assert abs(strategies[name]["spent_share"] - 0.1) < 0.01
        # Seed labels plus about a tenth of the stream were labeled, no more.
        assert strategies[name]["final_n_labeled"] <= settings.seed_size + 0.11 * stream_len
    points = read_curves(tmp_path / "curves.csv")
    assert {p.strategy for p in points} == {"random", "variable_uncertainty"}
    assert all(p.n_labeled >= settings.seed_size for p in points)


def test_stream_settings_refuse_bad_values() -> None:

    with pytest.raises(ValueError, match="budget_fraction"):
        StreamSettings(selectors=("random",), budget_fraction=0.0)
    with pytest.raises(ValueError, match=r"(?i)unknown"):
        StreamSettings(selectors=("clairvoyant",))


def test_each_retraining_writes_a_point_with_what_the_stream_spent(
    small: Dataset, tmp_path: Path
) -> None:
    settings = StreamSettings(
        selectors=("random",), budget_fraction=0.5, retrain_every=7, seed_size=10, repeats=1
    )
    summary = run_stream_simulation(small, settings, tmp_path)
    assert summary["mode"] == "stream"
    records = [json.loads(line) for line in (tmp_path / "rounds.jsonl").read_text().splitlines()]
    # The first point is the seed set's model, before the stream started.
    assert (records[0]["n_labeled"], records[0]["seen"], records[0]["spent_share"]) == (10, 0, 0)
    bought = [r["n_labeled"] for r in records]
    assert bought == sorted(bought) and len(set(bought)) == len(bought)
    # Every point but the last follows exactly retrain_every new labels.
    assert all(b - a == 7 for a, b in itertools.pairwise(bought[:-1]))
    for record in records[1:]:
        spent = (record["n_labeled"] - 10) / record["seen"]
        assert record["spent_share"] == pytest.approx(spent)
    last = records[-1]
    # The whole stream went by.
    assert last["seen"] == summary["pool_size"] - 10  # type: ignore[operator]
    entry = summary["strategies"]["random"]  # type: ignore[index]
    assert entry["spent_share"] == pytest.approx(last["spent_share"])
    assert entry["budget_fraction"] == 0.5


def test_a_run_is_repeatable_from_its_seed_for_every_selector_and_repeat(
    small: Dataset, tmp_path: Path
) -> None:
    settings = StreamSettings(
        selectors=("fixed_threshold", "random"), retrain_every=5, seed_size=10, repeats=2
    )
    run_stream_simulation(small, settings, tmp_path / "a")
    run_stream_simulation(small, settings, tmp_path / "b")
    assert read_curves(tmp_path / "a" / "curves.csv") == read_curves(tmp_path / "b" / "curves.csv")
    points = read_curves(tmp_path / "a" / "curves.csv")
    assert {(p.strategy, p.repeat) for p in points} == {
        (name, repeat) for name in settings.selectors for repeat in range(2)
    }


def test_stream_mode_names_its_selectors_and_its_plot() -> None:
    settings = StreamSettings(selectors=("random", "fixed_threshold"), learner="logreg")
    assert settings.names() == ("random", "fixed_threshold")
    mode = StreamMode()
    assert mode.title(settings) == "Stream selective sampling (logreg)"
    assert mode.header(settings) == {"mode": "stream"}


def test_stream_settings_refuse_an_unknown_learner_and_empty_selectors() -> None:
    with pytest.raises(ValueError, match=r"unknown learner 'oracle'"):
        StreamSettings(selectors=("random",), learner="oracle")
    with pytest.raises(ValueError, match="selectors"):
        StreamSettings(selectors=())
    with pytest.raises(ValueError, match="retrain_every"):
        StreamSettings(selectors=("random",), retrain_every=0)
    assert np.isclose(StreamSettings(selectors=("random",)).budget_fraction, 0.1)
