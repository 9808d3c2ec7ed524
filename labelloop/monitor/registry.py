"""Every monitor detector by the name settings files, the CLI and the API use.

Each registry maps a name to a ``"module:attribute"`` target that is imported
on first use, so reading the names (settings validation, ``--help``, the
docs) loads neither numpy nor torch. A detector registered here joins the
monitor contract suite (``tests/monitor/test_contract.py``) automatically.

Each kind's detectors live in one module and read the same inputs, so a
registry names its module and ``needs`` once, and each detector is one entry:
its name, its class in that module, and one line of help. ``needs`` says
what a detector reads:

* ``"embeddings"``: an ``(n, d)`` array of image embeddings (drift tests,
  outlier detectors);
* ``"errors"``: the 0/1 stream of the model's mistakes on people's labels
  (concept drift detectors);
* ``"labels"`` and ``"probs"``: given labels and out-of-sample class
  probabilities (label-error finders).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labelloop.monitor.errors import (
    ConceptInputError,
    DriftInputError,
    InvalidLabelInputError,
    UnknownOutlierDetectorError,
)
from labelloop.plugins import Registry

if TYPE_CHECKING:
    from labelloop.monitor.concept import ConceptDriftDetector
    from labelloop.monitor.drift import DriftTest
    from labelloop.monitor.label_errors import ConfidentLearning
    from labelloop.monitor.outliers import OutlierDetector

__all__ = [
    "CONCEPT_DETECTORS",
    "DRIFT_TESTS",
    "LABEL_ERROR_FINDERS",
    "OUTLIER_DETECTORS",
    "SETTING_REGISTRIES",
]


def _registry(
    kind: str,
    error: type[Exception],
    module: str,
    needs: tuple[str, ...],
    entries: dict[str, tuple[str, str]],
) -> Registry[Any]:
    """A registry of ``name -> (class in module, help)``, every entry needing ``needs``."""
    registry: Registry[Any] = Registry(kind, error=error)
    for name, (attribute, help) in entries.items():
        registry.add(name, f"{module}:{attribute}", help=help, needs=needs)
    return registry


DRIFT_TESTS: Registry[DriftTest] = _registry(
    "drift test",
    DriftInputError,
    "labelloop.monitor.drift",
    ("embeddings",),
    {
        "classifier": (
            "ClassifierDriftTest",
            "can logistic regression tell batch from reference? held-out AUC, Mann-Whitney p",
        ),
        "ks": (
            "KSDriftTest",
            "Kolmogorov-Smirnov per dimension, corrected for multiplicity; cheap",
        ),
        "mmd": ("MMDDriftTest", "Gaussian-kernel maximum mean discrepancy with a permutation test"),
    },
)
"""Two-sample tests of a batch of embeddings against a reference (``monitor.drift_test``)."""

CONCEPT_DETECTORS: Registry[ConceptDriftDetector] = _registry(
    "concept drift detector",
    ConceptInputError,
    "labelloop.monitor.concept",
    ("errors",),
    {
        "adwin": ("ADWINDetector", "adaptive windowing; no tuning for 0/1 streams"),
        "ddm": (
            "DDMDetector",
            "drift detection method: error rate above its best level by k deviations",
        ),
        "page_hinkley": ("PageHinkleyDetector", "one-sided CUSUM on the error rate"),
    },
)
"""Change detectors on the stream of the model's errors (``monitor.concept_detector``)."""

OUTLIER_DETECTORS: Registry[OutlierDetector] = _registry(
    "outlier detector",
    UnknownOutlierDetectorError,
    "labelloop.monitor.outliers",
    ("embeddings",),
    {
        "isolation_forest": (
            "IsolationForestOutliers",
            "points that random axis-aligned splits isolate quickly",
        ),
        "knn": ("KNNDistanceOutliers", "mean distance to the nearest reference points"),
    },
)
"""Detectors scoring images unlike a reference (``monitor.outlier_detector``)."""

LABEL_ERROR_FINDERS: Registry[ConfidentLearning] = _registry(
    "label-error finder",
    InvalidLabelInputError,
    "labelloop.monitor.label_errors",
    ("labels", "probs"),
    {
        "confident_learning": (
            "ConfidentLearning",
            "cleanlab's confident learning, suspects ranked by label quality",
        ),
    },
)
"""Finders of probably-wrong labels from out-of-sample probabilities."""

SETTING_REGISTRIES: dict[str, Registry[Any]] = {
    "concept_detector": CONCEPT_DETECTORS,
    "drift_test": DRIFT_TESTS,
    "outlier_detector": OUTLIER_DETECTORS,
}
"""Setting of ``MonitorConfig`` -> the registry whose names it takes (the only list of them)."""
