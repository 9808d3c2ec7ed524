"""The network of a :class:`~labelloop.learners.torch_classifier.TorchClassifier`.

A network name means one of two kinds of torch module. The project's own
networks (:mod:`labelloop.learners.networks`: ``"cnn"``, and ``"resnet18"``
without backbone weights) are built for the images' own shape. A torchvision
backbone (:mod:`labelloop.learners.backbones`) gets a new head and adapts the
images to its ``backbone_size`` input itself (grayscale to RGB, resize,
ImageNet normalisation). :class:`ClassifierNetwork` makes that choice once:
it builds the module, with the weights a fresh fit starts from, and writes and
restores its checkpoint, which records the architecture so that saved weights
load only into the same network. The classifier's probabilities, of one
pass or of Monte Carlo dropout passes, are here too; the plain batched passes
(logits, features) are :mod:`~labelloop.learners.training`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from labelloop.learners._checkpoint import Checkpoint, weights_of
from labelloop.learners._validation import ImageShape
from labelloop.learners.backbones import BACKBONE_NAMES, BackboneClassifier, is_torchvision_backbone
from labelloop.learners.mc_dropout import mc_dropout_logits
from labelloop.learners.networks import (
    NETWORK_NAMES,
    FeatureClassifier,
    NetworkName,
    build_network,
    load_matching_weights,
    read_state_dict,
)
from labelloop.learners.training import batched_logits

__all__ = [
    "CLASSIFIER_CHECKPOINT",
    "CLASSIFIER_NETWORK_NAMES",
    "ClassifierNetwork",
    "batched_probabilities",
    "batched_samples",
    "probabilities",
    "weights_copy",
]

CLASSIFIER_NETWORK_NAMES: tuple[str, ...] = tuple(sorted({*NETWORK_NAMES, *BACKBONE_NAMES}))
"""Every name a classifier's ``network`` may take: the project's own networks
and the torchvision backbones, sorted."""

CLASSIFIER_CHECKPOINT = Checkpoint("TorchClassifier", version=2)
"""The classifier's file format. Version 2 adds the temperature; version 1
files load with temperature 1."""


@dataclass(frozen=True)
class ClassifierNetwork:
    """Which network a classifier builds, and what its checkpoint records.

    Attributes:
        name: One of :data:`CLASSIFIER_NETWORK_NAMES`.
        n_classes: Number of output logits.
        input_shape: ``(channels, height, width)`` of the images.
        dropout: Dropout probability before the head.
        backbone_weights: The weights a torchvision backbone starts from
            (``"none"``, ``"imagenet"`` or a file); with ``"none"``,
            ``"resnet18"`` is the project's own small-image ResNet-18.
        backbone_size: The input size a torchvision backbone resizes images to.
    """

    name: NetworkName
    n_classes: int
    input_shape: ImageShape
    dropout: float
    backbone_weights: str
    backbone_size: int

    @property
    def pretrained_backbone(self) -> bool:
        """Whether the network is a torchvision backbone with a new head."""
        return is_torchvision_backbone(self.name, self.backbone_weights)

    def architecture(self) -> dict[str, Any]:
        """What a checkpoint records, and a load must match, of this network."""
        config: dict[str, Any] = {
            "network": self.name,
            "n_classes": int(self.n_classes),
            "input_shape": [int(v) for v in self.input_shape],
        }
        if self.pretrained_backbone:
            config["backbone_size"] = int(self.backbone_size)
        return config

    def build(self, weights: str | None = None) -> FeatureClassifier:
        """The network, randomly initialised; initialisation draws from torch's global generator.

        Args:
            weights: What a torchvision backbone starts from; None for
                ``backbone_weights``. The project's own networks ignore it.
        """
        if self.pretrained_backbone:
            return BackboneClassifier(
                self.name,
                self.n_classes,
                weights=self.backbone_weights if weights is None else weights,
                input_size=int(self.backbone_size),
                dropout=float(self.dropout),
            )
        return build_network(self.name, self.n_classes, self.input_shape, float(self.dropout))

    def initialise(self, weights_path: Path | None) -> tuple[FeatureClassifier, list[str]]:
        """A fresh network for a fit: built, then given the weights of ``weights_path`` that fit.

        Args:
            weights_path: A state-dict file, or None.

        Returns:
            The network and the names in ``weights_path`` that did not fit it
            (empty without a file).
        """
        network = self.build()
        skipped: list[str] = []
        if weights_path is not None:
            skipped = load_matching_weights(network, read_state_dict(Path(weights_path)))
        return network, skipped

    def state(self, network: FeatureClassifier, temperature: float) -> dict[str, Any]:
        """The fitted ``network`` and ``temperature`` as tensors and plain values."""
        return CLASSIFIER_CHECKPOINT.state(
            config=self.architecture(),
            state_dict=weights_of(network),
            temperature=float(temperature),
        )

    def restore(
        self, state: dict[str, Any], path: Path, *, device: torch.device, seed: int
    ) -> tuple[FeatureClassifier, float]:
        """The network (in eval mode on ``device``) and temperature :meth:`state` recorded.

        The bare network is built seeded with ``seed``
        (:meth:`~labelloop.learners._checkpoint.Checkpoint.restore_on`);
        ``path`` is named in errors.

        Raises:
            WeightsMismatchError: If it was saved for another network,
                ``n_classes`` or ``input_shape``.
        """
        network = CLASSIFIER_CHECKPOINT.restore_on(
            state,
            path,
            expected=self.architecture(),
            # The saved weights replace any pretrained ones: build without loading them.
            build=lambda: self.build("none"),
            device=device,
            seed=seed,
        )
        return network, float(state.get("temperature", 1.0))


def weights_copy(network: FeatureClassifier) -> dict[str, Tensor]:
    """A copy of the network's parameters and buffers on the CPU, to train from again later."""
    return {k: v.detach().cpu().clone() for k, v in network.state_dict().items()}


def probabilities(logits: Tensor, temperature: float) -> Tensor:
    """Softmax over the last axis of ``logits / temperature``, in float64."""
    return torch.softmax(logits.double() / temperature, dim=-1)


def batched_probabilities(
    network: FeatureClassifier,
    images: NDArray[np.float32],
    temperature: float,
    *,
    batch_size: int,
    device: torch.device,
) -> NDArray[np.float64]:
    """Class probabilities of ``images (n, C, H, W)`` at ``temperature``: ``(n, n_classes)``."""
    logits = batched_logits(network, images, batch_size=batch_size, device=device)
    return probabilities(torch.from_numpy(logits), temperature).numpy()


def batched_samples(
    network: FeatureClassifier,
    images: NDArray[np.float32],
    n_samples: int,
    temperature: float,
    *,
    batch_size: int,
    device: torch.device,
    seed: int,
) -> NDArray[np.float64]:
    """Monte Carlo dropout probabilities at ``temperature``: ``(n_samples, n, n_classes)``.

    The passes and their seeded masks are :func:`~labelloop.learners.mc_dropout.mc_dropout_logits`'.
    """
    logits = mc_dropout_logits(
        network, images, n_samples, batch_size=batch_size, device=device, seed=seed
    )
    return probabilities(torch.from_numpy(logits), temperature).numpy()
