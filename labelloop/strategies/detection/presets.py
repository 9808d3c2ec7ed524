"""The detection strategies the registry names, each a class with its name's parameters fixed.

``"margin_sum"`` is :class:`UncertaintyDetection` with ``kind="margin"`` and
``how="sum"``; the name's parameters are positional, so passing them again
(``make_detection_strategy("margin_sum", kind="entropy")``) is refused.
"""

from functools import partial

from labelloop.strategies.detection.strategies import (
    DiverseUncertaintyDetection,
    InstabilityDetection,
    UncertaintyDetection,
)

__all__ = [
    "entropy_max",
    "entropy_mean",
    "entropy_sum",
    "entropy_sum_diverse",
    "instability_max",
    "instability_mean",
    "instability_sum",
    "least_confidence_max",
    "least_confidence_mean",
    "least_confidence_sum",
    "margin_max",
    "margin_mean",
    "margin_sum",
]

entropy_max = partial(UncertaintyDetection, "entropy", "max")
entropy_mean = partial(UncertaintyDetection, "entropy", "mean")
entropy_sum = partial(UncertaintyDetection, "entropy", "sum")
entropy_sum_diverse = partial(DiverseUncertaintyDetection, "entropy", "sum")
instability_max = partial(InstabilityDetection, "max")
instability_mean = partial(InstabilityDetection, "mean")
instability_sum = partial(InstabilityDetection, "sum")
least_confidence_max = partial(UncertaintyDetection, "least_confidence", "max")
least_confidence_mean = partial(UncertaintyDetection, "least_confidence", "mean")
least_confidence_sum = partial(UncertaintyDetection, "least_confidence", "sum")
margin_max = partial(UncertaintyDetection, "margin", "max")
margin_mean = partial(UncertaintyDetection, "margin", "mean")
margin_sum = partial(UncertaintyDetection, "margin", "sum")
