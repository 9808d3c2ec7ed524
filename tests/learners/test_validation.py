"""The public label check, :func:`labelloop.learners.check_labels`."""

import numpy as np
import pytest

from labelloop.learners import InvalidInputError, check_labels


class _OtherError(ValueError):
    pass


def test_check_labels_returns_int64_and_names_the_learner_fix() -> None:
    labels = check_labels(np.array([0, 2, 1], dtype=np.int32), n_samples=3, n_classes=3)
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, [0, 2, 1])
    with pytest.raises(InvalidInputError, match="build the learner with more classes"):
        check_labels(np.array([0, 3]), n_samples=2, n_classes=3)


def test_check_labels_raises_the_callers_error_with_its_advice() -> None:
    with pytest.raises(_OtherError, match=r"labels must be 0\.\.1\.$") as info:
        check_labels(np.array([0, 2]), n_samples=2, n_classes=2, error=_OtherError, range_fix="")
    assert not isinstance(info.value, InvalidInputError)
    with pytest.raises(_OtherError, match="one label per image"):
        check_labels(np.array([0]), n_samples=2, n_classes=2, error=_OtherError)
