"""Models that fit on labeled images and score a pool: probabilities and embeddings.

Every learner follows :class:`Learner`; build one by name with
:func:`make_learner`, and score it with :func:`evaluate`.
"""

from labelloop.learners.base import LEARNER_NAMES, Learner, LearnerName
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
    "LEARNER_NAMES",
    "ClassificationMetrics",
    "EpochStats",
    "FeatureClassifier",
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
    "TorchClassifier",
    "UnknownLearnerError",
    "WeightsMismatchError",
    "build_network",
    "evaluate",
    "expected_calibration_error",
    "make_learner",
]
