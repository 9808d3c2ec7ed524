"""Build a learner by name with defaults tuned for small labeled sets."""

from sklearn.linear_model import LogisticRegression

from labelloop.learners._validation import check_input_shape, check_n_classes
from labelloop.learners.base import LEARNER_NAMES, Learner
from labelloop.learners.errors import UnknownLearnerError
from labelloop.learners.sklearn_learner import SklearnLearner
from labelloop.learners.torch_classifier import TorchClassifier

__all__ = ["make_learner"]


def make_learner(
    name: str,
    *,
    n_classes: int,
    input_shape: tuple[int, int, int],
    random_state: int = 0,
    device: str | None = None,
) -> Learner:
    """Build an unfitted learner by name.

    * ``"cnn"``: :class:`TorchClassifier` with a small CNN, 15 epochs.
    * ``"resnet18"``: :class:`TorchClassifier` with a randomly initialised
      ResNet-18, 15 epochs at a lower learning rate.
    * ``"logreg"``: :class:`SklearnLearner` around an L2 logistic regression
      (``C=1``) on flattened pixels.

    Args:
        name: One of :data:`~labelloop.learners.LEARNER_NAMES`.
        n_classes: Number of classes.
        input_shape: ``(channels, height, width)`` of the images.
        random_state: Seed for initialisation and shuffling.
        device: Torch device for ``"cnn"`` and ``"resnet18"`` (``None`` picks
            CUDA when available); ignored by ``"logreg"``.

    Returns:
        The learner.

    Raises:
        UnknownLearnerError: If ``name`` is not a known learner.
        InvalidParameterError: If ``n_classes`` or ``input_shape`` is invalid.
    """
    if name not in LEARNER_NAMES:
        raise UnknownLearnerError(
            f"unknown learner {name!r}; choose one of {', '.join(LEARNER_NAMES)}."
        )
    n_classes = check_n_classes(n_classes)
    input_shape = check_input_shape(input_shape)
    if name == "logreg":
        estimator = LogisticRegression(C=1.0, max_iter=1000, random_state=random_state)
        return SklearnLearner(estimator, n_classes)
    if name == "resnet18":
        return TorchClassifier(
            "resnet18",
            n_classes,
            input_shape,
            epochs=15,
            lr=1e-3,
            random_state=random_state,
            device=device,
        )
    return TorchClassifier("cnn", n_classes, input_shape, random_state=random_state, device=device)
