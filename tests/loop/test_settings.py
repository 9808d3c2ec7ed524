"""Changing settings after init: validated whole, recorded (who, when, old -> new), explained."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from labelloop.config import ProjectConfig
from labelloop.loop import Workspace
from labelloop.loop.settings import SettingsError, apply_settings, parse_assignments
from labelloop.store import LabelInput


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    config = ProjectConfig(name="p", classes=("cat", "dog"), learner="logreg")
    return Workspace.init(tmp_path / "proj", config)


def test_parse_assignments_reads_yaml_values() -> None:
    parsed = parse_assignments(
        ["batch_size=5", "image_size=[224, 224]", "auto_label_threshold=null", "classes=a,b"]
    )
    assert parsed == {
        "batch_size": 5,
        "image_size": [224, 224],
        "auto_label_threshold": None,
        "classes": ["a", "b"],
    }
    with pytest.raises(SettingsError, match="key=value"):
        parse_assignments(["batch_size"])


def test_changes_are_applied_recorded_and_explained(ws: Workspace) -> None:
    changes = apply_settings(ws, {"strategy": "entropy", "monitor.drift_alpha": 0.01}, who="alice")
    assert {(c.key, c.old, c.new) for c in changes} == {
        ("strategy", "margin", "entropy"),
        ("monitor.drift_alpha", 0.05, 0.01),
    }
    assert all("next" in c.effect for c in changes)
    assert ws.config.strategy == "entropy" and ws.config.monitor.drift_alpha == 0.01
    reopened = Workspace.open(ws.root)
    assert reopened.config.strategy == "entropy"
    history = reopened.store.config_history(reopened.project.id)
    assert [(h.key, h.old, h.new, h.who) for h in history] == [
        ("strategy", "margin", "entropy", "alice"),
        ("monitor.drift_alpha", 0.05, 0.01, "alice"),
    ]
    # Setting a value to what it is changes and records nothing.
    assert apply_settings(ws, {"strategy": "entropy"}, who="bob") == []
    assert len(ws.store.config_history(ws.project.id)) == 2


def test_nested_sections_as_the_api_sends_them(ws: Workspace) -> None:
    changes = apply_settings(ws, {"monitor": {"outlier_policy": "keep"}}, who="admin")
    assert [(c.key, c.new) for c in changes] == [("monitor.outlier_policy", "keep")]


def test_bad_keys_and_values_are_refused_with_the_key_named(ws: Workspace) -> None:
    with pytest.raises(SettingsError, match=r"colour: no such setting; known here: .*strategy"):
        apply_settings(ws, {"colour": "red"}, who="a")
    with pytest.raises(SettingsError, match=r"monitor.nope: no such setting"):
        apply_settings(ws, {"monitor.nope": 1}, who="a")
    with pytest.raises(SettingsError, match="'batch_size' is not a group"):
        apply_settings(ws, {"batch_size.x": 1}, who="a")
    with pytest.raises(ValidationError, match="show_prediction"):
        apply_settings(ws, {"show_prediction": "sometimes"}, who="a")
    with pytest.raises(ValidationError, match="image_size must be two integers from 1 to 1024"):
        apply_settings(ws, {"image_size": [1500, 1500]}, who="a")
    with pytest.raises(ValidationError, match="seed"):
        apply_settings(ws, {"seed": 2**64}, who="a")
    with pytest.raises(SettingsError, match="task cannot change"):
        apply_settings(ws, {"task": "detection"}, who="a")
    assert ws.store.config_history(ws.project.id) == []


def test_classes_can_be_added_but_not_removed_once_labels_exist(
    ws: Workspace, tmp_path: Path
) -> None:
    # Before any label, the class list is free.
    apply_settings(ws, {"classes": ["dog", "cat"]}, who="a")
    apply_settings(ws, {"classes": ["cat", "dog"]}, who="a")
    image = tmp_path / "one.png"
    from PIL import Image

    Image.new("L", (8, 8), 3).save(image)
    item, _ = ws.add_file(image, "one.png")
    ws.store.record_labels(ws.project.id, [LabelInput(item.id, "cat", annotator="a")])
    with pytest.raises(SettingsError, match=r"\['dog'\] cannot be removed or renamed"):
        apply_settings(ws, {"classes": ["cat", "hound"]}, who="a")
    with pytest.raises(SettingsError, match="keep their order"):
        apply_settings(ws, {"classes": ["dog", "cat"]}, who="a")
    changes = apply_settings(ws, {"classes": ["cat", "dog", "bird"]}, who="a")
    assert changes[0].new == ["cat", "dog", "bird"]


def test_a_new_auto_label_threshold_says_what_it_would_label(tmp_path: Path) -> None:
    """Before a lower threshold applies, the change says how many items the latest model
    would auto-label and how often it was right at that confidence on validation."""
    from labelloop.data.demo import DIGITS_CLASSES, write_digits
    from labelloop.loop import run_round

    digits = write_digits(tmp_path / "digits")
    config = ProjectConfig(name="d", classes=DIGITS_CLASSES, learner="logreg", batch_size=10)
    ws = Workspace.init(tmp_path / "proj", config)
    ws.import_folder(digits, with_labels=False)
    assert (
        "no trained round yet"
        in apply_settings(ws, {"auto_label_threshold": 0.9}, who="a")[0].effect
    )
    items = ws.store.items(ws.project.id)
    ws.store.record_labels(
        ws.project.id,
        [LabelInput(i.id, i.name.split("/")[0], annotator="t") for i in items[::9]],
    )
    result = run_round(ws)
    histogram = result.metrics.confidence_histogram
    assert histogram is not None
    assert sum(histogram["pool"]) == len(items) - len(items[::9])
    assert sum(histogram["val_total"]) == result.metrics.n_val
    [change] = apply_settings(ws, {"auto_label_threshold": 0.5}, who="admin")
    assert "would auto-label about" in change.effect and "validation images" in change.effect
    low = int(change.effect.split("about ")[1].split()[0])
    [stricter] = apply_settings(ws, {"auto_label_threshold": 0.99}, who="admin")
    high = int(stricter.effect.split("about ")[1].split()[0])
    assert low > high >= 0


def test_every_setting_is_described_for_the_settings_page(ws: Workspace) -> None:
    from labelloop.loop.settings import describe_settings

    described = {d["key"]: d for d in describe_settings(ws.config)}
    flat = {k for k in described}
    assert {"batch_size", "monitor.drift_alpha", "team.annotators_export", "scale.executor"} <= flat
    batch = described["batch_size"]
    assert batch["kind"] == "number" and batch["minimum"] == 1 and batch["default"] == 10
    assert batch["help"] and batch["effect"] == "at the next round" and not batch["fixed"]
    assert described["name"]["fixed"] and described["task"]["fixed"]
    assert described["resize"]["choices"] == ["center_crop", "letterbox", "stretch"]
    assert described["auto_label_threshold"]["nullable"]
    assert "margin" in described["strategy"]["choices"]
    assert described["monitor.drift_test"]["kind"] == "choice"
    assert described["monitor.drift_test"]["choices"] == ["classifier", "ks", "mmd"]
    assert described["monitor.outlier_detector"]["choices"] == ["isolation_forest", "knn"]
    assert all(d["help"] for d in described.values()), [
        k for k, d in described.items() if not d["help"]
    ]
