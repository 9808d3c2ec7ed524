"""The project configuration: task-aware names and defaults, monitor and detection settings."""

from __future__ import annotations

from pathlib import Path

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
    with pytest.raises(ValidationError, match="unknown drift test 'chi2'; choose one of: "):
        MonitorConfig(drift_test="chi2")
    with pytest.raises(ValidationError):
        ProjectConfig(name="c", classes=("a",), monitor={"no_such": 1})


@pytest.mark.parametrize("task", ["classification", "detection"])
def test_settings_accept_exactly_the_registered_names(task: str) -> None:
    """The settings read their allowed strategies and learners from the registries."""
    from labelloop.learners.registry import DETECTION_LEARNERS, LEARNERS
    from labelloop.strategies.registry import DETECTION_STRATEGIES, STRATEGIES

    detection = task == "detection"
    strategies = (DETECTION_STRATEGIES if detection else STRATEGIES).names()
    learners = (DETECTION_LEARNERS if detection else LEARNERS).names()
    base = ProjectConfig(name="c", classes=("a", "b"), task=task)
    for name in strategies:
        assert ProjectConfig.model_validate(base.to_dict() | {"strategy": name}).strategy == name
    for name in learners:
        assert ProjectConfig.model_validate(base.to_dict() | {"learner": name}).learner == name
    with pytest.raises(ValidationError, match="unknown strategy 'nope'"):
        ProjectConfig.model_validate(base.to_dict() | {"strategy": "nope"})
    with pytest.raises(ValidationError, match="unknown learner 'nope'"):
        ProjectConfig.model_validate(base.to_dict() | {"learner": "nope"})


def test_cli_help_and_status_do_not_import_torch(tmp_path: Path) -> None:
    """`labelloop --help`, `status` and `config` start without loading torch (lazy imports)."""
    import subprocess
    import sys

    from labelloop.loop.workspace import Workspace

    Workspace.init(tmp_path / "p", ProjectConfig(name="p", classes=("a", "b"))).close()
    probe = (
        "import sys\n"
        "from labelloop.cli import app\n"
        "try:\n"
        "    app(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('torch', 'torchvision', 'sklearn') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    for args in (["--help"], ["status", str(tmp_path / "p")], ["config", str(tmp_path / "p")]):
        out = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True
        )
        assert "HEAVY []" in out.stdout, (args, out.stdout[-500:], out.stderr[-2000:])


def test_the_readme_example_configuration_is_valid() -> None:
    """The YAML a reader copies from the README's configuration section must load."""
    from pathlib import Path

    import yaml

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    example = readme.split("```yaml", 1)[1].split("```", 1)[0]
    config = ProjectConfig.model_validate(yaml.safe_load(example))
    assert config.classes == ("car", "truck", "bus") and config.monitor.drift_min_batch == 50
