"""The :class:`Learner` protocol every labelloop model follows.

A learner is fitted on a labeled set of images and then scores any number of
images: class probabilities for uncertainty strategies, and feature vectors for
diversity strategies. Images are ``float32`` arrays of shape
``(n_samples, channels, height, width)`` with values in ``[0, 1]``; labels are
``int64`` class indices in ``[0, n_classes)``.

Learners that can express their own uncertainty also follow
:class:`SupportsSamples`: several plausible probability vectors per image (Monte
Carlo dropout passes, ensemble members, bootstrap clones), whose disagreement
strategies such as BALD measure.
"""

from pathlib import Path
from typing import Protocol, Self, runtime_checkable

import numpy as np
from numpy.typing import NDArray

__all__ = ["Images", "Labels", "Learner", "SupportsSamples"]

Images = NDArray[np.floating]
"""A batch of images, shape ``(n_samples, channels, height, width)``."""

Labels = NDArray[np.integer]
"""Class indices, shape ``(n_samples,)``."""


@runtime_checkable
class Learner(Protocol):
    """A classifier that the active-learning loop fits, scores with and stores.

    Attributes:
        n_classes: Number of classes. :meth:`predict_proba` always returns this
            many columns, also when some classes are absent from the labeled set.
    """

    n_classes: int

    def fit(
        self, X: Images, y: Labels, X_val: Images | None = None, y_val: Labels | None = None
    ) -> Self:
        """Fit the learner on a labeled set.

        Args:
            X: Images, shape ``(n_samples, channels, height, width)``.
            y: Class indices, shape ``(n_samples,)``.
            X_val: Validation images for early stopping, shape
                ``(n_val, channels, height, width)``; learners without early
                stopping ignore it.
            y_val: Validation class indices, shape ``(n_val,)``.

        Returns:
            The fitted learner itself.
        """
        ...

    def predict_proba(self, X: NDArray[np.floating]) -> NDArray[np.float64]:
        """Class probabilities.

        Args:
            X: Images, shape ``(n_samples, channels, height, width)``.

        Returns:
            Probabilities, shape ``(n_samples, n_classes)``; each row sums to 1.
        """
        ...

    def embed(self, X: NDArray[np.floating]) -> NDArray[np.float32]:
        """Feature vectors, for diversity-based selection.

        Args:
            X: Images, shape ``(n_samples, channels, height, width)``.

        Returns:
            Features, shape ``(n_samples, n_features)``.
        """
        ...

    def save(self, path: Path) -> None:
        """Write the fitted learner to ``path``.

        Args:
            path: File to write; it is replaced if it exists.
        """
        ...

    def load(self, path: Path) -> Self:
        """Restore a learner that :meth:`save` wrote.

        Args:
            path: File written by :meth:`save`.

        Returns:
            The learner itself, fitted, predicting as the saved one did.
        """
        ...


@runtime_checkable
class SupportsSamples(Protocol):
    """A learner that gives several probability samples per image.

    The samples stand for the model's uncertainty about its own parameters:
    stochastic passes (:class:`~labelloop.learners.TorchClassifier`, Monte
    Carlo dropout), members (:class:`~labelloop.learners.DeepEnsemble`) or
    bootstrap clones (:class:`~labelloop.learners.SklearnLearner` with
    ``bagging``). ``isinstance`` checks only that the method exists: a
    ``SklearnLearner`` built without ``bagging`` has it but raises
    :class:`~labelloop.learners.InvalidParameterError` when called.
    """

    def predict_samples(self, X: NDArray[np.floating], n_samples: int) -> NDArray[np.float64]:
        """Probabilities of several plausible models.

        Args:
            X: Images, shape ``(n, channels, height, width)``.
            n_samples: Samples wanted. Stochastic learners (MC dropout) draw
                exactly this many; learners with a fixed set (ensemble
                members, bootstrap clones) return at most the set.

        Returns:
            Probabilities, shape ``(k, n, n_classes)``: ``k = n_samples``, or
            ``min(n_samples, set size)`` for a fixed set; rows sum to 1.
        """
        ...
