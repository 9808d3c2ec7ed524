"""The training loop and the input conversions behind :class:`~labelloop.learners.TorchDetector`."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn
from torchvision.models.detection import FCOS

from labelloop.learners._schedule import (
    EarlyStopping,
    StatsT,
    StepBudget,
    run_epochs,
    warmup_cosine,
)
from labelloop.learners.detection._net import mirror_boxes, training_loss, xywh_to_xyxy
from labelloop.learners.detection.types import BoxTargets
from labelloop.learners.errors import InvalidInputError
from labelloop.learners.training import epoch_order

__all__ = [
    "DetectionEpochStats",
    "EpochTools",
    "FitSettings",
    "TargetTensors",
    "run_adamw",
    "target_tensors",
    "train_detector",
]

# Gradients of a detector trained from scratch spike in the first steps; clipping
# their norm keeps AdamW from jumping out of the basin.
_MAX_GRAD_NORM = 10.0

TargetTensors = dict[str, Tensor]
"""``{"boxes": (m, 4) float32 x1y1x2y2 pixels, "labels": (m,) int64}``, as torchvision takes."""


@dataclass(frozen=True)
class DetectionEpochStats:
    """What one detector training epoch did.

    Attributes:
        epoch: 1 for the first epoch of a fit.
        train_loss: Mean FCOS loss (classification + box + centerness) over the
            epoch's mini-batches, weighted by batch size.
        val_loss: The same loss on the validation split after the epoch,
            computed in eval mode, or ``None`` without one.
    """

    epoch: int
    train_loss: float
    val_loss: float | None = None


def target_tensors(
    targets: Sequence[BoxTargets], classes: Sequence[str], suffix: str = ""
) -> list[TargetTensors]:
    """Box labels as torchvision takes them, each checked against ``classes``.

    Args:
        targets: One :class:`BoxTargets` per image, boxes ``(x, y, width, height)``.
        classes: The detector's class names; labels index into them.
        suffix: Appended to ``targets`` in messages (``"_val"``).

    Raises:
        InvalidInputError: If an entry is not a :class:`BoxTargets` or has a
            class index outside ``[0, len(classes))``.
    """
    converted = []
    for index, target in enumerate(targets):
        if not isinstance(target, BoxTargets):
            raise InvalidInputError(
                f"targets{suffix}[{index}] is a {type(target).__name__}; wrap the boxes "
                "in BoxTargets(boxes=..., labels=...)."
            )
        if target.labels.size and (target.labels.min() < 0 or target.labels.max() >= len(classes)):
            raise InvalidInputError(
                f"targets{suffix}[{index}] has a class index outside [0, {len(classes)}); "
                f"the classes are {list(classes)}."
            )
        converted.append(
            {"boxes": xywh_to_xyxy(target.boxes), "labels": torch.from_numpy(target.labels.copy())}
        )
    return converted


def _batch_targets(
    targets: Sequence[TargetTensors], index: Tensor, flips: Tensor, width: int, device: torch.device
) -> list[TargetTensors]:
    """The targets of ``index``, boxes mirrored where ``flips`` is true."""
    batch = []
    for position, item in enumerate(index.tolist()):
        boxes = targets[item]["boxes"]
        if bool(flips[position]):
            boxes = mirror_boxes(boxes, width)
        batch.append({"boxes": boxes.to(device), "labels": targets[item]["labels"].to(device)})
    return batch


class FitSettings(Protocol):
    """The detector parameters a fit reads; a :class:`~labelloop.learners.TorchDetector` has all.

    Attributes:
        batch_size: Images per mini-batch.
        min_epoch_samples: Fewest images an epoch draws (small sets are
            passed over several times).
        lr: Peak AdamW learning rate.
        weight_decay: AdamW weight decay.
        patience: Epochs without improvement before stopping.
        augment: If true, mirror each training image left-right with
            probability 1/2.
        random_state: Seeds shuffling and mirroring.
        min_steps: Fewest optimiser steps of a fit.
        early_stopping_min_val: Fewest validation images early stopping trusts.
    """

    batch_size: int
    min_epoch_samples: int
    lr: float
    weight_decay: float
    patience: int
    augment: bool
    random_state: int
    min_steps: int
    early_stopping_min_val: int


@dataclass(frozen=True)
class EpochTools:
    """What every epoch of one fit steps: the optimiser, its schedule, the shuffling generator."""

    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    generator: torch.Generator


def run_adamw(
    model: nn.Module,
    budget: StepBudget,
    epoch: Callable[[EpochTools, int], StatsT],
    *,
    lr: float,
    weight_decay: float,
    seed: int,
    patience: int,
    trusted: bool,
) -> tuple[list[StatsT], int]:
    """Train ``model`` with AdamW over ``budget``: warm-up + cosine, guarded early stopping.

    The optimiser, its :func:`~labelloop.learners._schedule.warmup_cosine`
    schedule over the planned steps and a generator seeded with ``seed`` are
    made once and handed to ``epoch`` with each epoch's number;
    :class:`~labelloop.learners._schedule.EarlyStopping` (from
    ``budget.min_steps`` on, if the validation side is ``trusted``) decides
    after each epoch and puts the best epoch's weights back.

    Args:
        model: The network, on its device.
        budget: How many epochs, of how many steps, to plan for.
        epoch: Trains one epoch (numbered from 1) with the tools; returns its stats.
        lr: Peak AdamW learning rate.
        weight_decay: AdamW weight decay.
        seed: Seeds the generator the epochs shuffle and augment with.
        patience: Epochs without a lower validation loss before stopping.
        trusted: Whether the validation side is large enough to choose an epoch.

    Returns:
        The stats of each epoch run, and the epoch whose weights the model
        holds (``0`` when none ran). The model is left in eval mode.
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    tools = EpochTools(
        optimizer,
        warmup_cosine(optimizer, budget.planned_steps),
        torch.Generator().manual_seed(seed),
    )
    stopping = EarlyStopping(patience, budget.min_steps, trusted=trusted)
    return run_epochs(model, budget, stopping, lambda number: epoch(tools, number))


def _train_epoch(
    model: FCOS,
    tools: EpochTools,
    images: Tensor,
    targets: Sequence[TargetTensors],
    *,
    batch_size: int,
    min_samples: int,
    augment: bool,
    device: torch.device,
) -> float:
    model.train()
    total, seen = 0.0, 0
    width = images.shape[-1]
    order = epoch_order(images.shape[0], min_samples, tools.generator)
    for index in torch.split(order, batch_size):
        flips = torch.rand(index.shape[0], generator=tools.generator) < 0.5
        if not augment:
            flips[:] = False
        batch = images[index]
        batch[flips] = batch[flips].flip(-1)
        loss = training_loss(
            model,
            batch.to(device),
            _batch_targets(targets, index, flips, width, device),
        )
        tools.optimizer.zero_grad(set_to_none=True)
        torch.autograd.backward(loss)
        torch.nn.utils.clip_grad_norm_(model.parameters(), _MAX_GRAD_NORM)
        tools.optimizer.step()
        tools.scheduler.step()
        total += float(loss.detach()) * index.shape[0]
        seen += index.shape[0]
    return total / seen


def _validation_loss(
    model: FCOS,
    images: Tensor,
    targets: Sequence[TargetTensors],
    *,
    batch_size: int,
    device: torch.device,
) -> float:
    model.eval()
    total = 0.0
    no_flip = torch.zeros(images.shape[0], dtype=torch.bool)
    with torch.no_grad():
        for index in torch.split(torch.arange(images.shape[0]), batch_size):
            batch_targets = _batch_targets(targets, index, no_flip, 0, device)
            loss = training_loss(model, images[index].to(device), batch_targets)
            total += float(loss) * index.shape[0]
    return total / images.shape[0]


def train_detector(
    model: FCOS,
    images: NDArray[np.float32],
    targets: Sequence[TargetTensors],
    *,
    validation: tuple[NDArray[np.float32], Sequence[TargetTensors]] | None,
    epochs: int,
    settings: FitSettings,
    device: torch.device,
) -> tuple[list[DetectionEpochStats], int]:
    """Train ``model`` in place with AdamW, a warm-up + cosine schedule and guarded early stopping.

    The fit runs ``epochs`` epochs, or more until it has taken
    ``settings.min_steps`` optimiser steps (``epochs=0`` trains nothing).
    With a validation split of at least ``settings.early_stopping_min_val``
    images, the validation loss is measured after each epoch; once
    ``min_steps`` are done, training stops when it has not improved for
    ``settings.patience`` epochs and the best epoch's weights are put back.
    A smaller split is measured but chooses nothing. The model is left in
    eval mode. See :func:`run_adamw` and :mod:`labelloop.learners._schedule`.

    Args:
        model: The detector, on ``device``.
        images: Training images, shape ``(n, C, H, W)``.
        targets: One target per image, boxes x1y1x2y2 on the CPU.
        validation: ``(images, targets)`` of the validation split, or ``None``.
        epochs: Epochs to train (more if ``min_steps`` needs them).
        settings: Batch size, epoch size, optimiser, stopping and seed
            (:class:`FitSettings`; the detector passes itself).
        device: Device to train on.

    Returns:
        The stats of each epoch, and the epoch whose weights the model holds
        (``0`` when none ran).
    """
    n, batch_size, min_samples = images.shape[0], settings.batch_size, settings.min_epoch_samples
    budget = StepBudget(
        epochs, settings.min_steps, -(-max(n, min_samples) // batch_size) if n else 0
    )
    images_t = torch.from_numpy(images)

    def one_epoch(tools: EpochTools, epoch: int) -> DetectionEpochStats:
        train_loss = _train_epoch(
            model,
            tools,
            images_t,
            targets,
            batch_size=batch_size,
            min_samples=min_samples,
            augment=settings.augment,
            device=device,
        )
        if validation is None:
            return DetectionEpochStats(epoch, train_loss)
        val_images, val_targets = validation
        val_loss = _validation_loss(
            model, torch.from_numpy(val_images), val_targets, batch_size=batch_size, device=device
        )
        return DetectionEpochStats(epoch, train_loss, val_loss)

    return run_adamw(
        model,
        budget,
        one_epoch,
        lr=settings.lr,
        weight_decay=settings.weight_decay,
        seed=settings.random_state,
        patience=settings.patience,
        trusted=validation is not None and len(validation[1]) >= settings.early_stopping_min_val,
    )
