import pytest
import torch

from labelloop.learners.training import epoch_order, seeded, split_batches


@pytest.mark.parametrize("batch_size", [2, 3, 64])
def test_split_batches_never_yields_a_single_sample(batch_size: int) -> None:
    for n in range(2, 150):
        order = torch.randperm(n)
        batches = split_batches(order, batch_size)
        assert min(len(b) for b in batches) >= 2
        assert max(len(b) for b in batches) <= max(batch_size, 3)
        assert torch.equal(torch.cat(batches), order)


def test_split_batches_repeats_a_lone_sample() -> None:
    assert [b.tolist() for b in split_batches(torch.tensor([4]), 64)] == [[4, 4]]


def test_epoch_order_covers_small_sets_evenly() -> None:
    order = epoch_order(10, 35, torch.Generator().manual_seed(0))
    assert order.shape == (35,)
    counts = torch.bincount(order, minlength=10)
    assert counts.min() >= 3
    assert counts.max() <= 4


def test_epoch_order_of_large_set_is_a_permutation() -> None:
    order = epoch_order(100, 35, torch.Generator().manual_seed(0))
    assert sorted(order.tolist()) == list(range(100))


def test_seeded_is_reproducible_and_restores_state() -> None:
    before = torch.get_rng_state()
    with seeded(3, torch.device("cpu")):
        first = torch.rand(4)
    assert torch.equal(torch.get_rng_state(), before)
    with seeded(3, torch.device("cpu")):
        second = torch.rand(4)
    assert torch.equal(first, second)
