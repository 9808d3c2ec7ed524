"""The training loop behind :class:`~labelloop.learners.TorchClassifier`.

Kept apart from the classifier so the loop reads as one piece: seeded
shuffling and augmentation, mini-batch AdamW over a budget of optimiser
steps with a warm-up + cosine schedule, per-epoch validation, early stopping
that keeps the best weights when the validation side is large enough to
trust, and batched inference that never holds a whole pool on the device.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor
from torch.nn.functional import cross_entropy

from labelloop.learners._schedule import EarlyStopping, StepBudget, run_epochs, warmup_cosine
from labelloop.learners.augment import AugmentName, augment_batch
from labelloop.learners.errors import InvalidParameterError
from labelloop.learners.networks import FeatureClassifier

__all__ = [
    "EpochStats",
    "FitSettings",
    "batched_features",
    "batched_logits",
    "epoch_order",
    "map_batches",
    "resolve_device",
    "seeded",
    "split_batches",
    "steps_per_epoch",
    "train",
]


@dataclass(frozen=True)
class EpochStats:
    """What one training epoch did.

    Attributes:
        epoch: 1 for the first epoch of a fit.
        train_loss: Mean cross-entropy over the epoch's mini-batches, weighted
            by batch size, measured while training (dropout on).
        val_loss: Mean cross-entropy on the validation split after the epoch,
            or ``None`` without one.
        val_accuracy: Accuracy on the validation split after the epoch, or
            ``None`` without one.
    """

    epoch: int
    train_loss: float
    val_loss: float | None = None
    val_accuracy: float | None = None


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Pick the device to compute on.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, a ``torch.device``, or
            ``None`` for CUDA when available, else the CPU.

    Returns:
        The device.

    Raises:
        InvalidParameterError: If the name is not a device, or CUDA is asked
            for but not available.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise InvalidParameterError(
            f"device={device!r} is not a torch device; pass 'cpu', 'cuda', 'cuda:0' or None."
        ) from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(
            f"device={device!r} asks for CUDA, which this machine lacks; pass 'cpu' or None."
        )
    return resolved


@contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch's generators for the block, then restore their old states.

    Module initialisation and dropout draw from torch's global generators;
    forking them keeps a fit reproducible without changing the caller's
    random state.

    Args:
        seed: Seed for the CPU generator and, on CUDA, the device's generator.
        device: The device the block computes on.
    """
    cuda_devices: list[int] = []
    if device.type == "cuda":
        cuda_devices = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=cuda_devices, device_type="cuda"):
        torch.default_generator.manual_seed(seed)
        for index in cuda_devices:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield


def epoch_order(n: int, min_samples: int, generator: torch.Generator) -> Tensor:
    """Sample indices for one epoch: shuffled passes over ``n`` samples.

    A small labeled set is passed over several times, each pass shuffled
    anew, until the epoch holds ``min_samples`` indices, so that a fit on 20
    images takes about as many optimizer steps as one on ``min_samples``.

    Args:
        n: Number of training samples, at least 1.
        min_samples: Fewest indices an epoch holds.
        generator: Source of the shuffles.

    Returns:
        Indices into the training set, shape ``(max(n, min_samples),)``.
    """
    size = max(n, min_samples)
    passes = [torch.randperm(n, generator=generator) for _ in range(-(-size // n))]
    return torch.cat(passes)[:size]


def split_batches(order: Tensor, batch_size: int) -> list[Tensor]:
    """Cut a permutation into mini-batches of near-equal size, none of size 1.

    Batch-norm layers cannot train on a single sample, so a lone last sample
    joins the batch before it, and a set of one sample is repeated once.

    Args:
        order: Sample indices in training order, shape ``(n,)``, ``n >= 1``.
        batch_size: Largest wanted batch size, at least 2.

    Returns:
        Index tensors that together hold ``order`` (``order`` twice when
        ``n == 1``).
    """
    n = order.shape[0]
    if n == 1:
        return [order.repeat(2)]
    batches = list(torch.tensor_split(order, -(-n // batch_size)))
    if batches[-1].shape[0] == 1:
        batches[-2:] = [torch.cat(batches[-2:])]
    return batches


def map_batches(
    fn: Callable[[Tensor], Tensor],
    images: NDArray[np.float32],
    *,
    width: int,
    dtype: type[np.floating],
    batch_size: int,
    device: torch.device,
) -> NDArray[np.floating]:
    """Apply ``fn`` to images a batch at a time under ``torch.inference_mode``.

    Args:
        fn: Maps a batch ``(b, C, H, W)`` on ``device`` to ``(b, width)``.
        images: Images, shape ``(n, C, H, W)``, on the host.
        width: Columns ``fn`` returns.
        dtype: Type of the returned array.
        batch_size: Images per batch.
        device: Device ``fn`` computes on.

    Returns:
        The stacked outputs, shape ``(n, width)``.
    """
    out = np.empty((images.shape[0], width), dtype=dtype)
    with torch.inference_mode():
        for start in range(0, images.shape[0], batch_size):
            batch = torch.from_numpy(images[start : start + batch_size]).to(device)
            out[start : start + batch.shape[0]] = fn(batch).cpu().numpy()
    return out


def batched_logits(
    model: FeatureClassifier, images: NDArray[np.float32], *, batch_size: int, device: torch.device
) -> NDArray[np.float32]:
    """Class logits of ``images (n, C, H, W)``, a batch at a time: ``(n, n_classes)``."""
    return _float32_batches(model, images, model.head.out_features, batch_size, device)


def batched_features(
    model: FeatureClassifier, images: NDArray[np.float32], *, batch_size: int, device: torch.device
) -> NDArray[np.float32]:
    """Penultimate-layer features of ``images (n, C, H, W)``: ``(n, embedding_dim)``."""
    return _float32_batches(model.features, images, model.embedding_dim, batch_size, device)


def _float32_batches(
    fn: Callable[[Tensor], Tensor],
    images: NDArray[np.float32],
    width: int,
    batch_size: int,
    device: torch.device,
) -> NDArray[np.float32]:
    out = map_batches(
        fn, images, width=width, dtype=np.float32, batch_size=batch_size, device=device
    )
    return out.astype(np.float32, copy=False)


def _validation_scores(
    model: FeatureClassifier,
    X_val: NDArray[np.float32],
    y_val: Tensor,
    *,
    batch_size: int,
    device: torch.device,
) -> tuple[float, float]:
    model.eval()
    logits = torch.from_numpy(batched_logits(model, X_val, batch_size=batch_size, device=device))
    loss = cross_entropy(logits, y_val).item()
    accuracy = (logits.argmax(dim=1) == y_val).double().mean().item()
    return loss, accuracy


SMALL_SET_BATCH = 16
"""A fit on fewer images than ``batch_size`` uses batches of its own size, at least this."""


def steps_per_epoch(n: int, min_samples: int, batch_size: int) -> int:
    """Optimiser steps :func:`split_batches` makes of one :func:`epoch_order` epoch."""
    if n == 0:
        return 0
    size = max(n, min_samples)
    if size == 1:
        return 1
    steps = -(-size // batch_size)
    # tensor_split makes near-equal pieces; the smallest has size // steps, and a lone one merges.
    return steps - 1 if steps > 1 and size // steps == 1 else steps


def _train_epoch(
    model: FeatureClassifier,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    X: Tensor,
    y: Tensor,
    *,
    batch_size: int,
    min_samples: int,
    augment: AugmentName,
    generator: torch.Generator,
    device: torch.device,
) -> float:
    model.train()
    total = torch.zeros((), device=device)
    seen = 0
    order = epoch_order(X.shape[0], min_samples, generator)
    for index in split_batches(order, batch_size):
        images = augment_batch(X[index].to(device, non_blocking=True), augment, generator)
        labels = y[index].to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        loss = cross_entropy(model(images), labels)
        torch.autograd.backward(loss)
        optimizer.step()
        scheduler.step()
        total += loss.detach() * index.shape[0]
        seen += index.shape[0]
    return float(total.item() / seen)


class FitSettings(Protocol):
    """The parameters :func:`train` reads; a :class:`~labelloop.learners.TorchClassifier` has all.

    Attributes:
        batch_size: Largest mini-batch; a smaller training set gets batches
            of its own size (at least :data:`SMALL_SET_BATCH`).
        min_epoch_samples: Fewest samples an epoch draws; see :func:`epoch_order`.
        lr: Peak AdamW learning rate.
        weight_decay: AdamW weight decay.
        patience: Epochs without improvement before stopping.
        random_state: Seeds the shuffling and augmentation generator.
        inference_batch_size: Batch size for validation passes.
        min_steps: Fewest optimiser steps of a fit.
        early_stopping_min_val: Fewest validation images early stopping trusts.
        augment: Augmentation of each training batch (:func:`augment_batch`).
    """

    batch_size: int
    min_epoch_samples: int
    lr: float
    weight_decay: float
    patience: int
    random_state: int
    inference_batch_size: int
    min_steps: int
    early_stopping_min_val: int
    augment: AugmentName


def train(
    model: FeatureClassifier,
    X: NDArray[np.float32],
    y: NDArray[np.int64],
    *,
    validation: tuple[NDArray[np.float32], NDArray[np.int64]] | None,
    epochs: int,
    settings: FitSettings,
    device: torch.device,
) -> tuple[list[EpochStats], int]:
    """Train ``model`` in place with AdamW, a warm-up + cosine schedule and guarded early stopping.

    The fit runs ``epochs`` epochs, or more until it has taken
    ``settings.min_steps`` optimiser steps (``epochs=0`` trains nothing); see
    :class:`~labelloop.learners._schedule.StepBudget`. The learning rate
    follows :func:`~labelloop.learners._schedule.warmup_cosine` over those
    steps. With a ``validation`` split of at least
    ``settings.early_stopping_min_val`` images, the validation loss is
    measured after every epoch; once ``min_steps`` are done, training stops
    when it has not improved for ``settings.patience`` epochs, and the
    weights of the epoch with the lowest loss are put back. A smaller split
    is still measured each epoch (the history shows it) but chooses nothing:
    the fit keeps its last weights. The model is left in eval mode.

    Args:
        model: The network, already on ``device``.
        X: Training images, shape ``(n, C, H, W)``.
        y: Training labels, shape ``(n,)``.
        validation: ``(X_val, y_val)`` with shapes ``(m, C, H, W)`` and
            ``(m,)``, or ``None``.
        epochs: Epochs to train (more if ``settings.min_steps`` needs them).
        settings: Batch sizes, optimiser, schedule, stopping and augmentation.
        device: Device to train on.

    Returns:
        The stats of each epoch run, and the epoch whose weights the model
        holds (``0`` when no epoch ran).
    """
    lr, weight_decay, min_steps = settings.lr, settings.weight_decay, settings.min_steps
    min_epoch_samples, augment = settings.min_epoch_samples, settings.augment
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    # A batch larger than the labeled set repeats its images within one step:
    # the same compute buys more steps as batches of the set's size.
    batch_size = min(settings.batch_size, max(SMALL_SET_BATCH, X.shape[0]))
    budget = StepBudget(
        epochs, min_steps, steps_per_epoch(X.shape[0], min_epoch_samples, batch_size)
    )
    scheduler = warmup_cosine(optimizer, budget.planned_steps)
    generator = torch.Generator().manual_seed(settings.random_state)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    y_val = None if validation is None else torch.from_numpy(validation[1])
    trusted = validation is not None and len(validation[1]) >= settings.early_stopping_min_val
    stopping = EarlyStopping(settings.patience, min_steps, trusted=trusted)

    def one_epoch(epoch: int) -> EpochStats:
        train_loss = _train_epoch(
            model,
            optimizer,
            scheduler,
            X_t,
            y_t,
            batch_size=batch_size,
            min_samples=min_epoch_samples,
            augment=augment,
            generator=generator,
            device=device,
        )
        if validation is None or y_val is None:
            return EpochStats(epoch, train_loss)
        val_loss, val_accuracy = _validation_scores(
            model, validation[0], y_val, batch_size=settings.inference_batch_size, device=device
        )
        return EpochStats(epoch, train_loss, val_loss, val_accuracy)

    return run_epochs(model, budget, stopping, one_epoch)
