"""The training loop and the input conversions behind :class:`~labelloop.learners.TorchDetector`."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor
from torchvision.models.detection import FCOS

from labelloop.learners._schedule import EarlyStopping, StepBudget, run_epochs, warmup_cosine
from labelloop.learners.detection._net import mirror_boxes, training_loss
from labelloop.learners.training import epoch_order

__all__ = ["DetectionEpochStats", "TargetTensors", "train_detector"]

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


def _train_epoch(
    model: FCOS,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    images: Tensor,
    targets: Sequence[TargetTensors],
    *,
    batch_size: int,
    min_samples: int,
    augment: bool,
    generator: torch.Generator,
    device: torch.device,
) -> float:
    model.train()
    total, seen = 0.0, 0
    width = images.shape[-1]
    order = epoch_order(images.shape[0], min_samples, generator)
    for index in torch.split(order, batch_size):
        flips = torch.rand(index.shape[0], generator=generator) < 0.5
        if not augment:
            flips[:] = False
        batch = images[index]
        batch[flips] = batch[flips].flip(-1)
        loss = training_loss(
            model,
            batch.to(device),
            _batch_targets(targets, index, flips, width, device),
        )
        optimizer.zero_grad(set_to_none=True)
        torch.autograd.backward(loss)
        torch.nn.utils.clip_grad_norm_(model.parameters(), _MAX_GRAD_NORM)
        optimizer.step()
        scheduler.step()
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
    batch_size: int,
    min_epoch_samples: int,
    lr: float,
    weight_decay: float,
    patience: int,
    augment: bool,
    seed: int,
    device: torch.device,
    min_steps: int = 0,
    min_val: int = 1,
) -> tuple[list[DetectionEpochStats], int]:
    """Train ``model`` in place with AdamW, a warm-up + cosine schedule and guarded early stopping.

    The fit runs ``epochs`` epochs, or more until it has taken ``min_steps``
    optimiser steps (``epochs=0`` trains nothing). With a validation split of
    at least ``min_val`` images, the validation loss is measured after each
    epoch; once ``min_steps`` are done, training stops when it has not
    improved for ``patience`` epochs and the best epoch's weights are put
    back. A smaller split is measured but chooses nothing. The model is left
    in eval mode. See :mod:`labelloop.learners._schedule`.

    Args:
        model: The detector, on ``device``.
        images: Training images, shape ``(n, C, H, W)``.
        targets: One target per image, boxes x1y1x2y2 on the CPU.
        validation: ``(images, targets)`` of the validation split, or ``None``.
        epochs: Epochs to train (more if ``min_steps`` needs them).
        batch_size: Images per mini-batch.
        min_epoch_samples: Fewest images an epoch draws (small sets are
            passed over several times).
        lr: Peak AdamW learning rate.
        weight_decay: AdamW weight decay.
        patience: Epochs without improvement before stopping.
        augment: If true, mirror each training image left-right with
            probability 1/2.
        seed: Seeds shuffling and mirroring.
        device: Device to train on.
        min_steps: Fewest optimiser steps of a fit.
        min_val: Fewest validation images early stopping trusts.

    Returns:
        The stats of each epoch, and the epoch whose weights the model holds
        (``0`` when none ran).
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    n = images.shape[0]
    budget = StepBudget(epochs, min_steps, -(-max(n, min_epoch_samples) // batch_size) if n else 0)
    scheduler = warmup_cosine(optimizer, budget.planned_steps)
    generator = torch.Generator().manual_seed(seed)
    images_t = torch.from_numpy(images)
    stopping = EarlyStopping(
        patience, min_steps, trusted=validation is not None and len(validation[1]) >= min_val
    )

    def one_epoch(epoch: int) -> DetectionEpochStats:
        train_loss = _train_epoch(
            model,
            optimizer,
            scheduler,
            images_t,
            targets,
            batch_size=batch_size,
            min_samples=min_epoch_samples,
            augment=augment,
            generator=generator,
            device=device,
        )
        if validation is None:
            return DetectionEpochStats(epoch, train_loss)
        val_images, val_targets = validation
        val_loss = _validation_loss(
            model, torch.from_numpy(val_images), val_targets, batch_size=batch_size, device=device
        )
        return DetectionEpochStats(epoch, train_loss, val_loss)

    return run_epochs(model, budget, stopping, one_epoch)
