"""Errors raised by :mod:`labelloop.learners`.

Each error subclasses a built-in exception so callers can catch it the usual
way (``except ValueError``), and :class:`~labelloop.errors.LabelloopError` so
they can catch every deliberate labelloop error at once.
"""

from labelloop.errors import LabelloopError

__all__ = [
    "InvalidInputError",
    "InvalidParameterError",
    "LearnerError",
    "ModelFileCorruptError",
    "ModelFileNotFoundError",
    "NoPredictProbaError",
    "NotFittedError",
    "UnknownLearnerError",
    "WeightsMismatchError",
    "WeightsUnavailableError",
]


class LearnerError(LabelloopError):
    """Base class of the errors raised by :mod:`labelloop.learners`."""


class InvalidInputError(LearnerError, ValueError):
    """Images or labels passed to a learner have the wrong shape, type or range."""


class InvalidParameterError(LearnerError, ValueError):
    """A learner was constructed with a parameter value it cannot use."""


class UnknownLearnerError(LearnerError, ValueError):
    """:func:`~labelloop.learners.make_learner` was given a name it does not know."""


class NotFittedError(LearnerError, RuntimeError):
    """A learner was asked to predict, embed or save before :meth:`fit` or :meth:`load`."""


class NoPredictProbaError(LearnerError, TypeError):
    """A scikit-learn estimator without ``predict_proba`` was wrapped as a learner."""


class ModelFileNotFoundError(LearnerError, FileNotFoundError):
    """A saved learner or weights file does not exist at the given path."""


class ModelFileCorruptError(LearnerError, ValueError):
    """A saved learner or weights file exists but cannot be read as one."""


class WeightsMismatchError(LearnerError, ValueError):
    """A weights file or saved learner does not fit the network it is loaded into."""


class WeightsUnavailableError(LearnerError, FileNotFoundError):
    """Pretrained weights are neither in the torch cache nor downloadable here."""
