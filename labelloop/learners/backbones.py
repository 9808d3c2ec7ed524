"""Pretrained backbones: built by name, weights from the torch cache, the hub cache or a file.

The torchvision architectures are :data:`TORCHVISION_BACKBONES`; the timm
and open_clip ones (``"timm:<model>"``, ``"open_clip:<architecture>"``,
optional extras) are :mod:`~labelloop.learners.hub_backbones`'. What follows
holds for all of them, except where weights come from: the hub backbones'
come from the Hugging Face hub cache, and are normalised with their own mean
and standard deviation.

``weights`` is ``"none"`` (random initialisation), ``"imagenet"`` (the
architecture's default ImageNet weights through torchvision's weights API:
downloaded into ``$TORCH_HOME/hub/checkpoints`` on a machine with internet,
read from there afterwards) or the path of a state-dict file (a checkpoint
of the same architecture, e.g. from ``labelloop pretrain``).

A backbone takes the project's images as they are (``[0, 1]``, one or three
channels, any size): grayscale is repeated to RGB, the image is resized to
the backbone's ``input_size`` (224 by default, what the ImageNet weights
were trained at; smaller is faster on a CPU) and normalised with the
ImageNet mean and standard deviation; the output is the globally pooled
feature vector before the classifier.
"""

from __future__ import annotations

import os
import urllib.error
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional

from labelloop.learners.errors import InvalidParameterError, WeightsUnavailableError
from labelloop.learners.hub_backbones import build_hub_model, is_hub_backbone
from labelloop.learners.networks import FeatureClassifier, load_matching_weights, read_state_dict
from labelloop.learners.registry import BACKBONE_LEARNER_NAMES

__all__ = [
    "BACKBONE_NAMES",
    "TORCHVISION_BACKBONES",
    "Backbone",
    "BackboneClassifier",
    "build_backbone",
    "imagenet_weights_file",
    "is_torchvision_backbone",
    "weights_available",
]

BACKBONE_NAMES: tuple[str, ...] = BACKBONE_LEARNER_NAMES
"""The backbones a project may name as its learner: the learners registered with
``needs=("backbone",)``, sorted (``"timm"`` and ``"open_clip"`` are their default
models; ``"timm:<model>"`` and ``"open_clip:<architecture>"`` name others)."""

TORCHVISION_BACKBONES: tuple[str, ...] = tuple(
    name for name in BACKBONE_NAMES if not is_hub_backbone(name)
)
"""The torchvision architectures among them; each needs a branch in :func:`_strip_head`."""


def is_torchvision_backbone(network: str, weights: str) -> bool:
    """Whether a classifier ``network`` with backbone ``weights`` is a pretrained backbone
    (torchvision, timm or open_clip) that adapts the images to its input itself.

    ``"resnet18"`` without weights is the small-image ResNet-18 of
    :func:`~labelloop.learners.networks.build_network` instead: trained from
    scratch at the images' own size, where the torchvision one would resize
    them to its input size.
    """
    if is_hub_backbone(network):
        return True
    return network in BACKBONE_NAMES and (network != "resnet18" or weights != "none")


_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def _strip_head(name: str, model: Any) -> int:
    """Replace the classifier with identity; the feature length."""
    if name.startswith("resnet"):
        dim = int(model.fc.in_features)
        model.fc = nn.Identity()
    elif name.startswith("efficientnet"):
        dim = int(model.classifier[1].in_features)
        model.classifier = nn.Identity()
    elif name.startswith("convnext"):
        dim = int(model.classifier[2].in_features)
        model.classifier[2] = nn.Identity()
    elif name.startswith("vit"):
        dim = int(model.heads.head.in_features)
        model.heads = nn.Identity()
    else:  # pragma: no cover - TORCHVISION_BACKBONES is checked first
        raise InvalidParameterError(f"unknown backbone {name!r}")
    return dim


def imagenet_weights_file(name: str) -> Path:
    """Where torchvision looks for (and saves) the ImageNet weights of ``name``."""
    from torchvision.models import get_model_weights

    url = str(get_model_weights(name).DEFAULT.url)
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def weights_available(name: str) -> bool:
    """Whether the ImageNet weights of ``name`` are in the torch cache (no download needed)."""
    return name in TORCHVISION_BACKBONES and imagenet_weights_file(name).is_file()


def _state_dict(name: str, weights: str) -> dict[str, Tensor] | None:
    if weights == "none":
        return None
    if weights != "imagenet":
        return read_state_dict(Path(weights))
    from torchvision.models import get_model_weights

    spec = get_model_weights(name).DEFAULT
    try:
        state: dict[str, Tensor] = spec.get_state_dict(progress=False, weights_only=True)
    except (urllib.error.URLError, OSError, RuntimeError) as exc:
        where = imagenet_weights_file(name)
        raise WeightsUnavailableError(
            f"the ImageNet weights of {name} are not in the torch cache and could not be "
            f"downloaded ({exc}); on a machine with internet they are fetched "
            f"automatically. Offline, download {spec.url} and put it at {where} (set "
            "TORCH_HOME to use another cache folder), or set weights to a file path."
        ) from None
    return state


def _torchvision_body(name: str, weights: str) -> tuple[nn.Module, list[str]]:
    """The torchvision network with its classifier, and the weights' names that did not fit."""
    from torchvision.models import get_model

    body: nn.Module = get_model(name, weights=None)
    state = _state_dict(name, weights)
    # Loaded with the classifier in place, so an ImageNet file fits whole.
    skipped = [] if state is None else load_matching_weights(body, state)
    return body, skipped


class Backbone(nn.Module):
    """A pretrained network without its classifier, taking labelloop's images.

    Args:
        name: One of :data:`BACKBONE_NAMES`, or a hub backbone name.
        weights: ``"none"``, ``"imagenet"``, a pretrained tag (hub
            backbones) or a state-dict file (module docstring).
        input_size: Side the images are resized to (ViT-B/16 needs 224, as
            do other architectures with a fixed input size).

    Attributes:
        embedding_dim: Length of the feature vector.
        skipped_weights: Names in the weights that did not fit (none for ImageNet).
    """

    mean: Tensor
    std: Tensor

    def __init__(self, name: str, weights: str = "imagenet", input_size: int = 224) -> None:
        super().__init__()
        mean: tuple[float, ...] = _MEAN
        std: tuple[float, ...] = _STD
        if is_hub_backbone(name):
            hub = build_hub_model(name, weights, int(input_size))
            self.body, self.embedding_dim = hub.body, hub.embedding_dim
            self.skipped_weights, mean, std = hub.skipped_weights, hub.mean, hub.std
            input_size = hub.input_size or input_size
        elif name in TORCHVISION_BACKBONES:
            if name.startswith("vit"):
                input_size = 224  # its position embeddings fix the input size
            self.body, self.skipped_weights = _torchvision_body(name, weights)
            self.embedding_dim = _strip_head(name, self.body)
        else:
            raise InvalidParameterError(
                f"unknown backbone {name!r}; choose one of {', '.join(BACKBONE_NAMES)}, "
                "timm:<model> or open_clip:<architecture>"
            )
        self.name = name
        self.input_size = int(input_size)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        """Feature vectors, shape ``(n, embedding_dim)``, of images ``(n, 1 or 3, H, W)``."""
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = functional.interpolate(
                x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False
            )
        x = (x - self.mean) / self.std
        out: Tensor = self.body(x)
        return out.flatten(1)


class BackboneClassifier(FeatureClassifier):
    """A backbone with dropout and a linear head: what ``finetune`` trains end to end."""

    def __init__(
        self,
        name: str,
        n_classes: int,
        *,
        weights: str = "imagenet",
        input_size: int = 224,
        dropout: float = 0.25,
    ) -> None:
        backbone = Backbone(name, weights, input_size)
        super().__init__(backbone.embedding_dim, n_classes, dropout)
        self.body = backbone

    def features(self, x: Tensor) -> Tensor:
        """Map images to feature vectors, shape ``(n, embedding_dim)``."""
        out: Tensor = self.body(x)
        return out


def build_backbone(name: str, weights: str = "imagenet", input_size: int = 224) -> Backbone:
    """A :class:`Backbone` in eval mode, its parameters frozen (for embeddings)."""
    backbone = Backbone(name, weights, input_size).eval()
    for parameter in backbone.parameters():
        parameter.requires_grad_(False)
    return backbone


def describe(name: str, weights: str) -> dict[str, Any]:
    """What a backbone setting means, for status and logs."""
    return {
        "backbone": name,
        "weights": weights,
        "imagenet_file": (
            str(imagenet_weights_file(name))
            if weights == "imagenet" and name in TORCHVISION_BACKBONES
            else None
        ),
    }
