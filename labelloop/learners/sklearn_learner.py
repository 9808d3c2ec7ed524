"""Adapter that turns any scikit-learn classifier into a :class:`Learner`."""

from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import NDArray
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline

from labelloop.learners._checkpoint import Checkpoint
from labelloop.learners._validation import (
    N_CLASSES,
    ImageShape,
    check_fit_data,
    check_fitted,
    check_images,
    check_n_samples,
)
from labelloop.learners.base import Images, Labels
from labelloop.learners.errors import (
    InvalidParameterError,
    NoPredictProbaError,
    WeightsMismatchError,
)
from labelloop.plugins import Configurable, Constraint, Flag, Integer

__all__ = ["SklearnLearner"]

# Version 2 adds the bootstrap clones; version 1 files load without them.
_CHECKPOINT = Checkpoint(
    "SklearnLearner", version=2, hint="load it with the learner that wrote it.", pickled=True
)


def _single_class_estimator(estimator: Any) -> Any:
    """A copy of ``estimator`` that can be fitted on labels of one class.

    Most classifiers refuse one class, so the final classifier is replaced by a
    ``DummyClassifier`` that predicts that class with probability 1; the
    transform steps of a pipeline stay, so :meth:`SklearnLearner.embed` keeps
    its meaning.
    """
    dummy = DummyClassifier(strategy="prior")
    if isinstance(estimator, Pipeline):
        return clone(estimator).set_params(**{estimator.steps[-1][0]: dummy})
    return dummy


def _stratified_bootstrap(labels: NDArray[np.int64], rng: np.random.Generator) -> NDArray[np.intp]:
    """Indices of a bootstrap resample drawn class by class.

    Each class is resampled with replacement to its own count, so every
    resample holds every labeled class, as often as the labeled set does.

    Args:
        labels: Class indices, shape ``(n,)``.
        rng: Source of the draws.

    Returns:
        Indices into ``labels``, shape ``(n,)``, grouped by class.
    """
    parts = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        parts.append(rng.choice(members, size=members.size, replace=True))
    return np.concatenate(parts)


@dataclass(eq=False, repr=False)
class SklearnLearner(Configurable):
    """A scikit-learn classifier with ``predict_proba``, seen as a :class:`Learner`.

    ``fit`` trains a clone of ``estimator``, so the estimator passed in stays
    unfitted. Classes missing from the labeled set get probability 0 in
    :meth:`predict_proba`, which always has ``n_classes`` columns. A labeled set
    of a single class is fitted with a ``DummyClassifier`` that predicts that
    class with probability 1 (inside the pipeline, if ``estimator`` is one).

    With ``bagging=K``, ``fit`` also trains ``K`` clones on bootstrap
    resamples of the labeled set, and :meth:`predict_samples` returns their
    probabilities, for strategies that measure disagreement. The resamples are
    drawn class by class (each class resampled to its own count), so every
    clone sees every labeled class: a tiny labeled set would otherwise leave
    classes out of some resamples, and those clones would disagree only
    because a class was missing. :meth:`predict_proba` stays that of the clone
    fitted on the whole set.

    Args:
        estimator: An unfitted scikit-learn classifier or pipeline that has
            ``predict_proba``.
        n_classes: Number of classes; labels lie in ``[0, n_classes)``.
        flatten: If true, images ``(n, C, H, W)`` are reshaped to
            ``(n, C * H * W)`` before they reach the estimator; if false, the
            estimator (a pipeline, say) receives the 4-D array.
        bagging: Number of bootstrap clones for :meth:`predict_samples`; 0
            fits none, and :meth:`predict_samples` then raises.
        random_state: Seeds the bootstrap resamples.

    Attributes:
        estimator_: The fitted clone of ``estimator``.
        bags_: The clones fitted on bootstrap resamples, ``bagging`` of them.
        classes_: Class indices the fitted estimator knows, shape ``(k,)``,
            ``k <= n_classes``.
        input_shape_: ``(channels, height, width)`` of the images seen in ``fit``.
    """

    constraints: ClassVar[dict[str, Constraint]] = {
        "bagging": Integer(low=0),
        "flatten": Flag(),
        "n_classes": N_CLASSES,
        "random_state": Integer(low=0),
    }
    parameter_error = InvalidParameterError

    estimator: Any
    n_classes: int
    _: KW_ONLY
    flatten: bool = True
    bagging: int = 0
    random_state: int = 0

    estimator_: Any = field(init=False)
    bags_: list[Any] = field(init=False)
    classes_: NDArray[np.int64] = field(init=False)
    input_shape_: ImageShape = field(init=False)

    def fit(
        self, X: Images, y: Labels, X_val: Images | None = None, y_val: Labels | None = None
    ) -> Self:
        """Fit a clone of the estimator on a labeled set.

        Arguments and result as :meth:`~labelloop.learners.base.Learner.fit`;
        ``X_val`` and ``y_val`` are ignored (scikit-learn estimators do not
        stop early here).

        Raises:
            NoPredictProbaError: If the estimator has no ``predict_proba``.
            InvalidInputError: If ``X`` or ``y`` is malformed.
            InvalidParameterError: If a constructor parameter is out of range.
        """
        checked = self.check_params()
        bagging, seed, n_classes = checked["bagging"], checked["random_state"], checked["n_classes"]
        if not hasattr(self.estimator, "predict_proba"):
            raise NoPredictProbaError(
                f"{type(self.estimator).__name__} has no predict_proba, which active "
                "learning needs; wrap a probabilistic classifier, e.g. "
                "SVC(probability=True) or CalibratedClassifierCV(estimator)."
            )
        images, labels = check_fit_data(X, y, n_classes=n_classes)
        features = self._features(images)
        self.estimator_ = self._fitted_clone(features, labels)
        self.classes_ = np.asarray(self.estimator_.classes_, dtype=np.int64)
        rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(bagging)]
        self.bags_ = []
        for rng in rngs:
            rows = _stratified_bootstrap(labels, rng)
            self.bags_.append(self._fitted_clone(features[rows], labels[rows]))
        self.input_shape_ = (images.shape[1], images.shape[2], images.shape[3])
        return self

    def refit(self, X: NDArray[np.floating], y: NDArray[np.integer]) -> Self:
        """Fit again on every label (the validation side included); see :meth:`fit`."""
        return self.fit(X, y)

    def predict_proba(self, X: NDArray[np.floating]) -> NDArray[np.float64]:
        """Class probabilities, with zero columns for classes never seen in ``fit``.

        Arguments and result as :meth:`~labelloop.learners.base.Learner.predict_proba`.

        Raises:
            NotFittedError: If called before :meth:`fit` or :meth:`load`.
            InvalidInputError: If ``X`` differs in shape from the fitted images.
        """
        images = self._check_predict_input(X)
        return self._all_columns(self.estimator_, self._features(images))

    def predict_samples(
        self, X: NDArray[np.floating], n_samples: int | None = None
    ) -> NDArray[np.float64]:
        """Class probabilities of the bootstrap clones, one sample per clone.

        Arguments and result as :meth:`~labelloop.learners.base.SupportsSamples.predict_samples`.

        Raises:
            NotFittedError: If called before :meth:`fit` or :meth:`load`.
            InvalidInputError: If ``X`` differs in shape from the fitted images.
            InvalidParameterError: If the learner has no bootstrap clones, or
                ``n_samples`` is not a positive int.
        """
        images = self._check_predict_input(X)
        count = len(self.bags_)
        if count == 0:
            raise InvalidParameterError(
                "this SklearnLearner was fitted with bagging=0, so it has no bootstrap "
                "clones to sample; build it with bagging=10 (say) and fit it again."
            )
        count = check_n_samples(n_samples, count)
        features = self._features(images)
        return np.stack([self._all_columns(bag, features) for bag in self.bags_[:count]])

    def embed(self, X: NDArray[np.floating]) -> NDArray[np.float32]:
        """Features: the pipeline's transform steps, else the flattened pixels.

        Arguments and result as :meth:`~labelloop.learners.base.Learner.embed`;
        raises as :meth:`predict_proba` does.
        """
        images = self._check_predict_input(X)
        if isinstance(self.estimator_, Pipeline) and len(self.estimator_) > 1:
            features = self.estimator_[:-1].transform(self._features(images))
            if hasattr(features, "toarray"):
                features = features.toarray()
            features = np.asarray(features)
        else:
            features = images
        return np.ascontiguousarray(features.reshape(images.shape[0], -1), dtype=np.float32)

    def save(self, path: Path) -> None:
        """Pickle the fitted estimator and what it needs to predict.

        Arguments as :meth:`~labelloop.learners.base.Learner.save`.

        Raises:
            NotFittedError: If called before :meth:`fit` or :meth:`load`.
        """
        self._check_fitted()
        state = _CHECKPOINT.state(
            n_classes=self.n_classes,
            flatten=self.flatten,
            input_shape=self.input_shape_,
            classes=self.classes_,
            estimator=self.estimator_,
            bags=self.bags_,
        )
        _CHECKPOINT.save(path, state)

    def load(self, path: Path) -> Self:
        """Restore a learner written by :meth:`save`.

        Arguments and result as :meth:`~labelloop.learners.base.Learner.load`.

        The file is unpickled, which can run code: load only files you wrote.

        Raises:
            ModelFileNotFoundError: If ``path`` does not exist.
            ModelFileCorruptError: If the file is not a saved ``SklearnLearner``.
            WeightsMismatchError: If it was saved with another ``n_classes``,
                ``flatten`` or ``bagging``.
        """
        path = Path(path)
        state = _CHECKPOINT.read(path)
        bags = state.get("bags", [])
        saved = {"n_classes": state["n_classes"], "flatten": state["flatten"], "bagging": len(bags)}
        for name, value in saved.items():
            if value != getattr(self, name):
                raise WeightsMismatchError(
                    f"{path} was saved with {name}={value!r} but this learner has "
                    f"{name}={getattr(self, name)!r}; build it with {name}={value!r}."
                )
        channels, height, width = state["input_shape"]
        self.estimator_ = state["estimator"]
        self.bags_ = list(bags)
        self.classes_ = np.asarray(state["classes"], dtype=np.int64)
        self.input_shape_ = (int(channels), int(height), int(width))
        return self

    def _fitted_clone(self, features: NDArray[np.float32], labels: NDArray[np.int64]) -> Any:
        if np.unique(labels).size == 1:
            estimator = _single_class_estimator(self.estimator)
        else:
            estimator = clone(self.estimator)
        return estimator.fit(features, labels)

    def _all_columns(self, estimator: Any, features: NDArray[np.float32]) -> NDArray[np.float64]:
        """``estimator``'s probabilities placed in the columns of its classes."""
        probs = np.zeros((features.shape[0], self.n_classes), dtype=np.float64)
        if features.shape[0]:
            classes = np.asarray(estimator.classes_, dtype=np.int64)
            probs[:, classes] = estimator.predict_proba(features)
            probs /= probs.sum(axis=1, keepdims=True)
        return probs

    def _features(self, images: NDArray[np.float32]) -> NDArray[np.float32]:
        return images.reshape(images.shape[0], -1) if self.flatten else images

    def _check_fitted(self) -> None:
        check_fitted(self, "estimator_")

    def _check_predict_input(self, X: NDArray[np.floating]) -> NDArray[np.float32]:
        self._check_fitted()
        return check_images(X, input_shape=self.input_shape_)
