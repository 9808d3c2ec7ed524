"""Object detection: the box types, the FCOS detector, its factory and its metrics.

* :mod:`~labelloop.learners.detection.types`: :class:`BoxTargets` (ground
  truth) and :class:`ImageDetections` (predictions), numpy only.
* :mod:`~labelloop.learners.detection.model`: :class:`TorchDetector`, with its
  network (``_net``) and training loop (``_training``).
* :mod:`~labelloop.learners.detection.factory`: :func:`make_detector` and the
  factories of :data:`~labelloop.learners.registry.DETECTION_LEARNERS`.
* :mod:`~labelloop.learners.detection.metrics`: COCO mean average precision.

The names are imported on first use, so the types cost no torch import.
"""

from typing import TYPE_CHECKING

from labelloop._lazy import lazy_exports

if TYPE_CHECKING:
    from labelloop.learners.detection.factory import DETECTOR_NAMES, make_detector
    from labelloop.learners.detection.metrics import DetectionMetrics, detection_map
    from labelloop.learners.detection.model import DetectionEpochStats, TorchDetector
    from labelloop.learners.detection.types import BoxTargets, ImageDetections, to_box_dicts

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "DETECTOR_NAMES": "labelloop.learners.detection.factory",
        "make_detector": "labelloop.learners.detection.factory",
        "DetectionMetrics": "labelloop.learners.detection.metrics",
        "detection_map": "labelloop.learners.detection.metrics",
        "DetectionEpochStats": "labelloop.learners.detection.model",
        "TorchDetector": "labelloop.learners.detection.model",
        "BoxTargets": "labelloop.learners.detection.types",
        "ImageDetections": "labelloop.learners.detection.types",
        "to_box_dicts": "labelloop.learners.detection.types",
    },
)

__all__ = [
    "DETECTOR_NAMES",
    "BoxTargets",
    "DetectionEpochStats",
    "DetectionMetrics",
    "ImageDetections",
    "TorchDetector",
    "detection_map",
    "make_detector",
    "to_box_dicts",
]
