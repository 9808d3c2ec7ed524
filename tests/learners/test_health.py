import numpy as np

from labelloop.learners.health import prediction_collapse


def test_one_class_predicted_for_a_balanced_set_is_a_collapse() -> None:
    labels = np.repeat(np.arange(10), 2)
    found = prediction_collapse(np.full(500, 7), labels, 10)
    assert found.collapsed
    assert (found.predicted_classes, found.dominant_class) == (1, 7)
    assert found.dominant_share == 1.0 and found.expected_share == 0.1


def test_spread_predictions_are_not_a_collapse() -> None:
    labels = np.repeat(np.arange(10), 2)
    predicted = np.r_[np.full(880, 7), np.arange(120) % 10]  # 7 takes 89%
    assert not prediction_collapse(predicted, labels, 10).collapsed
    assert prediction_collapse(np.r_[predicted, np.full(300, 7)], labels, 10).collapsed


def test_a_class_that_dominates_the_labels_may_dominate_predictions() -> None:
    labels = np.r_[np.zeros(60), np.ones(40)].astype(np.int64)
    assert not prediction_collapse(np.zeros(100, dtype=np.int64), labels, 2).collapsed
    assert not prediction_collapse(
        np.zeros(100, dtype=np.int64), np.zeros(5, np.int64), 2
    ).collapsed
    assert not prediction_collapse(np.zeros(0, dtype=np.int64), labels, 2).collapsed
