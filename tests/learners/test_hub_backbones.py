"""timm and open_clip backbones: each builds, trains a step, saves and loads on the CPU, and
the libraries' real Hugging Face loading path reads locally made weights from a temporary
HF_HOME, offline."""

from __future__ import annotations

import importlib.util
import pickle
from collections.abc import Iterator
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import pytest
import torch
from numpy.typing import NDArray
from pydantic import ValidationError
from safetensors.torch import save_file

from labelloop.config import ProjectConfig
from labelloop.learners import TorchClassifier, make_learner
from labelloop.learners.backbones import Backbone, is_torchvision_backbone
from labelloop.learners.embedding import EmbeddingClassifier
from labelloop.learners.errors import InvalidParameterError, WeightsUnavailableError
from labelloop.learners.hub_backbones import (
    BackboneName,
    MissingExtraError,
    hub_cache_dir,
    split_hub_name,
)

SMALL = 32  # the side timm backbones see in these tests: fast on a CPU
TIMM_MODEL = "mobilenetv3_small_100"  # 2.5 M weights; default tag lamb_in1k
TIMM_REPO = "timm/mobilenetv3_small_100.lamb_in1k"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hf_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty Hugging Face home, offline: weights come from its cache or nowhere."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # huggingface_hub read the variable when first imported; the process may predate it.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    yield tmp_path / "hf"


def _place_hub_file(repo: str, filename: str, state: dict[str, torch.Tensor]) -> Path:
    """``state`` saved as the hub cache keeps a downloaded file: a snapshot and refs/main."""
    folder = hub_cache_dir() / f"models--{repo.replace('/', '--')}"
    path = folder / "snapshots" / COMMIT / filename
    path.parent.mkdir(parents=True)
    save_file({key: value.contiguous() for key, value in state.items()}, str(path))
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text(COMMIT)
    return path


def _images(
    n: int, channels: int = 3, side: int = 24
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    rng = np.random.default_rng(0)
    X = rng.random((n, channels, side, side), dtype=np.float32)
    y = np.arange(n) % 2
    X[y == 1, 0] += 0.5
    return np.clip(X, 0, 1), y


def _first_weight(state: dict[str, torch.Tensor]) -> str:
    return next(k for k, v in state.items() if k.endswith("weight") and v.ndim > 1)


def test_timm_weights_load_from_the_hub_cache(hf_home: Path) -> None:
    import timm

    torch.manual_seed(1)
    state = timm.create_model(TIMM_MODEL).state_dict()  # with its ImageNet classifier
    _place_hub_file(TIMM_REPO, "model.safetensors", state)
    key = _first_weight(state)
    # The model's default weights, its tag as the weights, and the tagged model name.
    for name, weights in (
        (f"timm:{TIMM_MODEL}", "imagenet"),
        (f"timm:{TIMM_MODEL}", "lamb_in1k"),
        (f"timm:{TIMM_MODEL}.lamb_in1k", "imagenet"),
    ):
        backbone = Backbone(name, weights, input_size=SMALL)
        assert torch.equal(backbone.body.state_dict()[key], state[key])  # the file's weights
        assert backbone(torch.rand(2, 1, 20, 30)).shape == (2, backbone.embedding_dim)
    assert backbone.mean.flatten().tolist() == pytest.approx([0.485, 0.456, 0.406])


def test_missing_timm_weights_say_which_file_to_put_where(hf_home: Path) -> None:
    with pytest.raises(WeightsUnavailableError) as caught:
        Backbone(f"timm:{TIMM_MODEL}", "imagenet", input_size=SMALL)
    message = str(caught.value)
    assert str(hf_home / "hub" / "models--timm--mobilenetv3_small_100.lamb_in1k") in message
    assert "model.safetensors" in message and "refs/main" in message
    assert caught.value.__suppress_context__  # the library's traceback is not shown


def test_missing_open_clip_weights_say_which_file_to_put_where(hf_home: Path) -> None:
    with pytest.raises(WeightsUnavailableError) as caught:
        Backbone("open_clip:RN50", "openai")
    message = str(caught.value)
    assert str(hf_home / "hub" / "models--timm--resnet50_clip.openai") in message
    assert "open_clip_model.safetensors" in message


@pytest.mark.slow
def test_open_clip_weights_load_from_the_hub_cache(hf_home: Path) -> None:
    import open_clip

    torch.manual_seed(2)
    state = open_clip.create_model("RN50", force_quick_gelu=True).state_dict()
    _place_hub_file("timm/resnet50_clip.openai", "open_clip_model.safetensors", state)
    backbone = Backbone("open_clip:RN50", "imagenet")  # the first tag: openai
    own = backbone.body.state_dict()
    key = _first_weight(own)
    assert torch.equal(own[key], state[f"visual.{key}"])
    assert backbone.input_size == 224  # its attention pool fixes it; a plain ViT takes any:
    assert Backbone("open_clip:ViT-B-32", "none", input_size=SMALL).input_size == SMALL
    assert backbone(torch.rand(1, 3, 40, 40)).shape == (1, 1024)


def test_a_file_of_the_backbone_loads_into_it(tmp_path: Path) -> None:
    torch.manual_seed(3)
    source = Backbone(f"timm:{TIMM_MODEL}", "none", input_size=SMALL)
    path = tmp_path / "pretrained.pt"
    torch.save(source.body.state_dict(), path)
    loaded = Backbone(f"timm:{TIMM_MODEL}", str(path), input_size=SMALL)
    assert loaded.skipped_weights == []
    key = _first_weight(source.body.state_dict())
    assert torch.equal(loaded.body.state_dict()[key], source.body.state_dict()[key])


def test_timm_finetunes_saves_and_loads(tmp_path: Path) -> None:
    X, y = _images(8)
    learner = make_learner(
        "timm", n_classes=2, input_shape=(3, 24, 24), model=TIMM_MODEL, backbone_size=SMALL
    )
    assert isinstance(learner, TorchClassifier)
    assert learner.network == f"timm:{TIMM_MODEL}"
    learner.set_params(epochs=1, min_steps=1, batch_size=4, min_epoch_samples=8)
    built = learner._build(2, (3, 24, 24), weights="none")
    before = {k: v.clone() for k, v in built.state_dict().items()}
    learner.fit(X, y)
    after = learner.network_.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if k in after)  # a step ran
    probs = learner.predict_proba(X)
    path = tmp_path / "model.pt"
    learner.save(path)
    fresh = make_learner(
        "timm", n_classes=2, input_shape=(3, 24, 24), model=TIMM_MODEL, backbone_size=SMALL
    )
    np.testing.assert_allclose(fresh.load(path).predict_proba(X), probs, atol=1e-6)


@pytest.mark.slow  # ViT-B-32's 88 M weights take a few optimiser steps slowly on a CPU
def test_open_clip_finetunes_saves_and_loads(tmp_path: Path) -> None:
    X, y = _images(4)
    learner = make_learner("open_clip", n_classes=2, input_shape=(3, 24, 24), backbone_size=SMALL)
    assert isinstance(learner, TorchClassifier)
    assert learner.get_params()["network"] == "open_clip"  # its default model, ViT-B-32
    learner.set_params(epochs=1, min_steps=1, batch_size=4, min_epoch_samples=4)
    learner.fit(X, y)
    probs = learner.predict_proba(X)
    path = tmp_path / "model.pt"
    learner.save(path)
    fresh = make_learner("open_clip", n_classes=2, input_shape=(3, 24, 24), backbone_size=SMALL)
    np.testing.assert_allclose(fresh.load(path).predict_proba(X), probs, atol=1e-5)


@pytest.mark.parametrize(
    ("learner", "model", "width"),
    [("timm", TIMM_MODEL, 1024), ("open_clip", "ViT-B-32", 512)],
)
def test_embed_mode_caches_features_of_the_models_width(
    learner: str, model: str, width: int, tmp_path: Path
) -> None:
    X, y = _images(6, channels=1)
    built = make_learner(
        learner,
        n_classes=2,
        input_shape=(1, 24, 24),
        model=model,
        mode="embed",
        backbone_size=SMALL,
        cache_root=tmp_path,
    )
    assert isinstance(built, EmbeddingClassifier)
    assert built.embed(X).shape == (6, width)
    assert len(list(tmp_path.rglob("vectors-*.npy"))) == 1
    built.fit(X, y)
    assert built.predict_proba(X).shape == (6, 2)
    # Shipped pickled (Ray): the backbone is rebuilt where it arrives, the cache read again.
    again = pickle.loads(pickle.dumps(built))
    np.testing.assert_allclose(again.predict_proba(X), built.predict_proba(X))


def test_a_missing_library_names_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    find_spec = importlib.util.find_spec

    def without_timm(name: str, package: str | None = None) -> object:
        return None if name == "timm" else find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", without_timm)
    with pytest.raises(MissingExtraError, match=r"pip install 'labelloop\[timm\]'") as caught:
        make_learner("timm", n_classes=2, input_shape=(3, 24, 24))
    assert isinstance(caught.value, ImportError)


def test_unknown_models_and_tags_name_close_ones() -> None:
    with pytest.raises(InvalidParameterError, match="mobilenetv3_small_100"):
        make_learner("timm", n_classes=2, input_shape=(3, 8, 8), model="mobilenetv3_smal_100")
    with pytest.raises(InvalidParameterError, match="RN50"):
        make_learner("open_clip", n_classes=2, input_shape=(3, 8, 8), model="RN5O")
    with pytest.raises(InvalidParameterError, match="openai"):
        Backbone("open_clip:RN50", "openaj")
    with pytest.raises(InvalidParameterError, match="lamb_in1k"):
        Backbone(f"timm:{TIMM_MODEL}", "lamb_in1j")


def test_hub_names_are_backbones_and_pass_the_parameter_checks() -> None:
    assert split_hub_name("timm") == ("timm", "resnet18.a1_in1k")
    assert split_hub_name("open_clip:ViT-B-32") == ("open_clip", "ViT-B-32")
    for bad in ("timm:", "timm:a/b", "keras:resnet", "resnet18"):
        assert split_hub_name(bad) is None
    assert is_torchvision_backbone("timm:convnext_atto", "none")  # adapts images itself
    names = BackboneName(("cnn",))
    assert names.accepts("cnn") and names.accepts("open_clip:RN50")
    assert not names.accepts("timm:../x")
    learner = TorchClassifier("timm:../x", 2, (3, 8, 8))  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="timm:<model> or open_clip:<architecture>"):
        learner.check_params()


def test_settings_name_the_model_of_timm_and_open_clip_only() -> None:
    base = {"name": "p", "classes": ["a", "b"]}
    config = ProjectConfig.model_validate(
        {**base, "learner": "timm", "backbone": {"model": "convnext_tiny", "mode": "embed"}}
    )
    assert config.backbone.model == "convnext_tiny"
    assert ProjectConfig.model_validate({**base, "learner": "open_clip"}).backbone.model is None
    with pytest.raises(ValidationError, match=r"backbone\.model"):
        ProjectConfig.model_validate({**base, "learner": "resnet50", "backbone": {"model": "x"}})
    with pytest.raises(ValidationError, match="model"):
        ProjectConfig.model_validate({**base, "learner": "timm", "backbone": {"model": "a/b"}})


def test_a_project_builds_the_model_its_settings_name(tmp_path: Path) -> None:
    from labelloop.loop import Workspace
    from labelloop.loop.models import project_learner

    config = ProjectConfig.model_validate(
        {
            "name": "p",
            "classes": ["a", "b"],
            "learner": "timm",
            "backbone": {"model": TIMM_MODEL, "mode": "embed"},
        }
    )
    with Workspace.init(tmp_path / "p", config) as ws:
        learner = project_learner(ws, (3, 24, 24))
    assert isinstance(learner, EmbeddingClassifier)
    assert learner.backbone == f"timm:{TIMM_MODEL}"
