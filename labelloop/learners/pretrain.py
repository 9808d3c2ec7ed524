"""Self-supervised pretraining of a backbone on the project's own unlabeled images (SimCLR).

SimCLR: Chen, Kornblith, Norouzi and Hinton, "A Simple Framework for
Contrastive Learning of Visual Representations", ICML 2020. Each image is
augmented twice (random resized crop, horizontal flip, colour jitter,
random grayscale); a backbone and a small projection head map both views to
vectors, and the NT-Xent loss pulls the two views of an image together and
pushes them away from every other view in the batch (temperature 0.5 by
default, as the paper's small-batch runs used). The projection head is thrown
away afterwards: the backbone's pooled features are the representation.

Training saves a checkpoint (backbone, head, optimiser, epoch) after every
epoch, atomically, so a stopped run resumes at the next epoch. The result
is written as a plain state dict of the torchvision network, which
``backbone.weights: PATH`` loads for ``embed`` and ``finetune`` modes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn
from torch.nn import functional

from labelloop.learners._files import write_atomically
from labelloop.learners.backbones import Backbone
from labelloop.learners.errors import InvalidParameterError, ModelFileCorruptError
from labelloop.learners.training import resolve_device

__all__ = ["PretrainSettings", "augment_views", "nt_xent", "pretrain"]

_FORMAT = "labelloop.pretrain.SimCLR"

Batches = Callable[[int], Iterator[NDArray[np.float32]]]
"""Given an epoch number, yields that epoch's image batches ``(n, C, H, W)`` in [0, 1]."""


@dataclass(frozen=True)
class PretrainSettings:
    """What a pretraining run trains and how long."""

    backbone: str = "resnet18"
    input_size: int = 64
    epochs: int = 20
    lr: float = 1e-3
    weight_decay: float = 1e-5
    temperature: float = 0.5
    projection_dim: int = 128
    seed: int = 0

    def check(self) -> None:
        """Refuse settings out of range."""
        if self.epochs < 1 or self.input_size < 16 or self.temperature <= 0 or self.lr <= 0:
            raise InvalidParameterError(
                "pretraining needs epochs >= 1, input_size >= 16, temperature > 0 and lr > 0"
            )


def _crop(image: Tensor, size: int, generator: torch.Generator) -> Tensor:
    """A random resized crop: 20-100% of the area, aspect 3/4 to 4/3, resized to ``size``."""
    _, height, width = image.shape
    area = height * width
    for _ in range(10):
        target = area * float(torch.empty(1).uniform_(0.2, 1.0, generator=generator))
        log_ratio = torch.empty(1).uniform_(math.log(3 / 4), math.log(4 / 3), generator=generator)
        ratio = math.exp(float(log_ratio))
        w = round(math.sqrt(target * ratio))
        h = round(math.sqrt(target / ratio))
        if 0 < w <= width and 0 < h <= height:
            top = int(torch.randint(0, height - h + 1, (1,), generator=generator))
            left = int(torch.randint(0, width - w + 1, (1,), generator=generator))
            image = image[:, top : top + h, left : left + w]
            break
    resized = functional.interpolate(
        image[None], size=(size, size), mode="bilinear", align_corners=False
    )
    return resized[0]


def _jitter(image: Tensor, generator: torch.Generator) -> Tensor:
    """Brightness, contrast and saturation scaled by 0.6-1.4 each, with probability 0.8."""
    if float(torch.rand(1, generator=generator)) < 0.8:
        factors = torch.empty(3).uniform_(0.6, 1.4, generator=generator)
        image = image * factors[0]
        mean = image.mean()
        image = (image - mean) * factors[1] + mean
        gray = image.mean(dim=0, keepdim=True)
        image = (image - gray) * factors[2] + gray
    if float(torch.rand(1, generator=generator)) < 0.2:
        image = image.mean(dim=0, keepdim=True).expand_as(image)
    return image.clamp(0.0, 1.0)


def augment_views(batch: Tensor, size: int, generator: torch.Generator) -> Tensor:
    """One SimCLR view of each image: ``(n, 3, size, size)`` from ``(n, 1 or 3, H, W)``."""
    views = []
    for image in batch:
        if image.shape[0] == 1:
            image = image.expand(3, -1, -1)
        view = _crop(image, size, generator)
        if float(torch.rand(1, generator=generator)) < 0.5:
            view = view.flip(-1)
        views.append(_jitter(view, generator))
    return torch.stack(views)


def nt_xent(z1: Tensor, z2: Tensor, temperature: float) -> Tensor:
    """The normalised-temperature cross-entropy of SimCLR over 2n views.

    Row ``i`` of ``z1`` and of ``z2`` are the two views of image ``i``; each
    view's positive is the other view, its negatives the other 2n - 2.
    """
    n = z1.shape[0]
    z = functional.normalize(torch.cat([z1, z2]), dim=1)
    similarity = z @ z.T / temperature
    similarity.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return functional.cross_entropy(similarity, targets)


class _SimCLR(nn.Module):
    def __init__(self, settings: PretrainSettings, weights: str) -> None:
        super().__init__()
        self.backbone = Backbone(settings.backbone, weights, settings.input_size)
        dim = self.backbone.embedding_dim
        self.head = nn.Sequential(
            nn.Linear(dim, 512), nn.ReLU(inplace=True), nn.Linear(512, settings.projection_dim)
        )

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.head(self.backbone(x))
        return out


@dataclass
class PretrainResult:
    """How a run ended: epochs done, the last epoch's mean loss, and the weights file."""

    epochs_done: int
    losses: list[float]
    weights_path: Path
    resumed_from: int


def pretrain(
    batches: Batches,
    settings: PretrainSettings,
    *,
    checkpoint: Path,
    weights_out: Path,
    start_weights: str = "none",
    device: str | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
    steps_per_epoch: int | None = None,
) -> PretrainResult:
    """Train a backbone with SimCLR; resume from ``checkpoint`` when it exists.

    Args:
        batches: the images, batch by batch, for a given epoch (at least 2 per batch).
        settings: backbone, input size, epochs, optimiser and loss settings.
        checkpoint: the per-epoch checkpoint file (read to resume, rewritten
            after each epoch).
        weights_out: where the finished backbone's state dict is written.
        start_weights: the backbone's weights before the first epoch.
        device: torch device (None: CUDA when available).
        on_step: called after each step with (epoch, step, loss).
        steps_per_epoch: the optimiser steps in one epoch, for the
            learning-rate schedule (None: counted from the first epoch).

    Returns:
        The epochs done, the loss per epoch, and the weights file.

    Raises:
        ModelFileCorruptError: the checkpoint exists but is not one of this run.
    """
    settings.check()
    where = resolve_device(device)
    torch.manual_seed(settings.seed)
    model = _SimCLR(settings, start_weights).to(where)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    start, losses = 0, []
    if checkpoint.is_file():
        try:
            state: dict[str, Any] = torch.load(checkpoint, map_location=where, weights_only=True)
        except Exception as exc:
            raise ModelFileCorruptError(f"{checkpoint} cannot be read ({exc}); delete it") from None
        if state.get("format") != _FORMAT or state.get("backbone") != settings.backbone:
            raise ModelFileCorruptError(
                f"{checkpoint} is not a SimCLR checkpoint of {settings.backbone}; delete it "
                "to start again"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start, losses = int(state["epoch"]), [float(v) for v in state["losses"]]
    resumed_from = start
    total = settings.epochs * steps_per_epoch if steps_per_epoch else None

    def rate(global_step: int) -> float:
        """A cosine from lr to 0 over the run (constant without ``steps_per_epoch``)."""
        if total is None:
            return settings.lr
        return settings.lr * 0.5 * (1 + math.cos(math.pi * min(global_step, total) / total))

    generator = torch.Generator().manual_seed(settings.seed)
    for epoch in range(start, settings.epochs):
        generator.manual_seed(settings.seed * 1000 + epoch)
        model.train()
        epoch_losses = []
        for step, images in enumerate(batches(epoch)):
            if len(images) < 2:
                continue
            batch = torch.from_numpy(np.ascontiguousarray(images))
            v1 = augment_views(batch, settings.input_size, generator).to(where)
            v2 = augment_views(batch, settings.input_size, generator).to(where)
            loss = nt_xent(model(v1), model(v2), settings.temperature)
            optimizer.zero_grad(set_to_none=True)
            torch.autograd.backward(loss)
            for group in optimizer.param_groups:
                group["lr"] = rate(epoch * (steps_per_epoch or 0) + step)
            optimizer.step()
            value = float(loss.detach())
            epoch_losses.append(value)
            if on_step is not None:
                on_step(epoch, step, value)
        losses.append(float(np.mean(epoch_losses)) if epoch_losses else float("nan"))
        saved = {
            "format": _FORMAT,
            "backbone": settings.backbone,
            "epoch": epoch + 1,
            "losses": losses,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
        }

        def write_checkpoint(partial: Path, content: dict[str, Any] = saved) -> None:
            torch.save(content, partial)

        write_atomically(checkpoint, write_checkpoint)
    body = model.backbone.body.state_dict()

    def write_weights(partial: Path) -> None:
        torch.save(body, partial)

    write_atomically(weights_out, write_weights)
    return PretrainResult(settings.epochs, losses, weights_out, resumed_from)
