"""Every monitor detector by the name settings files, the CLI and the API use.

Each registry maps a name to a ``"module:attribute"`` target that is imported
on first use, so reading the names (settings validation, ``--help``, the
docs) loads neither numpy nor torch. A detector registered here joins the
monitor contract suite (``tests/monitor/test_contract.py``) automatically.

``needs`` says what a detector reads:

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

DRIFT_TESTS: Registry[DriftTest] = Registry("drift test", error=DriftInputError)
"""Two-sample tests of a batch of embeddings against a reference (``monitor.drift_test``)."""

DRIFT_TESTS.add(
    "classifier",
    "labelloop.monitor.drift:ClassifierDriftTest",
    help="can logistic regression tell batch from reference? held-out AUC, Mann-Whitney p",
    needs=("embeddings",),
)
DRIFT_TESTS.add(
    "ks",
    "labelloop.monitor.drift:KSDriftTest",
    help="Kolmogorov-Smirnov per dimension, corrected for multiplicity; cheap",
    needs=("embeddings",),
)
DRIFT_TESTS.add(
    "mmd",
    "labelloop.monitor.drift:MMDDriftTest",
    help="Gaussian-kernel maximum mean discrepancy with a permutation test",
    needs=("embeddings",),
)

CONCEPT_DETECTORS: Registry[ConceptDriftDetector] = Registry(
    "concept drift detector", error=ConceptInputError
)
"""Change detectors on the stream of the model's errors (``monitor.concept_detector``)."""

CONCEPT_DETECTORS.add(
    "adwin",
    "labelloop.monitor.concept:ADWINDetector",
    help="adaptive windowing; no tuning for 0/1 streams",
    needs=("errors",),
)
CONCEPT_DETECTORS.add(
    "ddm",
    "labelloop.monitor.concept:DDMDetector",
    help="drift detection method: error rate above its best level by k deviations",
    needs=("errors",),
)
CONCEPT_DETECTORS.add(
    "page_hinkley",
    "labelloop.monitor.concept:PageHinkleyDetector",
    help="one-sided CUSUM on the error rate",
    needs=("errors",),
)

OUTLIER_DETECTORS: Registry[OutlierDetector] = Registry(
    "outlier detector", error=UnknownOutlierDetectorError
)
"""Detectors scoring images unlike a reference (``monitor.outlier_detector``)."""

OUTLIER_DETECTORS.add(
    "isolation_forest",
    "labelloop.monitor.outliers:IsolationForestOutliers",
    help="points that random axis-aligned splits isolate quickly",
    needs=("embeddings",),
)
OUTLIER_DETECTORS.add(
    "knn",
    "labelloop.monitor.outliers:KNNDistanceOutliers",
    help="mean distance to the nearest reference points",
    needs=("embeddings",),
)

LABEL_ERROR_FINDERS: Registry[ConfidentLearning] = Registry(
    "label-error finder", error=InvalidLabelInputError
)
"""Finders of probably-wrong labels from out-of-sample probabilities."""

LABEL_ERROR_FINDERS.add(
    "confident_learning",
    "labelloop.monitor.label_errors:ConfidentLearning",
    help="cleanlab's confident learning, suspects ranked by label quality",
    needs=("labels", "probs"),
)

SETTING_REGISTRIES: dict[str, Registry[Any]] = {
    "concept_detector": CONCEPT_DETECTORS,
    "drift_test": DRIFT_TESTS,
    "outlier_detector": OUTLIER_DETECTORS,
}
"""Setting of ``MonitorConfig`` -> the registry whose names it takes (the only list of them)."""
