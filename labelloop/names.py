"""The names a project's settings accept, readable without importing torch or scikit-learn.

Reading or changing a project's settings validates ``strategy`` and
``learner`` against these. The registries that build the objects
(:mod:`labelloop.strategies`, :mod:`labelloop.learners`) import torch; a test
checks that these tuples equal what the registries build.
"""

from __future__ import annotations

__all__ = [
    "BACKBONE_LEARNERS",
    "CLASSIFICATION_LEARNERS",
    "CLASSIFICATION_STRATEGIES",
    "DETECTION_LEARNERS",
    "DETECTION_STRATEGIES",
]

CLASSIFICATION_LEARNERS: tuple[str, ...] = (
    "cnn",
    "cnn_ensemble",
    "convnext_tiny",
    "efficientnet_b0",
    "logreg",
    "logreg_bagging",
    "resnet18",
    "resnet50",
    "vit_b_16",
)
DETECTION_LEARNERS: tuple[str, ...] = ("fcos_resnet50_fpn", "fcos_tiny")
BACKBONE_LEARNERS: tuple[str, ...] = (
    "convnext_tiny",
    "efficientnet_b0",
    "resnet18",
    "resnet50",
    "vit_b_16",
)
"""Classification learners built on a torchvision backbone (``backbone`` settings)."""
CLASSIFICATION_STRATEGIES: tuple[str, ...] = (
    "badge",
    "bald",
    "cluster_margin",
    "consensus_kl",
    "coreset",
    "density_weighted",
    "entropy",
    "entropy_diverse",
    "least_confidence",
    "least_confidence_diverse",
    "margin",
    "margin_diverse",
    "mean_std",
    "probcover",
    "random",
    "typiclust",
    "variation_ratios",
    "vote_entropy",
)
DETECTION_STRATEGIES: tuple[str, ...] = (
    "coreset",
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
    "random",
)
