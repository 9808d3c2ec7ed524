"""labelloop.loop.autolabel: a round's confidence histograms, and what a threshold would do."""

from __future__ import annotations

import numpy as np
import pytest

from labelloop.loop.autolabel import CONFIDENCE_BINS, auto_label_estimate, confidence_histogram
from labelloop.stats import wilson_interval


def test_the_pool_histogram_counts_each_items_top_probability_in_its_bin() -> None:
    pool = np.array([[0.95, 0.05], [0.4, 0.6], [0.0, 1.0], [0.505, 0.495]])
    histogram = confidence_histogram(pool, None, None)
    assert set(histogram) == {"pool"}  # no validation: no validation bins
    counts = histogram["pool"]
    assert len(counts) == CONFIDENCE_BINS and sum(counts) == 4
    # 1.0 falls in the last bin, not past it.
    assert {i: c for i, c in enumerate(counts) if c} == {50: 1, 60: 1, 95: 1, 99: 1}


def test_an_empty_pool_gives_empty_bins() -> None:
    histogram = confidence_histogram(np.zeros((0, 3)), None, None)
    assert histogram["pool"] == [0] * CONFIDENCE_BINS


def test_validation_bins_count_all_and_the_correct_predictions() -> None:
    pool = np.array([[0.9, 0.1]])
    val = np.array([[0.92, 0.08], [0.93, 0.07], [0.3, 0.7]])
    labels = np.array([0, 1, 1])
    histogram = confidence_histogram(pool, val, labels)
    total, correct = histogram["val_total"], histogram["val_correct"]
    assert (total[92], total[93], total[70]) == (1, 1, 1) and sum(total) == 3
    # The 0.93 one predicted class 0 for a 1: counted in total, not in correct.
    assert (correct[92], correct[93], correct[70]) == (1, 0, 1) and sum(correct) == 2
    # Validation without any image is left out, as without validation.
    assert set(confidence_histogram(pool, np.zeros((0, 2)), np.zeros(0, np.int64))) == {"pool"}


def test_an_estimate_counts_what_is_at_or_above_the_threshold() -> None:
    pool = np.array([[0.95, 0.05], [0.9, 0.1], [0.6, 0.4], [0.1, 0.9]])
    val = np.array([[0.97, 0.03], [0.91, 0.09], [0.92, 0.08], [0.55, 0.45]])
    labels = np.array([0, 0, 1, 0])
    histogram = confidence_histogram(pool, val, labels)
    estimate = auto_label_estimate(histogram, 0.9)
    assert estimate["pool_count"] == 3  # 0.95, 0.9 and 0.9 (the second class)
    assert estimate["val_n"] == 3
    assert estimate["val_precision"] == pytest.approx(2 / 3)
    assert estimate["val_precision_interval"] == list(wilson_interval(2, 3))
    assert auto_label_estimate(histogram, 0.0)["pool_count"] == 4
    # 1.0 reads the last bin (confidence 0.99 or more), not nothing.
    assert auto_label_estimate(histogram, 1.0)["pool_count"] == 0
    assert (
        auto_label_estimate(confidence_histogram(np.array([[1.0, 0.0]]), None, None), 1.0)[
            "pool_count"
        ]
        == 1
    )


def test_an_estimate_without_validation_has_no_precision() -> None:
    estimate = auto_label_estimate(confidence_histogram(np.array([[0.99, 0.01]]), None, None), 0.5)
    assert estimate == {
        "pool_count": 1,
        "val_n": 0,
        "val_precision": None,
        "val_precision_interval": None,
    }
    # An empty histogram (a round before any model) estimates nothing.
    assert auto_label_estimate({}, 0.5)["pool_count"] == 0
