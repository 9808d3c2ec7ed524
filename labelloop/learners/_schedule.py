"""What every network fit here shares: a step budget, a learning-rate schedule, early stopping.

A labeling loop fits networks on 10 labels and on 10,000. Counted in epochs,
a fit on 16 images is a handful of optimiser steps, and early stopping on the
4 images of its validation side ends it at random; the network is then still
at its initialisation and predicts one class for everything. So:

* the budget is counted in **optimiser steps**: at least ``min_steps``
  whatever the labeled set's size (:class:`StepBudget`);
* the learning rate warms up linearly, then follows a cosine to a small
  floor over the planned steps (:func:`warmup_cosine`), so the last steps of
  a short fit settle rather than jump;
* early stopping (:class:`EarlyStopping`) only trusts a validation side of at
  least ``min_val`` items, and only once ``min_steps`` are done; with fewer
  validation items the fit runs its whole budget and keeps the last weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import torch
from torch import Tensor, nn

__all__ = ["EarlyStopping", "StepBudget", "warmup_cosine"]

WARMUP_FRACTION = 0.1
"""Share of the planned steps over which the learning rate rises linearly."""

LR_FLOOR = 0.02
"""The cosine ends at this fraction of the peak learning rate."""


@dataclass(frozen=True)
class StepBudget:
    """How long a fit trains.

    Attributes:
        epochs: the epochs asked for; ``0`` trains nothing.
        min_steps: fewest optimiser steps of a fit that trains at all.
        steps_per_epoch: optimiser steps one epoch takes for this data.
    """

    epochs: int
    min_steps: int
    steps_per_epoch: int

    @property
    def planned_epochs(self) -> int:
        """``epochs``, raised until the fit takes ``min_steps`` steps (0 stays 0)."""
        if self.epochs == 0 or self.steps_per_epoch == 0:
            return 0
        return max(self.epochs, math.ceil(self.min_steps / self.steps_per_epoch))

    @property
    def planned_steps(self) -> int:
        """Optimiser steps of the whole planned fit."""
        return self.planned_epochs * self.steps_per_epoch


def warmup_cosine(
    optimizer: torch.optim.Optimizer, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over :data:`WARMUP_FRACTION` of the steps, then a cosine to :data:`LR_FLOOR`.

    Call ``step()`` after each optimiser step.

    Args:
        optimizer: the optimiser whose learning rates are scaled.
        total_steps: the planned optimiser steps (at least 1 is assumed).
    """
    total = max(1, total_steps)
    warmup = max(1, round(WARMUP_FRACTION * total))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return LR_FLOOR + (1.0 - LR_FLOOR) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@dataclass
class EarlyStopping:
    """Keeps the best epoch's weights and says when to stop, if the validation side can be trusted.

    Args:
        patience: epochs without a lower validation loss before stopping.
        min_steps: steps before which no epoch counts as best and none stops
            the fit (early epochs of a fresh network score by chance).
        trusted: whether the validation side is large enough to choose an
            epoch by; if not, the fit runs its budget and keeps the last weights.

    Attributes:
        best_epoch: the epoch whose weights the model holds after :meth:`finish`.
    """

    patience: int
    min_steps: int
    trusted: bool
    best_epoch: int = 0
    _best_loss: float = float("inf")
    _best_state: dict[str, Tensor] | None = field(default=None, repr=False)

    def update(self, model: nn.Module, epoch: int, steps_done: int, val_loss: float | None) -> bool:
        """Record the epoch just finished; True when training should stop."""
        if val_loss is None or not self.trusted:
            self.best_epoch = epoch
            return False
        if steps_done < self.min_steps:
            return False
        if val_loss < self._best_loss:
            self.best_epoch, self._best_loss = epoch, val_loss
            self._best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return False
        return epoch - self.best_epoch >= self.patience

    def finish(self, model: nn.Module, last_epoch: int) -> int:
        """Put the best epoch's weights back; its number (the last epoch if none counted)."""
        if self._best_state is None:
            self.best_epoch = last_epoch
        elif self.best_epoch != last_epoch:
            model.load_state_dict(self._best_state)
        return self.best_epoch


class _EpochStats(Protocol):
    @property
    def val_loss(self) -> float | None: ...


StatsT = TypeVar("StatsT", bound=_EpochStats)


def run_epochs(
    model: nn.Module,
    budget: StepBudget,
    stopping: EarlyStopping,
    epoch: Callable[[int], StatsT],
) -> tuple[list[StatsT], int]:
    """Run ``epoch(1)``, ``epoch(2)``, ... for the budget or until ``stopping`` says so.

    Args:
        model: The network being trained; left with the best epoch's weights,
            in eval mode.
        budget: How many epochs, of how many steps, to plan for.
        stopping: Decides after each epoch, from its ``val_loss``.
        epoch: Trains one epoch (numbered from 1) and returns its stats.

    Returns:
        The stats of each epoch run, and the epoch whose weights the model
        holds (``0`` when no epoch ran).
    """
    history: list[StatsT] = []
    for number in range(1, budget.planned_epochs + 1):
        stats = epoch(number)
        history.append(stats)
        if stopping.update(model, number, number * budget.steps_per_epoch, stats.val_loss):
            break
    best_epoch = stopping.finish(model, len(history))
    model.eval()
    return history, best_epoch
