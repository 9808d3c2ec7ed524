"""Build a learner by name with defaults tuned for small labeled sets."""

from sklearn.linear_model import LogisticRegression

from labelloop.learners._validation import check_input_shape, check_n_classes
from labelloop.learners.base import LEARNER_NAMES, Learner
from labelloop.learners.ensemble import DeepEnsemble
from labelloop.learners.errors import UnknownLearnerError
from labelloop.learners.sklearn_learner import SklearnLearner
from labelloop.learners.torch_classifier import TorchClassifier

__all__ = ["make_learner"]

ENSEMBLE_MEMBERS = 5
"""Members of ``"cnn_ensemble"``."""

BAGGING_CLONES = 10
"""Bootstrap clones of ``"logreg_bagging"``."""


def make_learner(
    name: str,
    *,
    n_classes: int,
    input_shape: tuple[int, int, int],
    random_state: int = 0,
    device: str | None = None,
    calibrate: bool = False,
) -> Learner:
    """Build an unfitted learner by name.

    * ``"cnn"``: :class:`TorchClassifier` with a small CNN, 15 epochs; its
      ``predict_samples`` is Monte Carlo dropout.
    * ``"cnn_ensemble"``: :class:`DeepEnsemble` of :data:`ENSEMBLE_MEMBERS`
      such CNNs, seeded ``random_state``, ``random_state + 1``, ...; fitting
      costs that many times a ``"cnn"`` fit.
    * ``"resnet18"``: :class:`TorchClassifier` with a randomly initialised
      ResNet-18, 15 epochs at a lower learning rate.
    * ``"logreg"``: :class:`SklearnLearner` around an L2 logistic regression
      (``C=1``) on flattened pixels.
    * ``"logreg_bagging"``: ``"logreg"`` plus :data:`BAGGING_CLONES`
      bootstrap clones for ``predict_samples``.

    Args:
        name: One of :data:`~labelloop.learners.LEARNER_NAMES`.
        n_classes: Number of classes.
        input_shape: ``(channels, height, width)`` of the images.
        random_state: Seed for initialisation and shuffling.
        device: Torch device for the networks (``None`` picks CUDA when
            available); ignored by the ``"logreg"`` learners.
        calibrate: Fit a temperature on the validation split after each fit
            (the torch learners; ignored by the ``"logreg"`` learners).

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
    if name in ("logreg", "logreg_bagging"):
        estimator = LogisticRegression(C=1.0, max_iter=1000, random_state=random_state)
        bagging = BAGGING_CLONES if name == "logreg_bagging" else 0
        return SklearnLearner(estimator, n_classes, bagging=bagging, random_state=random_state)
    if name == "resnet18":
        return TorchClassifier(
            "resnet18",
            n_classes,
            input_shape,
            epochs=15,
            lr=1e-3,
            random_state=random_state,
            device=device,
            calibrate=calibrate,
        )
    cnn = TorchClassifier(
        "cnn", n_classes, input_shape, random_state=random_state, device=device, calibrate=calibrate
    )
    if name == "cnn_ensemble":
        return DeepEnsemble(cnn, members=ENSEMBLE_MEMBERS)
    return cnn
