"""Backbone learners in the project loop: the photo default, and embed rounds off the cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torchvision.models import get_model

from labelloop.config import ProjectConfig
from labelloop.data.demo import DIGITS_CLASSES, write_digits
from labelloop.data.photolike import write_photo_like
from labelloop.learners.backbones import imagenet_weights_file
from labelloop.learners.embedding import EmbeddingClassifier
from labelloop.loop import Workspace, run_round
from labelloop.loop.models import latest_learner


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    yield tmp_path / "torch"


def _place_resnet18() -> None:
    path = imagenet_weights_file("resnet18")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(get_model("resnet18", weights=None).state_dict(), path)


def _photos(root: Path, n: int = 30) -> Path:
    write_photo_like(root, n, min_side=60, max_side=90)
    return root


def test_photos_get_a_pretrained_backbone_when_its_weights_are_there(
    tmp_path: Path, torch_home: Path
) -> None:
    _place_resnet18()
    with Workspace.init(tmp_path / "p", ProjectConfig(name="p", classes=DIGITS_CLASSES)) as ws:
        report = ws.import_folder(_photos(tmp_path / "photos"), with_labels=False)
        decided = {key for key, _, _ in report.decided}
        assert {"channels", "image_size", "learner", "backbone"} <= decided
        assert ws.config.learner == "resnet18"
        assert (ws.config.backbone.weights, ws.config.backbone.mode) == ("imagenet", "embed")
        history = ws.store.config_history(ws.project.id)
        assert any(change.key == "learner" and change.who == "labelloop" for change in history)


def test_without_weights_or_on_digits_the_cnn_stays(tmp_path: Path, torch_home: Path) -> None:
    config = ProjectConfig(name="p", classes=DIGITS_CLASSES)
    with Workspace.init(tmp_path / "a", config) as ws:
        ws.import_folder(_photos(tmp_path / "photos"), with_labels=False)
        assert ws.config.learner == "cnn"  # no ImageNet file in the cache
    _place_resnet18()
    with Workspace.init(tmp_path / "b", config) as ws:
        ws.import_folder(write_digits(tmp_path / "digits"), with_labels=False)
        assert ws.config.learner == "cnn"  # 8x8 digits: the demo stays as fast as it is
    chosen = config.model_copy(update={"learner": "logreg"})
    with Workspace.init(tmp_path / "c", chosen) as ws:
        ws.import_folder(_photos(tmp_path / "photos2"), with_labels=True)
        assert ws.config.learner == "logreg"  # the user's choice is kept


def test_embed_rounds_after_the_first_never_run_the_backbone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = ProjectConfig.model_validate(
        {
            "name": "p",
            "classes": DIGITS_CLASSES,
            "learner": "resnet18",
            "backbone": {"mode": "embed", "weights": "none", "input_size": 32},
            "auto_label_threshold": None,
        }
    )
    with Workspace.init(tmp_path / "p", config) as ws:
        ws.import_folder(_photos(tmp_path / "photos", 40), with_labels=True)
        first = run_round(ws)
        assert first.metrics.n_labeled == 40
        cache = tmp_path / "p" / "cache" / "embeddings"
        shards = sorted(cache.rglob("vectors-*.npy"))
        assert shards

        def no_backbone(self: EmbeddingClassifier) -> None:
            raise AssertionError("the backbone ran in a later round")

        monkeypatch.setattr(EmbeddingClassifier, "_backbone", no_backbone)
        second = run_round(ws)
        assert second.metrics.validation_value("accuracy") is not None
        assert sorted(cache.rglob("vectors-*.npy")) == shards
        learner = latest_learner(ws, (3, *ws.config.image_size))  # type: ignore[misc]
        assert isinstance(learner, EmbeddingClassifier)


def test_cold_start_reads_the_backbones_embeddings(tmp_path: Path) -> None:
    config = ProjectConfig.model_validate(
        {
            "name": "p",
            "classes": DIGITS_CLASSES,
            "learner": "resnet18",
            "backbone": {"mode": "embed", "weights": "none", "input_size": 32},
            "cold_start": "probcover",
            "batch_size": 5,
        }
    )
    with Workspace.init(tmp_path / "p", config) as ws:
        ws.import_folder(_photos(tmp_path / "photos", 30), with_labels=False)
        result = run_round(ws)
        assert result.round.strategy == "probcover"
        assert len(ws.store.queue(ws.project.id)) > 0
        # The embeddings were computed by the frozen backbone and kept for the rounds.
        assert list((tmp_path / "p" / "cache" / "embeddings").rglob("vectors-*.npy"))


def test_drift_and_outlier_checks_embed_with_the_backbone(tmp_path: Path) -> None:
    from labelloop.loop.health import check_batch

    config = ProjectConfig.model_validate(
        {
            "name": "p",
            "classes": DIGITS_CLASSES,
            "learner": "resnet18",
            "backbone": {"mode": "embed", "weights": "none", "input_size": 32},
        }
    )
    with Workspace.init(tmp_path / "p", config) as ws:
        ws.import_folder(_photos(tmp_path / "first", 30), with_labels=False)
        before = {item.id for item in ws.store.items(ws.project.id)}
        write_photo_like(tmp_path / "second", 12, seed=5, min_side=60, max_side=90)
        ws.import_folder(tmp_path / "second", with_labels=False)
        batch = [item.id for item in ws.store.items(ws.project.id) if item.id not in before]
        health = check_batch(ws, batch)
        assert health.drift is not None
        # No model exists: the features came from the frozen backbone (its cache filled).
        cache = tmp_path / "p" / "cache" / "embeddings"
        assert not ws.store.rounds(ws.project.id)
        assert list(cache.rglob("vectors-*.npy"))
