"""The training loop and the input conversions behind :class:`~labelloop.learners.TorchDetector`."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor
from torchvision.models.detection import FCOS

from labelloop.learners._detection_net import mirror_boxes, training_loss
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
) -> tuple[list[DetectionEpochStats], int]:
    """Train ``model`` in place with AdamW and optional early stopping.

    Without ``validation`` the model trains for ``epochs`` epochs. With it,
    the validation loss is measured after each epoch; training stops once it
    has not improved for ``patience`` epochs and the best epoch's weights are
    put back. The model is left in eval mode.

    Args:
        model: The detector, on ``device``.
        images: Training images, shape ``(n, C, H, W)``.
        targets: One target per image, boxes x1y1x2y2 on the CPU.
        validation: ``(images, targets)`` of the validation split, or ``None``.
        epochs: Most epochs.
        batch_size: Images per mini-batch.
        min_epoch_samples: Fewest images an epoch draws (small sets are
            passed over several times).
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        patience: Epochs without improvement before stopping.
        augment: If true, mirror each training image left-right with
            probability 1/2.
        seed: Seeds shuffling and mirroring.
        device: Device to train on.

    Returns:
        The stats of each epoch, and the epoch whose weights the model holds
        (``0`` when none ran).
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    images_t = torch.from_numpy(images)
    history: list[DetectionEpochStats] = []
    best_epoch, best_loss = 0, float("inf")
    best_state: dict[str, Tensor] | None = None
    for epoch in range(1, epochs + 1):
        train_loss = _train_epoch(
            model,
            optimizer,
            images_t,
            targets,
            batch_size=batch_size,
            min_samples=min_epoch_samples,
            augment=augment,
            generator=generator,
            device=device,
        )
        if validation is None:
            history.append(DetectionEpochStats(epoch, train_loss))
            best_epoch = epoch
            continue
        val_images, val_targets = validation
        val_loss = _validation_loss(
            model, torch.from_numpy(val_images), val_targets, batch_size=batch_size, device=device
        )
        history.append(DetectionEpochStats(epoch, train_loss, val_loss))
        if val_loss < best_loss:
            best_epoch, best_loss = epoch, val_loss
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif epoch - best_epoch >= patience:
            break
    if best_state is not None and best_epoch != len(history):
        model.load_state_dict(best_state)
    model.eval()
    return history, best_epoch
