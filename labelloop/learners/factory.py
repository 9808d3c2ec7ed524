"""Build a learner by name with defaults tuned for small labeled sets.

:func:`make_learner` looks the name up in
:data:`~labelloop.learners.registry.LEARNERS`; the small factories below are
the registry's targets, one per kind of learner, each taking a
:class:`LearnerSpec`.
"""

from dataclasses import dataclass
from pathlib import Path

from sklearn.linear_model import LogisticRegression

from labelloop.learners._validation import ImageShape, check_input_shape, check_n_classes
from labelloop.learners.backbones import is_torchvision_backbone
from labelloop.learners.base import Learner
from labelloop.learners.embedding import EmbeddingClassifier
from labelloop.learners.ensemble import DeepEnsemble
from labelloop.learners.errors import UnknownLearnerError
from labelloop.learners.registry import LEARNERS
from labelloop.learners.sklearn_learner import SklearnLearner
from labelloop.learners.torch_classifier import TorchClassifier

__all__ = [
    "BAGGING_CLONES",
    "ENSEMBLE_MEMBERS",
    "LearnerSpec",
    "backbone",
    "cnn",
    "cnn_ensemble",
    "logreg",
    "logreg_bagging",
    "make_learner",
]

ENSEMBLE_MEMBERS = 5
"""Members of ``"cnn_ensemble"``."""

BAGGING_CLONES = 10
"""Bootstrap clones of ``"logreg_bagging"``."""

_MODES = ("finetune", "embed")


@dataclass(frozen=True)
class LearnerSpec:
    """What :func:`make_learner` was asked for; each factory reads what it uses.

    Attributes mirror :func:`make_learner`'s arguments; ``n_classes`` and
    ``input_shape`` are already checked.
    """

    name: str
    n_classes: int
    input_shape: ImageShape
    random_state: int = 0
    device: str | None = None
    calibrate: bool = False
    weights: str = "none"
    mode: str = "finetune"
    backbone_size: int = 224
    head: str = "logreg"
    cache_root: Path | None = None
    model: str | None = None


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
    model: str | None = None,
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
        head: ``"logreg"``, ``"mlp"`` or ``"mlp_dropout"``, the head of ``embed`` mode.
        cache_root: Where ``embed`` mode keeps its embedding caches.
        model: The network of ``"timm"`` and ``"open_clip"`` (their default when None).

    Returns:
        The learner.

    Raises:
        UnknownLearnerError: If ``name`` is not a known learner, or ``mode``
            is not a training mode (the torch learners).
        InvalidParameterError: If ``n_classes`` or ``input_shape`` is invalid.
    """
    factory = LEARNERS.load(name)
    spec = LearnerSpec(
        name,
        check_n_classes(n_classes),
        check_input_shape(input_shape),
        random_state=random_state,
        device=device,
        calibrate=calibrate,
        weights=weights,
        mode=mode,
        backbone_size=backbone_size,
        head=head,
        cache_root=cache_root,
        model=model,
    )
    learner: Learner = factory(spec)
    return learner


def _check_mode(spec: LearnerSpec) -> None:
    if spec.mode not in _MODES:
        raise UnknownLearnerError(f"unknown training mode {spec.mode!r}; use finetune or embed.")


def _logistic_regression(spec: LearnerSpec, bagging: int) -> SklearnLearner:
    estimator = LogisticRegression(C=1.0, max_iter=1000, random_state=spec.random_state)
    return SklearnLearner(
        estimator, spec.n_classes, bagging=bagging, random_state=spec.random_state
    )


def logreg(spec: LearnerSpec) -> SklearnLearner:
    """An L2 logistic regression (``C=1``) on the flattened pixels."""
    return _logistic_regression(spec, bagging=0)


def logreg_bagging(spec: LearnerSpec) -> SklearnLearner:
    """:func:`logreg` with :data:`BAGGING_CLONES` bootstrap clones for samples."""
    return _logistic_regression(spec, bagging=BAGGING_CLONES)


def cnn(spec: LearnerSpec) -> TorchClassifier:
    """The small CNN, trained from scratch."""
    _check_mode(spec)
    return TorchClassifier(
        "cnn",
        spec.n_classes,
        spec.input_shape,
        random_state=spec.random_state,
        device=spec.device,
        calibrate=spec.calibrate,
    )


def cnn_ensemble(spec: LearnerSpec) -> DeepEnsemble:
    """:data:`ENSEMBLE_MEMBERS` small CNNs, member ``i`` seeded ``random_state + i``."""
    return DeepEnsemble(cnn(spec), members=ENSEMBLE_MEMBERS)


def backbone(spec: LearnerSpec) -> TorchClassifier | EmbeddingClassifier:
    """A torchvision backbone, fine-tuned or frozen under a head (``spec.mode``).

    ``"resnet18"`` without ``weights`` in ``finetune`` mode is the small-image
    ResNet-18 of :func:`~labelloop.learners.networks.build_network`.
    """
    _check_mode(spec)
    if spec.mode == "embed":
        return EmbeddingClassifier(
            spec.name,
            spec.n_classes,
            spec.input_shape,
            weights=spec.weights,
            input_size=spec.backbone_size,
            head=spec.head,
            cache_root=spec.cache_root,
            random_state=spec.random_state,
            device=spec.device,
        )
    if not is_torchvision_backbone(spec.name, spec.weights):
        return TorchClassifier(
            "resnet18",
            spec.n_classes,
            spec.input_shape,
            epochs=15,
            lr=1e-3,
            random_state=spec.random_state,
            device=spec.device,
            calibrate=spec.calibrate,
        )
    return TorchClassifier(
        spec.name,  # type: ignore[arg-type]
        spec.n_classes,
        spec.input_shape,
        epochs=15,
        lr=3e-4 if spec.weights != "none" else 1e-3,
        random_state=spec.random_state,
        device=spec.device,
        calibrate=spec.calibrate,
        backbone_weights=spec.weights,
        backbone_size=spec.backbone_size,
        augment="shift_flip",
    )
