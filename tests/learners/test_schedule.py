import itertools

import pytest
import torch
from torch import nn

from labelloop.learners._schedule import LR_FLOOR, EarlyStopping, StepBudget, warmup_cosine
from labelloop.learners.training import epoch_order, split_batches, steps_per_epoch


@pytest.mark.parametrize("n", [1, 2, 3, 20, 63, 64, 65, 129, 300])
@pytest.mark.parametrize("min_samples", [0, 64, 256])
@pytest.mark.parametrize("batch_size", [2, 10, 64])
def test_steps_per_epoch_counts_the_batches_made(n: int, min_samples: int, batch_size: int) -> None:
    order = epoch_order(n, min_samples, torch.Generator().manual_seed(0))
    assert steps_per_epoch(n, min_samples, batch_size) == len(split_batches(order, batch_size))


def test_budget_raises_epochs_to_reach_min_steps() -> None:
    assert StepBudget(epochs=15, min_steps=200, steps_per_epoch=4).planned_epochs == 50
    assert StepBudget(epochs=15, min_steps=200, steps_per_epoch=40).planned_epochs == 15
    assert StepBudget(epochs=0, min_steps=200, steps_per_epoch=4).planned_epochs == 0
    assert StepBudget(epochs=3, min_steps=10, steps_per_epoch=3).planned_steps == 12


def _lrs(total: int) -> list[float]:
    optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
    scheduler = warmup_cosine(optimizer, total)
    out = []
    for _ in range(total):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return out


def test_warmup_then_cosine_to_the_floor() -> None:
    lrs = _lrs(100)
    peak = lrs.index(max(lrs))
    assert peak == 9 and lrs[peak] == pytest.approx(1.0)
    assert all(a < b for a, b in itertools.pairwise(lrs[: peak + 1]))
    assert all(a >= b for a, b in itertools.pairwise(lrs[peak:]))
    assert lrs[0] == pytest.approx(0.1)
    assert lrs[-1] == pytest.approx(LR_FLOOR, abs=1e-3)


def test_early_stopping_waits_for_min_steps_and_trusted_validation() -> None:
    model = nn.Linear(2, 2)
    stop = EarlyStopping(patience=1, min_steps=20, trusted=True)
    # Epochs before min_steps never count as best, however low their loss.
    assert not stop.update(model, 1, 10, 0.01)
    assert not stop.update(model, 2, 20, 0.5)
    assert stop.best_epoch == 2
    assert stop.update(model, 3, 30, 0.6)
    assert stop.finish(model, 3) == 2

    untrusted = EarlyStopping(patience=1, min_steps=0, trusted=False)
    for epoch, loss in enumerate([0.1, 0.9, 0.95, 0.99], start=1):
        assert not untrusted.update(model, epoch, epoch * 10, loss)
    assert untrusted.finish(model, 4) == 4


def test_early_stopping_puts_the_best_weights_back() -> None:
    model = nn.Linear(2, 2)
    stop = EarlyStopping(patience=5, min_steps=0, trusted=True)
    with torch.no_grad():
        model.weight.fill_(1.0)
    stop.update(model, 1, 1, 0.1)
    with torch.no_grad():
        model.weight.fill_(2.0)
    stop.update(model, 2, 2, 0.2)
    assert stop.finish(model, 2) == 1
    assert torch.equal(model.weight, torch.ones(2, 2))
