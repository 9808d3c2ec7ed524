"""Build a learner by name with defaults tuned for small labeled sets."""

from pathlib import Path

from sklearn.linear_model import LogisticRegression

from labelloop.learners._validation import check_input_shape, check_n_classes
from labelloop.learners.backbones import BACKBONE_NAMES
from labelloop.learners.base import LEARNER_NAMES, Learner
from labelloop.learners.embedding import EmbeddingClassifier
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
    weights: str = "none",
    mode: str = "finetune",
    backbone_size: int = 224,
    head: str = "logreg",
    cache_root: Path | None = None,
) -> Learner:
    """Build an unfitted learner by name.

    * ``"cnn"``: :class:`TorchClassifier` with a small CNN, 15 epochs; its
      ``predict_samples`` is Monte Carlo dropout.
    * ``"cnn_ensemble"``: :class:`DeepEnsemble` of :data:`ENSEMBLE_MEMBERS`
      such CNNs, seeded ``random_state``, ``random_state + 1``, ...; fitting
      costs that many times a ``"cnn"`` fit.
    * ``"resnet18"``: :class:`TorchClassifier` with a randomly initialised
      ResNet-18, 15 epochs at a lower learning rate.
    * ``"resnet50"``, ``"efficientnet_b0"``, ``"convnext_tiny"``,
      ``"vit_b_16"`` (and ``"resnet18"`` with ``weights``): torchvision
      backbones (:mod:`~labelloop.learners.backbones`). ``mode="finetune"``
      trains the whole network (:class:`TorchClassifier`, warm-started
      across rounds, lower learning rate when pretrained);
      ``mode="embed"`` freezes it and trains a ``head`` on cached embeddings
      (:class:`~labelloop.learners.embedding.EmbeddingClassifier`).
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
        weights: A backbone's weights: ``"none"``, ``"imagenet"`` or a file.
        mode: ``"finetune"`` or ``"embed"`` (backbones only).
        backbone_size: The side a backbone sees.
        head: ``"logreg"`` or ``"mlp"``, the head of ``embed`` mode.
        cache_root: Where ``embed`` mode keeps its embedding caches.

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
    if mode not in ("finetune", "embed"):
        raise UnknownLearnerError(f"unknown training mode {mode!r}; use finetune or embed.")
    if name in BACKBONE_NAMES and mode == "embed":
        return EmbeddingClassifier(
            name,
            n_classes,
            input_shape,
            weights=weights,
            input_size=backbone_size,
            head=head,
            cache_root=cache_root,
            random_state=random_state,
            device=device,
        )
    if name in BACKBONE_NAMES and (name != "resnet18" or weights != "none"):
        return TorchClassifier(
            name,  # type: ignore[arg-type]
            n_classes,
            input_shape,
            epochs=15,
            lr=3e-4 if weights != "none" else 1e-3,
            random_state=random_state,
            device=device,
            calibrate=calibrate,
            backbone_weights=weights,
            backbone_size=backbone_size,
            augment="shift_flip",
        )
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
