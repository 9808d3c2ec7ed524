"""Models that fit on labeled images and score a pool: probabilities and embeddings.

Every learner follows :class:`Learner`; build one by name with
:func:`make_learner`, and score it with :func:`evaluate`. Those that can say how
unsure they are follow :class:`SupportsSamples` too; :class:`TemperatureScaler`
recalibrates probabilities on a validation split.
"""

from labelloop.learners.base import LEARNER_NAMES, Learner, LearnerName, SupportsSamples
from labelloop.learners.calibration import InputKind, TemperatureScaler
from labelloop.learners.detection_metrics import DetectionMetrics, detection_map
from labelloop.learners.detector import (
    DETECTOR_NAMES,
    BoxTargets,
    ImageDetections,
    TorchDetector,
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
from labelloop.learners.sklearn_learner import SklearnLearner
from labelloop.learners.torch_classifier import TorchClassifier
from labelloop.learners.training import EpochStats

__all__ = [
    "DETECTOR_NAMES",
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
    "LearnerName",
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
    "detection_map",
    "evaluate",
    "expected_calibration_error",
    "make_detector",
    "make_learner",
    "mc_dropout_logits",
    "to_box_dicts",
]
