"""Reading and writing learner files, with errors that name the path."""

import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from labelloop.learners.errors import ModelFileCorruptError, ModelFileNotFoundError


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write a file next to ``path``, then move it into place in one step.

    A crash mid-write leaves the old file intact instead of a truncated one.

    Args:
        path: The file to create or replace.
        write: Writes the content to the path it is given.
    """
    partial = path.with_name(path.name + ".partial")
    write(partial)
    os.replace(partial, path)


def read_file(path: Path, *, what: str, missing_hint: str, use_torch: bool) -> Any:
    """Load a file with ``torch.load`` (tensors only) or ``pickle``.

    Args:
        path: The file.
        what: What the file should hold, for messages ("torch weights").
        missing_hint: What to do when the file is absent.
        use_torch: Read with ``torch.load(weights_only=True)`` onto the CPU
            if true, else unpickle.

    Returns:
        The loaded object.

    Raises:
        ModelFileNotFoundError: If ``path`` does not exist.
        ModelFileCorruptError: If the file cannot be read.
    """
    if not path.is_file():
        raise ModelFileNotFoundError(f"no {what} at {path}; {missing_hint}")
    try:
        if use_torch:
            return torch.load(path, map_location="cpu", weights_only=True)
        with path.open("rb") as file:
            return pickle.load(file)
    except Exception as error:
        raise ModelFileCorruptError(
            f"cannot read {path} as {what} ({error}); the file is damaged or was "
            "written by something else."
        ) from error
