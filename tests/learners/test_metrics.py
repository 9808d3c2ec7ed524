import json
import math

import numpy as np
import pytest
from sklearn.metrics import f1_score

from labelloop.learners import (
    ClassificationMetrics,
    InvalidInputError,
    InvalidParameterError,
    evaluate,
    expected_calibration_error,
)
from labelloop.stats import wilson_interval

# Four samples, three classes; confidences 0.9 (right), 0.62 (wrong), 0.7 (right), 0.35 (wrong).
PROBS = np.array(
    [
        [0.90, 0.05, 0.05],
        [0.62, 0.28, 0.10],
        [0.20, 0.70, 0.10],
        [0.35, 0.33, 0.32],
    ]
)
LABELS = np.array([0, 1, 1, 2])


def test_accuracy_and_recall_by_hand() -> None:
    metrics = evaluate(PROBS, LABELS, n_classes=3)
    # Predictions 0, 0, 1, 0: right on samples 0 and 2.
    assert metrics.accuracy == pytest.approx(0.5)
    assert metrics.per_class_recall == pytest.approx((1.0, 0.5, 0.0))
    assert metrics.n == 4


def test_macro_f1_matches_sklearn() -> None:
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(5), size=200)
    # Class 4 never occurs in y but may be predicted; sklearn averages over y and predictions.
    y = rng.integers(0, 4, size=200)
    metrics = evaluate(probs, y, n_classes=5)
    expected = f1_score(y, probs.argmax(axis=1), average="macro")
    assert metrics.macro_f1 == pytest.approx(expected)


def test_macro_f1_skips_classes_neither_true_nor_predicted() -> None:
    probs = np.array([[0.9, 0.1, 0.0], [0.1, 0.9, 0.0]])
    metrics = evaluate(probs, np.array([0, 1]), n_classes=3)
    assert metrics.macro_f1 == pytest.approx(1.0)


def test_recall_of_absent_class_is_nan_and_json_safe() -> None:
    metrics = evaluate(PROBS, np.array([0, 0, 1, 1]), n_classes=3)
    assert math.isnan(metrics.per_class_recall[2])
    assert metrics.per_class_recall[:2] == pytest.approx((1.0, 0.5))
    as_dict = metrics.to_dict()
    assert as_dict["per_class_recall"] == [1.0, 0.5, None]
    json.dumps(as_dict, allow_nan=False)


def test_to_dict_keys() -> None:
    metrics = ClassificationMetrics(0.5, 0.4, (1.0, 0.0), 0.1, 2)
    assert metrics.to_dict() == {
        "accuracy": 0.5,
        "accuracy_interval": list(wilson_interval(1, 2)),
        "macro_f1": 0.4,
        "per_class_recall": [1.0, 0.0],
        "ece": 0.1,
        "n": 2,
    }


def test_ece_five_bins_by_hand() -> None:
    # Bins of width 0.2: {0.9} -> |1 - 0.9|, {0.62, 0.7} -> |0.5 - 0.66|, {0.35} -> |0 - 0.35|.
    expected = 0.25 * 0.1 + 0.5 * 0.16 + 0.25 * 0.35
    assert expected_calibration_error(PROBS, LABELS, n_bins=5) == pytest.approx(expected)


def test_ece_default_bins_by_hand() -> None:
    # With 15 bins every confidence lands in its own bin.
    expected = (0.1 + 0.62 + 0.3 + 0.35) / 4
    assert expected_calibration_error(PROBS, LABELS) == pytest.approx(expected)
    assert evaluate(PROBS, LABELS, n_classes=3).ece == pytest.approx(expected)


def test_ece_confidence_on_edge_joins_lower_bin() -> None:
    # Bins are (0, 0.5] and (0.5, 1]: 0.5 (right) shares the first with 0.4 (wrong),
    # giving |0.5 - 0.45|; in the upper bin it would give (0.4 + 0.5) / 2.
    probs = np.array([[0.5, 0.3, 0.2], [0.4, 0.35, 0.25]])
    assert expected_calibration_error(probs, np.array([0, 1]), n_bins=2) == pytest.approx(0.05)


def test_ece_is_zero_when_confident_and_right() -> None:
    probs = np.eye(3)
    assert expected_calibration_error(probs, np.arange(3)) == 0.0


@pytest.mark.parametrize(
    ("probs", "y"),
    [
        (np.ones((2, 2)) / 2, np.array([0, 1])),  # wrong number of columns
        (np.ones(3) / 3, np.array([0])),  # 1-D
        (np.empty((0, 3)), np.empty(0, dtype=np.int64)),  # empty
        (np.full((1, 3), np.nan), np.array([0])),  # NaN
        (np.ones((2, 3)) / 3, np.array([0])),  # length mismatch
        (np.ones((1, 3)) / 3, np.array([3])),  # label out of range
    ],
)
def test_evaluate_rejects_bad_input(probs: np.ndarray, y: np.ndarray) -> None:
    with pytest.raises(InvalidInputError):
        evaluate(probs, y, n_classes=3)


def test_ece_rejects_bad_bins() -> None:
    with pytest.raises(InvalidParameterError, match="n_bins"):
        expected_calibration_error(PROBS, LABELS, n_bins=0)


def test_wilson_interval_is_honest_about_few_images() -> None:
    low, high = wilson_interval(8, 10)  # 0.8 on 10 images
    assert low == pytest.approx(0.490, abs=0.001) and high == pytest.approx(0.943, abs=0.001)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    narrow = wilson_interval(800, 1000)
    assert narrow[1] - narrow[0] < 0.05 and narrow[0] < 0.8 < narrow[1]
