"""Backbones from the timm and open_clip libraries, installed as extras.

``pip install 'labelloop[timm]'`` (or ``'labelloop[open_clip]'``) makes the
learners ``timm`` and ``open_clip`` work. The project's ``backbone.model``
picks the network: a timm model name (``convnext_tiny``,
``resnet50.a1_in1k``) or an open_clip architecture (``ViT-B-32``, ``RN50``);
without it they use :data:`DEFAULT_MODELS`. Inside labelloop such a backbone
is named ``"timm:<model>"`` or ``"open_clip:<architecture>"`` (plain
``"timm"`` and ``"open_clip"`` name the defaults): the name that learners,
their checkpoints and the embedding caches record.

``weights`` is ``"none"`` (random initialisation), ``"imagenet"`` (the
model's default pretrained weights: timm's default tag of the model, the
first tag open_clip lists for the architecture), a pretrained tag (timm's
``a1_in1k`` makes ``resnet18`` ``resnet18.a1_in1k``; open_clip's
``openai``, ``laion2b_s34b_b79k``, ...) or the path of a state-dict file of
the backbone. Pretrained weights come from the Hugging Face hub the way the
libraries fetch them: downloaded into ``$HF_HOME/hub`` (``HF_HUB_CACHE``
overrides it) and read from there afterwards, also offline
(``HF_HUB_OFFLINE=1``).

labelloop uses the image tower: timm's model without its classifier (the
pooled feature vector), open_clip's visual tower (the image embedding).
Images are prepared as for the torchvision backbones, normalised with the
mean and standard deviation of the model's own pretrained configuration.
They are resized to the backbone's ``input_size`` where the architecture
allows it (timm's convolutional networks; open_clip's plain ViTs, whose
position embeddings open_clip interpolates) and to the architecture's own
size where it does not (timm's ViTs, CLIP's ResNets with attention pooling).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from labelloop.learners.errors import InvalidParameterError, LearnerError, WeightsUnavailableError
from labelloop.plugins import Choice

if TYPE_CHECKING:
    from torch import nn

    from labelloop.learners.base import Learner
    from labelloop.learners.factory import LearnerSpec

__all__ = [
    "DEFAULT_MODELS",
    "BackboneName",
    "HubModel",
    "MissingExtraError",
    "build_hub_model",
    "check_hub_model",
    "hub_backbone_name",
    "hub_cache_dir",
    "is_hub_backbone",
    "open_clip_learner",
    "split_hub_name",
    "timm_learner",
]

DEFAULT_MODELS: dict[str, str] = {"open_clip": "ViT-B-32", "timm": "resnet18.a1_in1k"}
"""Library (also its learner's and extra's name) -> the model used without ``backbone.model``."""

_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors")


class MissingExtraError(LearnerError, ImportError):
    """A backbone's library is not installed; the message names the extra to install."""


def hub_backbone_name(library: str, model: str | None) -> str:
    """The backbone name of ``model`` from ``library`` (``library`` alone without a model)."""
    return library if model is None else f"{library}:{model}"


def split_hub_name(name: object) -> tuple[str, str] | None:
    """``(library, model)`` of a hub backbone name, the default model for a bare library;
    None for any other name."""
    if not isinstance(name, str):
        return None
    library, colon, model = name.partition(":")
    if library not in DEFAULT_MODELS:
        return None
    if not colon:
        return library, DEFAULT_MODELS[library]
    return (library, model) if _MODEL.fullmatch(model) else None


def is_hub_backbone(name: object) -> bool:
    """Whether ``name`` is a timm or open_clip backbone name."""
    return split_hub_name(name) is not None


@dataclass(frozen=True)
class BackboneName(Choice):
    """One of ``choices``, or a hub backbone name (``timm:<model>``, ``open_clip:<arch>``)."""

    def accepts(self, value: object) -> bool:
        return super().accepts(value) or is_hub_backbone(value)

    def describe(self) -> str:
        return f"{super().describe()}, or timm:<model> or open_clip:<architecture>"


@dataclass
class HubModel:
    """A hub backbone's image tower and what preparing its input needs.

    Attributes:
        body: Maps images ``(n, 3, side, side)`` to features ``(n, embedding_dim)``.
        embedding_dim: Length of the feature vector.
        mean: Per-channel mean the weights were trained with.
        std: Per-channel standard deviation the weights were trained with.
        input_size: The side the architecture requires; None when any side works.
        skipped_weights: Names in a weights file that did not fit.
    """

    body: nn.Module
    embedding_dim: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    input_size: int | None
    skipped_weights: list[str]


def hub_cache_dir() -> Path:
    """Where the Hugging Face hub cache is now: ``$HF_HUB_CACHE``, else ``$HF_HOME/hub``.

    Read at each call (``huggingface_hub`` reads it once, when first imported).
    """
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface"
    )
    return Path(home).expanduser() / "hub"


def _library(library: str) -> ModuleType:
    """The library's module, imported.

    Raises:
        MissingExtraError: If it is not installed.
    """
    if importlib.util.find_spec(library) is None:
        raise MissingExtraError(
            f"the {library} backbones need the {library} package: "
            f"pip install 'labelloop[{library}]'"
        )
    return importlib.import_module(library)


def _unknown(what: str, value: str, known: list[str]) -> InvalidParameterError:
    close = difflib.get_close_matches(value, known, n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return InvalidParameterError(f"unknown {what} {value!r}{hint}")


def check_hub_model(library: str, model: str) -> None:
    """Check that ``library`` is installed and knows ``model``.

    Raises:
        MissingExtraError: If the library is not installed.
        InvalidParameterError: If it has no such model, naming close ones.
    """
    module = _library(library)
    if library == "timm":
        if not module.is_model(model):
            raise _unknown("timm model", model, module.list_models())
    elif model not in module.list_models():
        raise _unknown("open_clip architecture", model, module.list_models())


def _is_path(weights: str) -> bool:
    return (
        os.sep in weights
        or "/" in weights
        or weights.endswith(_WEIGHT_SUFFIXES)
        or Path(weights).is_file()
    )


def _unavailable(repo: str, files: tuple[str, ...], error: Exception) -> WeightsUnavailableError:
    folder = hub_cache_dir() / f"models--{repo.replace('/', '--')}"
    return WeightsUnavailableError(
        f"the pretrained weights {repo} are not in the Hugging Face cache and could not be "
        f"downloaded ({type(error).__name__}); on a machine with internet they are fetched "
        f"automatically. Offline, put {' or '.join(files)} at "
        f"{folder}/snapshots/<commit>/ with refs/main holding that commit (as "
        f"`hf download {repo} {files[0]}` leaves them; set HF_HOME to use another cache), "
        "or set weights to a file path."
    )


def _load_file(body: nn.Module, path: str, prefix: str = "") -> list[str]:
    from labelloop.learners.networks import load_matching_weights, read_state_dict

    state = read_state_dict(Path(path))
    state = {key.removeprefix(prefix): value for key, value in state.items()}
    return load_matching_weights(body, state)


def _timm_model(model: str, weights: str) -> HubModel:
    timm = _library("timm")
    check_hub_model("timm", model)
    pretrained = weights != "none" and not _is_path(weights)
    name = model
    if pretrained and weights != "imagenet":
        name = f"{model.partition('.')[0]}.{weights}"
        if name not in timm.list_pretrained(f"{model.partition('.')[0]}.*"):
            raise _unknown("timm pretrained tag", name, timm.list_pretrained())
    try:
        body = timm.create_model(
            name, pretrained=pretrained, num_classes=0, cache_dir=hub_cache_dir()
        )
    except (OSError, RuntimeError) as exc:
        if not pretrained:
            raise  # not a download: a problem of the model itself
        source = timm.models.get_pretrained_cfg(name)
        repo = getattr(source, "hf_hub_id", None) or name
        file = getattr(source, "hf_hub_filename", None)
        files = (file,) if file else ("model.safetensors", "pytorch_model.bin")
        raise _unavailable(repo, files, exc) from None
    skipped = _load_file(body, weights) if weights != "none" and not pretrained else []
    config: dict[str, Any] = body.pretrained_cfg
    return HubModel(
        body=body,
        # The pooled vector a model without classifier returns (some add a layer after pooling).
        embedding_dim=int(getattr(body, "head_hidden_size", None) or body.num_features),
        mean=tuple(config["mean"]),
        std=tuple(config["std"]),
        input_size=int(config["input_size"][-1]) if config.get("fixed_input_size") else None,
        skipped_weights=skipped,
    )


def _open_clip_model(model: str, weights: str, input_size: int) -> HubModel:
    open_clip = _library("open_clip")
    check_hub_model("open_clip", model)
    tags = list(open_clip.list_pretrained_tags_by_model(model))
    tag: str | None = None
    if weights == "imagenet":
        if not tags:
            raise InvalidParameterError(
                f"open_clip has no pretrained weights for {model}; set weights to none or a file"
            )
        tag = tags[0]
    elif weights != "none" and not _is_path(weights):
        if weights not in tags:
            raise _unknown(f"open_clip pretrained tag for {model}", weights, tags)
        tag = weights
    config: dict[str, Any] = open_clip.get_pretrained_cfg(model, tag) if tag else {}
    vision = open_clip.get_model_config(model)["vision_cfg"]
    # A plain ViT (an int of layers, not a timm tower) takes any size: open_clip
    # interpolates its position embeddings to it.
    plain_vit = isinstance(vision.get("layers"), int) and not vision.get("timm_model_name")
    try:
        clip = open_clip.create_model(
            model,
            pretrained=tag,
            # The activation the weights were trained with (OpenAI's used QuickGELU).
            force_quick_gelu=bool(config.get("quick_gelu", False)),
            force_image_size=input_size if plain_vit else None,
            cache_dir=str(hub_cache_dir()),
        )
    except (OSError, RuntimeError) as exc:
        if tag is None:
            raise  # not a download: a problem of the model itself
        repo, file = os.path.split(str(config.get("hf_hub", "")))
        files = (file,) if file else ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
        raise _unavailable(repo or model, files, exc) from None
    visual = clip.visual
    skipped = _load_file(visual, weights, "visual.") if weights != "none" and tag is None else []
    size = visual.image_size
    return HubModel(
        body=visual,
        embedding_dim=int(visual.output_dim),
        mean=tuple(visual.preprocess_cfg["mean"]),
        std=tuple(visual.preprocess_cfg["std"]),
        input_size=int(size if isinstance(size, int) else size[-1]),
        skipped_weights=skipped,
    )


def build_hub_model(name: str, weights: str, input_size: int) -> HubModel:
    """The image tower of a hub backbone ``name`` with ``weights`` (module docstring), for
    images of side ``input_size`` where the architecture allows another than its own.

    Raises:
        InvalidParameterError: If ``name`` is no hub backbone, or the library
            knows no such model or pretrained tag.
        MissingExtraError: If the library is not installed.
        WeightsUnavailableError: If pretrained weights are neither in the hub
            cache nor downloadable; the message says which file to put where.
    """
    found = split_hub_name(name)
    if found is None:
        raise InvalidParameterError(
            f"unknown hub backbone {name!r}; use timm:<model> or open_clip:<architecture>"
        )
    library, model = found
    if library == "timm":
        return _timm_model(model, weights)
    return _open_clip_model(model, weights, input_size)


def _hub_learner(library: str, spec: LearnerSpec) -> Learner:
    from labelloop.learners.factory import backbone

    check_hub_model(library, spec.model or DEFAULT_MODELS[library])
    return backbone(replace(spec, name=hub_backbone_name(library, spec.model)))


def timm_learner(spec: LearnerSpec) -> Learner:
    """A timm backbone (``spec.model``), fine-tuned or frozen under a head, as the
    torchvision backbones are (:func:`~labelloop.learners.factory.backbone`)."""
    return _hub_learner("timm", spec)


def open_clip_learner(spec: LearnerSpec) -> Learner:
    """An open_clip image tower (``spec.model``), fine-tuned or frozen under a head, as the
    torchvision backbones are (:func:`~labelloop.learners.factory.backbone`)."""
    return _hub_learner("open_clip", spec)
