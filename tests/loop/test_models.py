"""labelloop.loop.models: the project's learner, and its latest trained model found and loaded."""

from __future__ import annotations

import numpy as np

from labelloop.loop import Workspace, run_round
from labelloop.loop.models import latest_learner, latest_model, project_learner
from labelloop.loop.settings import apply_settings
from labelloop.store import LabelInput

SHAPE = (1, 8, 8)


def _trained(ws: Workspace, truth: dict[int, str]) -> int:
    """Label the cold start's batch and run a round that trains; returns its model id."""
    first = run_round(ws).round.selected
    ws.store.record_labels(ws.project.id, [LabelInput(i, truth[i], annotator="t") for i in first])
    model_id = run_round(ws).round.model_id
    assert model_id is not None
    return model_id


def test_a_damaged_model_file_is_set_aside_and_training_recovers(
    ws: Workspace, truth: dict[int, str]
) -> None:
    pid = ws.project.id
    first = run_round(ws).round.selected
    ws.store.record_labels(pid, [LabelInput(i, truth[i], annotator="t") for i in first])
    trained = run_round(ws)
    path = ws.root / str(ws.store.model(trained.round.model_id).path)  # type: ignore[arg-type]
    path.write_bytes(b"not a model")
    again = run_round(ws)  # would fail at every round if the damaged file were trusted
    assert again.round.model_id is not None and again.round.model_id != trained.round.model_id
    assert path.with_name(path.name + ".quarantined").exists()


def test_project_learner_is_a_new_learner_as_the_settings_describe(ws: Workspace) -> None:
    learner = project_learner(ws, SHAPE)
    assert learner.n_classes == len(ws.config.classes) == 10
    apply_settings(ws, {"learner": "logreg_bagging"}, who="test")
    bagging = project_learner(ws, SHAPE)
    assert bagging.get_params()["bagging"] > 0  # type: ignore[attr-defined]


def test_before_any_model_there_is_nothing_to_load(ws: Workspace) -> None:
    assert latest_model(ws) is None and latest_learner(ws, SHAPE) is None
    run_round(ws)  # a cold start records no model
    assert latest_model(ws) is None and latest_learner(ws, SHAPE) is None


def test_the_latest_model_loads_as_it_was_saved(ws: Workspace, truth: dict[int, str]) -> None:
    model_id = _trained(ws, truth)
    record = latest_model(ws)
    assert record is not None and record.id == model_id and record.learner == "logreg"
    learner = latest_learner(ws, SHAPE)
    assert learner is not None
    X = ws.load_arrays(ws.store.items(ws.project.id)[:5])
    probs = learner.predict_proba(X)
    assert probs.shape == (5, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_a_model_of_another_learner_is_not_warm_started(
    ws: Workspace, truth: dict[int, str]
) -> None:
    _trained(ws, truth)
    apply_settings(ws, {"learner": "logreg_bagging"}, who="test")
    assert latest_model(ws) is None and latest_learner(ws, SHAPE) is None


def test_a_missing_model_file_gives_no_learner_and_a_damaged_one_is_set_aside(
    ws: Workspace, truth: dict[int, str]
) -> None:
    model_id = _trained(ws, truth)
    path = ws.root / str(ws.store.model(model_id).path)
    kept = path.read_bytes()
    path.unlink()
    assert latest_learner(ws, SHAPE) is None
    assert not path.with_name(path.name + ".quarantined").exists()  # nothing to set aside
    path.write_bytes(kept[: len(kept) // 2])
    assert latest_learner(ws, SHAPE) is None
    assert not path.exists() and path.with_name(path.name + ".quarantined").read_bytes()
