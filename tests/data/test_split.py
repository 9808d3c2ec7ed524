"""Tests of labelloop.data.split: stratified, stable train/validation split."""

from __future__ import annotations

import math

import pytest

from labelloop.data.split import StratifiedSplitter, assign_splits, next_split


def test_hand_computed_sequence() -> None:
    labels = ["cat", "dog", "cat", "cat", "dog", "cat", "cat", "dog", "dog"]

    # val_fraction 0.5, per class k-th item: round(0.5 * k) = 0, 1, 2, 2, 2, 3 (halves to even)
    # cat: k=1 train, 2 val, 3 val, 4 train, 5 train; dog: k=1 train, 2 val, 3 val, 4 train.
    splits = assign_splits(labels, val_fraction=0.5)

    assert splits == ["train", "train", "val", "val", "val", "train", "train", "val", "train"]


def test_default_fraction_sequence() -> None:
    # round(0.2 * k) first reaches 1 at k=3 and 2 at k=8.
    expected = ["train"] * 2 + ["val"] + ["train"] * 4 + ["val"] + ["train"] * 2

    assert assign_splits(["a"] * 10) == expected


@pytest.mark.parametrize("val_fraction", [0.2, 0.25, 0.3, 1 / 3, 0.5, 0.9])
def test_each_class_holds_round_of_its_fraction_at_every_count(val_fraction: float) -> None:
    splitter = StratifiedSplitter(val_fraction)
    labels = ["a", "b", "a", "c", "a", "b"] * 20

    for label in labels:
        splitter.assign(label)
        counts = splitter.counts()[label]
        total = counts["train"] + counts["val"]
        assert counts["val"] == round(val_fraction * total)


def test_fraction_exact_where_round_says() -> None:
    splitter = StratifiedSplitter(0.2)
    for _ in range(50):
        splitter.assign("cat")
        splitter.assign("dog")

    assert splitter.counts() == {"cat": {"train": 40, "val": 10}, "dog": {"train": 40, "val": 10}}


def test_prefix_assignment_is_stable() -> None:
    labels = [("a", "b", "c")[(i * 7) % 3 if i % 4 else 0] for i in range(60)]
    full = assign_splits(labels, 0.3)

    for end in range(len(labels)):
        assert assign_splits(labels[:end], 0.3) == full[:end]


def test_zero_fraction_puts_everything_in_train() -> None:
    assert assign_splits(["a", "b"] * 5, 0.0) == ["train"] * 10


def test_counts_is_a_copy() -> None:
    splitter = StratifiedSplitter(0.5)
    splitter.assign("a")

    splitter.counts()["a"]["val"] = 99

    assert splitter.counts() == {"a": {"train": 1, "val": 0}}


def test_record_restores_stored_sides() -> None:
    splitter = StratifiedSplitter(0.5)
    for _ in range(3):
        splitter.record("a", "train")

    # With 3 stored in train, totals 4..7 want round(k/2) = 2, 2, 3, 4 in val: val lags
    # behind each time, so all four go to val; at 8, round(4.0) = 4 is already met.
    assert [splitter.assign("a") for _ in range(5)] == ["val", "val", "val", "val", "train"]
    assert splitter.counts() == {"a": {"train": 4, "val": 4}}
    with pytest.raises(ValueError, match="'train' or 'val'"):
        splitter.record("a", "test")  # type: ignore[arg-type]


@pytest.mark.parametrize("val_fraction", [-0.1, 1.0, 1.5, math.nan, math.inf])
def test_invalid_fraction_is_refused(val_fraction: float) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        StratifiedSplitter(val_fraction)


def test_next_split_keeps_the_rounded_share() -> None:
    assert next_split(0, 0, 0.2) == "train"  # round(0.2) = 0
    assert next_split(2, 0, 0.2) == "val"  # round(0.6) = 1
    assert next_split(2, 1, 0.2) == "train"  # round(0.8) = 1
    assert next_split(3, 1, 0.5) == "val"  # round(2.5) = 2 (halves to even)
    assert next_split(4, 1, 0.5) == "val"  # round(3.0) = 3
