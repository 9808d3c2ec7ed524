"""Active learning for object detection: per-object uncertainty, aggregated per image.

* :mod:`~labelloop.strategies.detection.pool`: :class:`DetectionPool`, the
  detector's outputs on ``n`` images, checked.
* :mod:`~labelloop.strategies.detection.scores`: per-box uncertainty and its
  aggregation per image (:func:`box_uncertainty`, :func:`aggregate`, ...).
* :mod:`~labelloop.strategies.detection.strategies`: the strategy classes, on
  the shared :class:`~labelloop.strategies.base.PoolStrategy`.
* :mod:`~labelloop.strategies.detection.presets`: the registered names that
  fix a class's parameters (``"margin_sum"``); the registry lines live in
  :mod:`labelloop.strategies.registry`.
"""

from labelloop.strategies.detection.pool import DetectionPool
from labelloop.strategies.detection.scores import (
    DEFAULT_MIN_SCORE,
    Aggregation,
    BoxUncertainty,
    EmptyPolicy,
    aggregate,
    box_uncertainty,
    image_confidence,
    image_instability,
    image_uncertainty,
    least_certain_box,
)
from labelloop.strategies.detection.strategies import (
    CoreSetDetection,
    DetectionStrategy,
    DiverseUncertaintyDetection,
    InstabilityDetection,
    RandomDetection,
    UncertaintyDetection,
)
from labelloop.strategies.registry import (
    DETECTION_STRATEGIES,
    DETECTION_STRATEGY_NAMES,
    make_detection_strategy,
)

__all__ = [
    "DEFAULT_MIN_SCORE",
    "DETECTION_STRATEGIES",
    "DETECTION_STRATEGY_NAMES",
    "Aggregation",
    "BoxUncertainty",
    "CoreSetDetection",
    "DetectionPool",
    "DetectionStrategy",
    "DiverseUncertaintyDetection",
    "EmptyPolicy",
    "InstabilityDetection",
    "RandomDetection",
    "UncertaintyDetection",
    "aggregate",
    "box_uncertainty",
    "image_confidence",
    "image_instability",
    "image_uncertainty",
    "least_certain_box",
    "make_detection_strategy",
]
