"""The one file format of the learners: a tagged dict of plain values and tensors.

A checkpoint is ``{"format": "labelloop.learners.<Kind>", "version": N,
...fields}`` written atomically with :func:`torch.save` and read back with
``torch.load(weights_only=True)``, so loading runs no code; learners that
hold scikit-learn estimators are ``pickled`` instead (loading such a file can
run code: load only your own files). A single-network
learner stores ``config`` (what the network was built for) and
``state_dict``; :meth:`Checkpoint.restore` refuses a file built for another
configuration before it touches the weights, with an error that says what to
build instead.
"""

import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import Tensor, nn

from labelloop.learners._files import read_file, write_atomically
from labelloop.learners.errors import ModelFileCorruptError, WeightsMismatchError
from labelloop.learners.training import seeded

__all__ = ["Checkpoint", "weights_of"]

NetworkT = TypeVar("NetworkT", bound=nn.Module)


def weights_of(network: nn.Module) -> dict[str, Tensor]:
    """The network's parameters and buffers, detached, on the CPU."""
    return {key: value.detach().cpu() for key, value in network.state_dict().items()}


@dataclass(frozen=True)
class Checkpoint:
    """The saved-file format of one learner class.

    Attributes:
        kind: The learner's class name, e.g. ``"TorchClassifier"``.
        version: The format's version, written into every file.
        hint: What to do with a file that is not of this kind.
        pickled: Written with :mod:`pickle` rather than :func:`torch.save`.
    """

    kind: str
    version: int
    hint: str = "to start from bare weights, pass the file as weights_path instead."
    pickled: bool = False

    @property
    def tag(self) -> str:
        """The ``format`` value of this kind's files."""
        return f"labelloop.learners.{self.kind}"

    def state(self, **fields: Any) -> dict[str, Any]:
        """The file's content: the tag, the version and ``fields``."""
        return {"format": self.tag, "version": self.version} | fields

    def save(self, path: Path, state: dict[str, Any]) -> None:
        """Write ``state`` to ``path``, replacing it atomically."""

        def write(partial: Path) -> None:
            if not self.pickled:
                torch.save(state, partial)
                return
            with partial.open("wb") as file:
                pickle.dump(state, file, protocol=pickle.HIGHEST_PROTOCOL)

        write_atomically(Path(path), write)

    def read(self, path: Path) -> dict[str, Any]:
        """The content of a file written by :meth:`save`.

        Raises:
            ModelFileNotFoundError: If ``path`` does not exist.
            ModelFileCorruptError: If it cannot be read or is not of this kind.
        """
        state = read_file(
            path,
            what=f"saved {self.kind}",
            missing_hint="check the path or call save() first.",
            use_torch=not self.pickled,
        )
        if not isinstance(state, dict) or state.get("format") != self.tag:
            raise ModelFileCorruptError(f"{path} is not a saved {self.kind}; {self.hint}")
        return state

    def restore(
        self,
        state: dict[str, Any],
        path: Path,
        *,
        expected: dict[str, Any],
        build: Callable[[], NetworkT],
    ) -> NetworkT:
        """A network built by ``build`` holding the saved weights.

        Args:
            state: What :meth:`read` returned (``config`` and ``state_dict``).
            path: The file, named in errors.
            expected: The ``config`` this learner would save.
            build: Builds the bare network, called only if the configs agree.

        Raises:
            WeightsMismatchError: If the file was saved for another config, or
                its weights do not fit the network.
        """
        if state["config"] != expected:
            fields = sorted(expected)
            named = ", ".join(fields[:-1]) + f" and {fields[-1]}" if len(fields) > 1 else fields[0]
            raise WeightsMismatchError(
                f"{path} holds a {state['config']} model but this {self.kind} is {expected}; "
                f"build the {self.kind} with the saved {named}."
            )
        network = build()
        try:
            network.load_state_dict(state["state_dict"])
        except RuntimeError as error:
            raise WeightsMismatchError(
                f"the weights in {path} do not fit this {self.kind} ({error}); save it again "
                "or build it as it was saved."
            ) from error
        return network

    def restore_on(
        self,
        state: dict[str, Any],
        path: Path,
        *,
        expected: dict[str, Any],
        build: Callable[[], NetworkT],
        device: torch.device,
        seed: int,
    ) -> NetworkT:
        """:meth:`restore` as a learner's ``load`` wants it: the network in eval mode on ``device``.

        ``build`` runs under :func:`~labelloop.learners.training.seeded` with
        ``seed``: a bare network draws its initial weights (and a random
        backbone its buffers) from torch's generators, so the same file loads
        the same way twice, and the caller's random state is left as it was.

        Raises:
            WeightsMismatchError: As :meth:`restore`.
        """
        with seeded(seed, device):
            network = self.restore(state, path, expected=expected, build=build)
        return network.to(device).eval()
