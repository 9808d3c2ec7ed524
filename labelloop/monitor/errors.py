"""The monitor's errors, in one light module the registries can import without numpy.

Each detector module re-exports its own (``from labelloop.monitor.drift import
DriftInputError`` keeps working); every error subclasses
:class:`~labelloop.errors.LabelloopError` and the built-in it stands for.
"""

from labelloop.errors import LabelloopError

__all__ = [
    "ConceptInputError",
    "DriftInputError",
    "DriftNotFittedError",
    "InvalidLabelInputError",
    "InvalidMetadataParameterError",
    "InvalidOutlierInputError",
    "InvalidOutlierParameterError",
    "MetadataColumnError",
    "MetadataError",
    "MetadataNotFittedError",
    "MetadataValueError",
    "OutlierError",
    "OutlierNotFittedError",
    "StoppingInputError",
    "UnknownOutlierDetectorError",
]


class ConceptInputError(LabelloopError, ValueError):
    """An error stream, a parameter or a detector name that a detector cannot use."""


class DriftInputError(LabelloopError, ValueError):
    """An embedding array, a parameter or a test name that a drift test cannot use."""


class DriftNotFittedError(LabelloopError, RuntimeError):
    """``test`` was called before ``fit``."""


class InvalidLabelInputError(LabelloopError, ValueError):
    """Labels, probabilities or fold counts passed to a label-error function are invalid."""


class MetadataError(LabelloopError):
    """Base class of the errors raised by :mod:`labelloop.monitor.metadata`."""


class MetadataValueError(MetadataError, ValueError):
    """A metadata cell holds something that is not a number."""


class MetadataColumnError(MetadataError, ValueError):
    """A table's columns do not match what the cleaner expects, or have unequal lengths."""


class InvalidMetadataParameterError(MetadataError, ValueError):
    """A rule or cleaner parameter is out of range."""


class MetadataNotFittedError(MetadataError, RuntimeError):
    """:meth:`MetadataCleaner.transform` was called before :meth:`MetadataCleaner.fit`."""


class OutlierError(LabelloopError):
    """Base class of the errors raised by :mod:`labelloop.monitor.outliers`."""


class InvalidOutlierInputError(OutlierError, ValueError):
    """Embeddings, masks or scores passed to an outlier function have the wrong shape or values."""


class InvalidOutlierParameterError(OutlierError, ValueError):
    """An outlier detector or policy was given a parameter value it cannot use."""


class UnknownOutlierDetectorError(OutlierError, ValueError):
    """:func:`make_outlier_detector` was given a name it does not know."""


class OutlierNotFittedError(OutlierError, RuntimeError):
    """A detector was asked to score or predict before :meth:`fit`."""


class StoppingInputError(LabelloopError, ValueError):
    """A stopping rule's parameter or a round observation is malformed."""
