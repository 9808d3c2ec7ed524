"""Self-supervised pretraining (SimCLR): the loss, resumable runs, and the project's backbone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from labelloop.config import ProjectConfig
from labelloop.data.demo import DIGITS_CLASSES
from labelloop.data.photolike import photo_like_arrays, write_photo_like
from labelloop.learners.backbones import Backbone
from labelloop.learners.errors import ModelFileCorruptError
from labelloop.learners.pretrain import PretrainSettings, augment_views, nt_xent, pretrain
from labelloop.loop import Workspace, run_round
from labelloop.loop.pretrain import pretrain_project


def test_nt_xent_rewards_matching_views() -> None:
    z = torch.eye(8)
    matched = nt_xent(z, z.clone(), temperature=0.1)
    shuffled = nt_xent(z, z[torch.randperm(8, generator=torch.Generator().manual_seed(1))], 0.1)
    assert float(matched) < 0.01 < float(shuffled)


def test_views_are_rgb_at_the_asked_size_and_differ() -> None:
    batch = torch.rand(4, 1, 30, 40)
    generator = torch.Generator().manual_seed(0)
    a, b = augment_views(batch, 24, generator), augment_views(batch, 24, generator)
    assert a.shape == (4, 3, 24, 24) and float(a.min()) >= 0 and float(a.max()) <= 1
    assert not torch.allclose(a, b)


def _batches(X: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(X), size):
        yield X[start : start + size]


def test_a_stopped_run_resumes_at_the_next_epoch(tmp_path: Path) -> None:
    X, _ = photo_like_arrays(16, size=32, seed=0)
    settings = PretrainSettings(backbone="resnet18", input_size=32, epochs=1)
    checkpoint, weights = tmp_path / "run.ckpt", tmp_path / "backbone.pt"
    steps: list[tuple[int, int]] = []
    first = pretrain(
        lambda epoch: _batches(X, 8),
        settings,
        checkpoint=checkpoint,
        weights_out=weights,
        on_step=lambda epoch, step, loss: steps.append((epoch, step)),
        steps_per_epoch=2,
    )
    assert (first.resumed_from, len(first.losses), steps) == (0, 1, [(0, 0), (0, 1)])
    longer = PretrainSettings(backbone="resnet18", input_size=32, epochs=2)
    second = pretrain(
        lambda epoch: _batches(X, 8),
        longer,
        checkpoint=checkpoint,
        weights_out=weights,
        on_step=lambda epoch, step, loss: steps.append((epoch, step)),
        steps_per_epoch=2,
    )
    assert second.resumed_from == 1 and len(second.losses) == 2
    assert steps[2:] == [(1, 0), (1, 1)]  # only the missing epoch ran
    backbone = Backbone("resnet18", str(weights), input_size=32)
    assert backbone.skipped_weights == []
    saved = torch.load(weights, weights_only=True)
    assert torch.equal(backbone.body.state_dict()["conv1.weight"], saved["conv1.weight"])
    with pytest.raises(ModelFileCorruptError):
        other = PretrainSettings(backbone="resnet50", input_size=32, epochs=3)
        pretrain(lambda epoch: _batches(X, 8), other, checkpoint=checkpoint, weights_out=weights)


def test_the_project_uses_its_pretrained_backbone(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    write_photo_like(photos, 24, min_side=60, max_side=90)
    config = ProjectConfig(name="p", classes=DIGITS_CLASSES, auto_label_threshold=None)
    with Workspace.init(tmp_path / "p", config) as ws:
        ws.import_folder(photos, with_labels=True)
        done = pretrain_project(
            ws, PretrainSettings(backbone="resnet18", input_size=32, epochs=1), batch_size=8
        )
        assert done.images == 24
        assert ws.config.learner == "resnet18"
        assert ws.config.backbone.mode == "embed"
        assert Path(ws.config.backbone.weights).is_file()
        assert {c.key for c in done.changes} >= {"learner", "backbone.weights"}
        result = run_round(ws)
        assert result.round.model_id is not None
