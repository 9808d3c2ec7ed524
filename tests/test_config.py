"""The project configuration: task-aware names and defaults, monitor and detection settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from labelloop.config import MonitorConfig, ProjectConfig


def test_detection_projects_get_detection_defaults() -> None:
    cfg = ProjectConfig(name="d", task="detection", classes=("car",))
    assert (cfg.strategy, cfg.learner) == ("entropy_sum", "fcos_tiny")
    assert ProjectConfig.from_yaml(cfg.to_yaml()) == cfg


def test_names_are_checked_against_the_task() -> None:
    with pytest.raises(ValidationError, match="unknown strategy 'margin' for detection"):
        ProjectConfig(name="d", task="detection", classes=("car",), strategy="margin")
    with pytest.raises(ValidationError, match="unknown learner 'fcos_tiny' for classification"):
        ProjectConfig(name="c", classes=("a", "b"), learner="fcos_tiny")
    assert ProjectConfig(name="c", classes=("a", "b")).strategy == "margin"


def test_monitor_settings_are_validated() -> None:
    assert MonitorConfig().outlier_policy == "review_first"
    with pytest.raises(ValidationError, match="winsorize"):
        MonitorConfig(winsorize=(0.9, 0.1))
    with pytest.raises(ValidationError):
        MonitorConfig(drift_test="chi2")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ProjectConfig(name="c", classes=("a",), monitor={"no_such": 1})  # type: ignore[arg-type]
