"""Pretrained torchvision backbones: each builds, trains a step, saves and loads on the CPU;
the real torchvision weights path runs against locally made files in a temporary TORCH_HOME.
The timm and open_clip backbones are tested in test_hub_backbones.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.models import get_model

from labelloop.learners import make_learner
from labelloop.learners.backbones import (
    TORCHVISION_BACKBONES,
    Backbone,
    imagenet_weights_file,
    weights_available,
)
from labelloop.learners.embedding import EmbeddingCache, EmbeddingClassifier
from labelloop.learners.errors import WeightsUnavailableError

SMALL = 32  # the backbones' input side in these tests: fast on a CPU


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    yield tmp_path / "torch"


def _place_imagenet_file(name: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict of the full torchvision model, saved where torchvision looks for it."""
    torch.manual_seed(seed)
    state = get_model(name, weights=None).state_dict()
    path = imagenet_weights_file(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return dict(state)


def _images(n: int, channels: int = 3, side: int = 24) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.random((n, channels, side, side), dtype=np.float32)
    y = np.arange(n) % 2
    X[y == 1, 0] += 0.5
    return np.clip(X, 0, 1), y


@pytest.mark.parametrize("name", TORCHVISION_BACKBONES)
def test_imagenet_weights_load_from_the_torch_cache(name: str, torch_home: Path) -> None:
    assert not weights_available(name)
    state = _place_imagenet_file(name)
    assert weights_available(name)
    backbone = Backbone(name, "imagenet", input_size=SMALL)
    assert backbone.skipped_weights == []
    own = backbone.body.state_dict()
    key = next(k for k in own if k.endswith("weight") and own[k].ndim > 1)
    assert torch.equal(own[key], state[key])  # the file's weights, not a fresh init
    assert backbone(torch.rand(2, 1, 20, 30)).shape == (2, backbone.embedding_dim)


def test_missing_weights_say_where_to_put_them(
    torch_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch.hub

    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("no route to host")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(WeightsUnavailableError) as caught:
        Backbone("resnet18", "imagenet")
    assert str(imagenet_weights_file("resnet18")) in str(caught.value)
    assert "TORCH_HOME" in str(caught.value)


@pytest.mark.parametrize("name", ["resnet18", "efficientnet_b0"])
def test_finetune_trains_saves_and_loads(name: str, torch_home: Path, tmp_path: Path) -> None:
    _place_imagenet_file(name)
    X, y = _images(8)
    learner = make_learner(
        name, n_classes=2, input_shape=(3, 24, 24), weights="imagenet", backbone_size=SMALL
    )
    learner.epochs, learner.min_steps, learner.batch_size = 1, 1, 4  # type: ignore[attr-defined]
    built = learner._build(2, (3, 24, 24), weights="imagenet")  # type: ignore[attr-defined]
    before = {k: v.clone() for k, v in built.state_dict().items()}
    learner.fit(X, y)
    after = learner.network_.state_dict()  # type: ignore[attr-defined]
    assert any(not torch.equal(before[k], after[k]) for k in before if k in after)  # a step ran
    probs = learner.predict_proba(X)
    path = tmp_path / "model.pt"
    learner.save(path)
    fresh = make_learner(
        name, n_classes=2, input_shape=(3, 24, 24), weights="imagenet", backbone_size=SMALL
    )
    np.testing.assert_allclose(fresh.load(path).predict_proba(X), probs, atol=1e-6)


@pytest.mark.parametrize("name", TORCHVISION_BACKBONES)
def test_every_backbone_embeds_and_fits_a_head(name: str, tmp_path: Path) -> None:
    X, y = _images(12, channels=1)
    learner = EmbeddingClassifier(
        name, 2, (1, 24, 24), weights="none", input_size=SMALL, cache_root=tmp_path
    )
    learner.fit(X, y)
    assert learner.predict_proba(X).shape == (12, 2)
    assert learner.predict_samples(X, 5).shape[1:] == (12, 2)
    path = tmp_path / "head.pkl"
    learner.save(path)
    again = EmbeddingClassifier(
        name, 2, (1, 24, 24), weights="none", input_size=SMALL, cache_root=tmp_path
    ).load(path)
    np.testing.assert_allclose(again.predict_proba(X), learner.predict_proba(X))


def test_embeddings_are_computed_once_and_cached_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = _images(10)
    first = EmbeddingClassifier(
        "resnet18", 2, (3, 24, 24), weights="none", input_size=SMALL, cache_root=tmp_path
    )
    z = first.embed(X)
    assert len(list(tmp_path.rglob("vectors-*.npy"))) == 1
    # A new process (a later round) reads them from disk: the backbone never runs.
    second = EmbeddingClassifier(
        "resnet18", 2, (3, 24, 24), weights="none", input_size=SMALL, cache_root=tmp_path
    )

    def no_backbone() -> None:
        raise AssertionError("the backbone ran for cached images")

    monkeypatch.setattr(second, "_backbone", no_backbone)
    np.testing.assert_array_equal(second.embed(X), z)
    second.fit(X, y)
    # New images are computed and added; another input size is another cache.
    monkeypatch.undo()
    mixed = np.concatenate([X[:3], _images(4, side=24)[0] * 0.5])
    third = EmbeddingClassifier(
        "resnet18", 2, (3, 24, 24), weights="none", input_size=SMALL, cache_root=tmp_path
    )
    np.testing.assert_array_equal(third.embed(mixed)[:3], z[:3])
    assert len(third.cache) == 14


def test_a_damaged_shard_is_recomputed_not_trusted(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    keys = [EmbeddingCache.key(np.full((1, 2, 2), i, np.float32)) for i in range(3)]
    cache.put(keys, np.ones((3, 4), np.float32))
    vectors = next(tmp_path.glob("vectors-*.npy"))
    vectors.write_bytes(b"garbage")
    missing, found = EmbeddingCache(tmp_path).get(keys)
    assert missing == [0, 1, 2] and found is None


def test_keys_ending_in_zero_bytes_survive_the_disk(tmp_path: Path) -> None:
    keys = [b"\x01" * 15 + b"\x00", b"\x00" * 16, b"\x02" * 16]
    EmbeddingCache(tmp_path).put(keys, np.arange(12, dtype=np.float32).reshape(3, 4))
    missing, found = EmbeddingCache(tmp_path).get(keys)
    assert missing == []
    assert found is not None
    np.testing.assert_array_equal(found, np.arange(12, dtype=np.float32).reshape(3, 4))


def test_written_shards_are_served_from_disk_not_ram(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    keys = [EmbeddingCache.key(np.full((1, 2, 2), i, np.float32)) for i in range(3)]
    cache.put(keys, np.ones((3, 4), np.float32))
    assert all(isinstance(shard, np.memmap) for shard in cache._shards)
    assert EmbeddingCache(None).folder is None  # without a folder the vectors stay in RAM
