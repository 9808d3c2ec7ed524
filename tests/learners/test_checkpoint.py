"""The one saved-file format of the learners: tag, version, atomic write, clear refusals."""

from pathlib import Path

import pytest
import torch
from torch import nn

from labelloop.learners import (
    ModelFileCorruptError,
    ModelFileNotFoundError,
    WeightsMismatchError,
)
from labelloop.learners._checkpoint import Checkpoint, weights_of

TORCH = Checkpoint("Thing", version=3)
PICKLED = Checkpoint("Other", version=1, hint="load it with Other.", pickled=True)


@pytest.mark.parametrize("checkpoint", [TORCH, PICKLED], ids=["torch", "pickled"])
def test_a_saved_state_reads_back_tagged(checkpoint: Checkpoint, tmp_path: Path) -> None:
    path = tmp_path / "file"
    checkpoint.save(path, checkpoint.state(config={"n": 2}, values=[1.5]))
    state = checkpoint.read(path)
    assert state == {
        "format": f"labelloop.learners.{checkpoint.kind}",
        "version": checkpoint.version,
        "config": {"n": 2},
        "values": [1.5],
    }
    assert not list(tmp_path.glob("*.partial"))


def test_a_file_of_another_kind_or_none_is_refused_with_the_fix(tmp_path: Path) -> None:
    path, pickled = tmp_path / "file", tmp_path / "pickled"
    TORCH.save(path, TORCH.state())
    Checkpoint("Third", version=1, pickled=True).save(pickled, {"format": "elsewhere"})
    with pytest.raises(ModelFileCorruptError, match=r"not a saved Other; load it with Other\."):
        PICKLED.read(pickled)
    with pytest.raises(ModelFileCorruptError, match="damaged"):
        PICKLED.read(path)
    with pytest.raises(ModelFileCorruptError, match="weights_path"):
        Checkpoint("Third", version=1).read(path)
    with pytest.raises(ModelFileNotFoundError, match="call save"):
        TORCH.read(tmp_path / "missing")


def test_restore_checks_the_config_before_building(tmp_path: Path) -> None:
    saved = nn.Linear(3, 2)
    state = TORCH.state(config={"a": 1, "b": 2, "c": 3}, state_dict=weights_of(saved))
    built: list[nn.Module] = []

    def build() -> nn.Linear:
        network = nn.Linear(3, 2)
        built.append(network)
        return network

    with pytest.raises(WeightsMismatchError, match=r"build the Thing with the saved a, b and c\."):
        TORCH.restore(state, tmp_path, expected={"a": 1, "b": 2, "c": 4}, build=build)
    assert built == []
    restored = TORCH.restore(state, tmp_path, expected={"a": 1, "b": 2, "c": 3}, build=build)
    assert torch.equal(restored.weight, saved.weight)
    with pytest.raises(WeightsMismatchError, match="do not fit this Thing"):
        TORCH.restore(state, tmp_path, expected=state["config"], build=lambda: nn.Linear(4, 2))


class _Noisy(nn.Linear):
    """A layer with a random buffer that a checkpoint does not hold."""

    noise: torch.Tensor

    def __init__(self) -> None:
        super().__init__(3, 2)
        self.register_buffer("noise", torch.rand(4), persistent=False)


def test_restore_on_builds_seeded_and_returns_the_network_in_eval_mode(tmp_path: Path) -> None:
    saved = _Noisy()
    state = TORCH.state(config={"a": 1}, state_dict=weights_of(saved))
    cpu = torch.device("cpu")
    before = torch.get_rng_state()
    first = TORCH.restore_on(state, tmp_path, expected={"a": 1}, build=_Noisy, device=cpu, seed=3)
    again = TORCH.restore_on(state, tmp_path, expected={"a": 1}, build=_Noisy, device=cpu, seed=3)
    other = TORCH.restore_on(state, tmp_path, expected={"a": 1}, build=_Noisy, device=cpu, seed=4)
    assert torch.equal(torch.get_rng_state(), before)  # the caller's random state is untouched
    assert torch.equal(first.weight, saved.weight) and not first.training
    assert torch.equal(first.noise, again.noise) and not torch.equal(first.noise, other.noise)
