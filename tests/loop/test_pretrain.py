"""labelloop.loop.pretrain: SimCLR on a project's own pool, resumable, then used as its backbone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

import labelloop.loop.pretrain as pretrain_module
from labelloop.config import ProjectConfig
from labelloop.data.photolike import write_photo_like
from labelloop.learners.pretrain import pretrain
from labelloop.loop import Workspace
from labelloop.loop.pretrain import PretrainSettings, pretrain_project

CLASSES = ("a", "b")
ONE_EPOCH = PretrainSettings(backbone="resnet18", input_size=32, epochs=1)


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _project(tmp_path: Path, n: int, **settings: object) -> Workspace:
    photos = tmp_path / "photos"
    write_photo_like(photos, n, min_side=40, max_side=60)
    config = ProjectConfig.model_validate({"name": "p", "classes": CLASSES, **settings})
    ws = Workspace.init(tmp_path / "proj", config)
    ws.import_folder(photos, with_labels=False)
    return ws


def test_a_pool_of_fewer_than_two_images_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "one"
    folder.mkdir()
    Image.new("L", (20, 20), 5).save(folder / "x.png")
    with Workspace.init(tmp_path / "proj", ProjectConfig(name="p", classes=CLASSES)) as ws:
        ws.import_folder(folder, with_labels=False)
        with pytest.raises(ValueError, match="at least two images"):
            pretrain_project(ws, ONE_EPOCH)
        assert not (ws.models_dir / "pretrained-resnet18.pt").exists()


def test_without_use_the_backbone_is_written_and_the_settings_stay(tmp_path: Path) -> None:
    with _project(tmp_path, 6) as ws:
        before = ws.config
        steps: list[tuple[int, int]] = []
        done = pretrain_project(
            ws,
            ONE_EPOCH,
            batch_size=4,
            use=False,
            on_step=lambda epoch, step, _loss: steps.append((epoch, step)),
        )
        assert done.images == 6 and done.changes == []
        assert ws.config == before
        assert (ws.models_dir / "pretrained-resnet18.pt").is_file()
        assert (ws.models_dir / "pretrain-resnet18.ckpt").is_file()
        # Six images in batches of four: two steps an epoch, the pool read once.
        assert steps == [(0, 0), (0, 1)]
        # Run again: the finished checkpoint resumes past its last epoch, nothing trains...
        steps.clear()
        again = pretrain_project(ws, ONE_EPOCH, batch_size=4, use=False)
        assert again.result.resumed_from == 1 and steps == []
        # ...unless told to restart.
        fresh = pretrain_project(
            ws,
            ONE_EPOCH,
            batch_size=4,
            use=False,
            restart=True,
            on_step=lambda epoch, step, _loss: steps.append((epoch, step)),
        )
        assert fresh.result.resumed_from == 0 and len(steps) == 2


def test_using_the_backbone_switches_the_project_to_it_and_keeps_fine_tuning(
    tmp_path: Path,
) -> None:
    settings = {"learner": "resnet18", "backbone": {"mode": "finetune", "weights": "none"}}
    with _project(tmp_path, 4, **settings) as ws:
        done = pretrain_project(ws, ONE_EPOCH, batch_size=4)
        weights = (ws.models_dir / "pretrained-resnet18.pt").resolve()
        assert ws.config.learner == "resnet18"
        assert ws.config.backbone.weights == str(weights)
        assert ws.config.backbone.input_size == 32
        # The project fine-tuned this backbone already: it goes on fine-tuning.
        assert ws.config.backbone.mode == "finetune"
        changed = {change.key: change.new for change in done.changes}
        assert changed["backbone.weights"] == str(weights)
        assert "learner" not in changed  # unchanged settings are not recorded as changes


def test_the_steps_an_epoch_declared_are_the_steps_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declared: list[int] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        declared.append(kwargs["steps_per_epoch"])
        return pretrain(*args, **kwargs)

    monkeypatch.setattr(pretrain_module, "pretrain", spy)
    steps: list[tuple[int, int]] = []
    with _project(tmp_path, 5) as ws:
        pretrain_project(
            ws,
            ONE_EPOCH,
            batch_size=4,
            use=False,
            on_step=lambda epoch, step, _loss: steps.append((epoch, step)),
        )
    assert declared == [len(steps)]
