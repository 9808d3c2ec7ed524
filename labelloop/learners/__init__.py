"""Models that fit on labeled images and score a pool: probabilities and embeddings.

Every learner follows :class:`Learner`; build one by name with
:func:`make_learner` (the names live in
:data:`~labelloop.learners.registry.LEARNERS`), and score it with
:func:`evaluate`. Those that can say how unsure they are follow
:class:`SupportsSamples` too; :class:`TemperatureScaler` recalibrates
probabilities on a validation split. Detectors live in
:mod:`labelloop.learners.detection`.

The names are imported on first use: reading :data:`LEARNER_NAMES` costs no
torch import.
"""

from typing import TYPE_CHECKING

from labelloop._lazy import lazy_exports

if TYPE_CHECKING:
    from labelloop.learners._validation import check_labels
    from labelloop.learners.base import Learner, SupportsSamples
    from labelloop.learners.calibration import InputKind, TemperatureScaler
    from labelloop.learners.detection import (
        DETECTOR_NAMES,
        BoxTargets,
        DetectionMetrics,
        ImageDetections,
        TorchDetector,
        detection_map,
        make_detector,
        to_box_dicts,
    )
    from labelloop.learners.ensemble import DeepEnsemble
    from labelloop.learners.errors import (
        InvalidInputError,
        InvalidParameterError,
        LearnerError,
        ModelFileCorruptError,
        ModelFileNotFoundError,
        NoPredictProbaError,
        NotFittedError,
        UnknownLearnerError,
        WeightsMismatchError,
    )
    from labelloop.learners.factory import make_learner
    from labelloop.learners.mc_dropout import mc_dropout_logits
    from labelloop.learners.metrics import (
        ClassificationMetrics,
        evaluate,
        expected_calibration_error,
    )
    from labelloop.learners.networks import (
        FeatureClassifier,
        NetworkName,
        ResNet18Classifier,
        SmallCNN,
        build_network,
    )
    from labelloop.learners.registry import DETECTION_LEARNERS, LEARNER_NAMES, LEARNERS
    from labelloop.learners.sklearn_learner import SklearnLearner
    from labelloop.learners.torch_classifier import TorchClassifier
    from labelloop.learners.training import EpochStats

_DETECTION = "labelloop.learners.detection"
_ERRORS = "labelloop.learners.errors"
_METRICS = "labelloop.learners.metrics"
_NETWORKS = "labelloop.learners.networks"
_REGISTRY = "labelloop.learners.registry"

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "check_labels": "labelloop.learners._validation",
        "Learner": "labelloop.learners.base",
        "SupportsSamples": "labelloop.learners.base",
        "InputKind": "labelloop.learners.calibration",
        "TemperatureScaler": "labelloop.learners.calibration",
        "DETECTOR_NAMES": _DETECTION,
        "BoxTargets": _DETECTION,
        "DetectionMetrics": _DETECTION,
        "ImageDetections": _DETECTION,
        "TorchDetector": _DETECTION,
        "detection_map": _DETECTION,
        "make_detector": _DETECTION,
        "to_box_dicts": _DETECTION,
        "DeepEnsemble": "labelloop.learners.ensemble",
        "InvalidInputError": _ERRORS,
        "InvalidParameterError": _ERRORS,
        "LearnerError": _ERRORS,
        "ModelFileCorruptError": _ERRORS,
        "ModelFileNotFoundError": _ERRORS,
        "NoPredictProbaError": _ERRORS,
        "NotFittedError": _ERRORS,
        "UnknownLearnerError": _ERRORS,
        "WeightsMismatchError": _ERRORS,
        "make_learner": "labelloop.learners.factory",
        "mc_dropout_logits": "labelloop.learners.mc_dropout",
        "ClassificationMetrics": _METRICS,
        "evaluate": _METRICS,
        "expected_calibration_error": _METRICS,
        "FeatureClassifier": _NETWORKS,
        "NetworkName": _NETWORKS,
        "ResNet18Classifier": _NETWORKS,
        "SmallCNN": _NETWORKS,
        "build_network": _NETWORKS,
        "DETECTION_LEARNERS": _REGISTRY,
        "LEARNERS": _REGISTRY,
        "LEARNER_NAMES": _REGISTRY,
        "SklearnLearner": "labelloop.learners.sklearn_learner",
        "TorchClassifier": "labelloop.learners.torch_classifier",
        "EpochStats": "labelloop.learners.training",
    },
)

__all__ = [
    "DETECTION_LEARNERS",
    "DETECTOR_NAMES",
    "LEARNERS",
    "LEARNER_NAMES",
    "BoxTargets",
    "ClassificationMetrics",
    "DeepEnsemble",
    "DetectionMetrics",
    "EpochStats",
    "FeatureClassifier",
    "ImageDetections",
    "InputKind",
    "InvalidInputError",
    "InvalidParameterError",
    "Learner",
    "LearnerError",
    "ModelFileCorruptError",
    "ModelFileNotFoundError",
    "NetworkName",
    "NoPredictProbaError",
    "NotFittedError",
    "ResNet18Classifier",
    "SklearnLearner",
    "SmallCNN",
    "SupportsSamples",
    "TemperatureScaler",
    "TorchClassifier",
    "TorchDetector",
    "UnknownLearnerError",
    "WeightsMismatchError",
    "build_network",
    "check_labels",
    "detection_map",
    "evaluate",
    "expected_calibration_error",
    "make_detector",
    "make_learner",
    "mc_dropout_logits",
    "to_box_dicts",
]
