"""Train/validation split that holds per class and never moves an item."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

__all__ = ["Split", "StratifiedSplitter", "assign_splits", "next_split"]

Split = Literal["train", "val"]


def next_split(n_train: int, n_val: int, val_fraction: float) -> Split:
    """The side of a class's next labeled item, given the sides its earlier items got.

    Counting the new item, the class keeps ``round(val_fraction * total)``
    validation items (Python's ``round``, halves to even).

    Args:
        n_train: items of the class already in train.
        n_val: items of the class already in validation.
        val_fraction: share of the class that goes to validation.

    Returns:
        ``"train"`` or ``"val"``.
    """
    return "val" if n_val < round(val_fraction * (n_train + n_val + 1)) else "train"


class StratifiedSplitter:
    """Assigns each newly labeled item to train or validation, stratified by class and stable.

    An item keeps its side forever as the labeled set grows. Within each class,
    an item goes to validation when, counting it, the class's validation count
    is below ``round(val_fraction * class_total)`` (Python's ``round``, halves
    to even); otherwise to train. So after every call each class holds exactly
    ``round(val_fraction * class_total)`` validation items, and the result
    depends only on the sequence of calls.

    Args:
        val_fraction: Share of each class that goes to validation, in [0, 1).

    Raises:
        ValueError: ``val_fraction`` is outside [0, 1).

    Example:
        >>> splitter = StratifiedSplitter(val_fraction=0.5)
        >>> [splitter.assign("cat") for _ in range(4)]
        ['train', 'val', 'val', 'train']
    """

    def __init__(self, val_fraction: float = 0.2) -> None:
        if not (isinstance(val_fraction, int | float) and math.isfinite(val_fraction)) or not (
            0.0 <= val_fraction < 1.0
        ):
            raise ValueError(
                f"val_fraction must be a number in [0, 1), got {val_fraction!r}; "
                "0.2 puts a fifth of each class in validation."
            )
        self.val_fraction = float(val_fraction)
        self._counts: dict[str, dict[Split, int]] = {}

    def _class_counts(self, label: str) -> dict[Split, int]:
        return self._counts.setdefault(label, {"train": 0, "val": 0})

    def assign(self, label: str) -> Split:
        """Decides the side of one newly labeled item and counts it.

        Args:
            label: The item's class.

        Returns:
            ``"train"`` or ``"val"``.
        """
        counts = self._class_counts(label)
        split = next_split(counts["train"], counts["val"], self.val_fraction)
        counts[split] += 1
        return split

    def record(self, label: str, split: Split) -> None:
        """Counts an item whose side is already decided, e.g. one reloaded from the store.

        Replaying stored assignments through :meth:`record` (instead of
        :meth:`assign`) keeps them as they were, even if ``val_fraction``
        changed since; later items then move the class toward the new fraction.

        Args:
            label: The item's class.
            split: The side it was given.

        Raises:
            ValueError: ``split`` is neither ``"train"`` nor ``"val"``.
        """
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}.")
        self._class_counts(label)[split] += 1

    def counts(self) -> dict[str, dict[Split, int]]:
        """Items per class and side so far.

        Returns:
            ``{label: {"train": n_train, "val": n_val}}``, classes in first-seen order;
            a copy the caller may change.
        """
        return {label: dict(counts) for label, counts in self._counts.items()}


def assign_splits(labels: Sequence[str], val_fraction: float = 0.2) -> list[Split]:
    """Splits a sequence of labeled items with a fresh :class:`StratifiedSplitter`.

    Args:
        labels: The class of each item, in labeling order.
        val_fraction: Share of each class that goes to validation, in [0, 1).

    Returns:
        The side of each item, aligned with ``labels``.

    Raises:
        ValueError: ``val_fraction`` is outside [0, 1).
    """
    splitter = StratifiedSplitter(val_fraction)
    return [splitter.assign(label) for label in labels]
