"""Query strategies: pure selection over arrays, indices (and their scores) out.

Build one by name with :func:`make_strategy`, wrap the model's outputs in a
:class:`Pool`, and call ``strategy.select_scored(pool, batch_size)`` (or
``select`` for the indices alone). Detection strategies live in
:mod:`labelloop.strategies.detection`, stream selectors in
:mod:`labelloop.strategies.stream`; the names of all three are in
:mod:`labelloop.strategies.registry`.

Exports are imported on first use (:mod:`labelloop._lazy`): core-set's kernels
import torch, and reading the names must not.
"""

from typing import TYPE_CHECKING

from labelloop._lazy import lazy_exports

if TYPE_CHECKING:
    from labelloop.strategies.base import (
        POOL_FIELDS,
        Picks,
        Pool,
        PoolStrategy,
        QueryStrategy,
    )
    from labelloop.strategies.batch import (
        DiverseEntropySampling,
        DiverseLeastConfidence,
        DiverseMarginSampling,
        DiverseUncertaintySampling,
        diverse_top_k,
    )
    from labelloop.strategies.bayesian import (
        BALD,
        MeanStd,
        SampleScoreStrategy,
        VariationRatios,
    )
    from labelloop.strategies.coldstart import (
        ProbCover,
        TypiClust,
    )
    from labelloop.strategies.committee import (
        ConsensusKL,
        VoteEntropy,
    )
    from labelloop.strategies.detection import (
        DetectionPool,
        DetectionStrategy,
        aggregate,
        box_uncertainty,
        image_confidence,
        least_certain_box,
    )
    from labelloop.strategies.diversity import (
        CoreSet,
    )
    from labelloop.strategies.errors import (
        InvalidParameterError,
        MissingPoolFieldError,
        PoolShapeError,
        UnknownStrategyError,
    )
    from labelloop.strategies.hybrid import (
        BADGE,
        ClusterMargin,
        DensityWeighted,
        UncertaintyName,
    )
    from labelloop.strategies.random import (
        RandomSampling,
    )
    from labelloop.strategies.registry import (
        DETECTION_STRATEGIES,
        DETECTION_STRATEGY_NAMES,
        STRATEGIES,
        STRATEGY_NAMES,
        STREAM_SELECTOR_NAMES,
        STREAM_SELECTORS,
        make_detection_strategy,
        make_strategy,
    )
    from labelloop.strategies.uncertainty import (
        EntropySampling,
        LeastConfidence,
        MarginSampling,
        UncertaintyStrategy,
    )

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "POOL_FIELDS": "labelloop.strategies.base",
        "Picks": "labelloop.strategies.base",
        "Pool": "labelloop.strategies.base",
        "PoolStrategy": "labelloop.strategies.base",
        "QueryStrategy": "labelloop.strategies.base",
        "DiverseEntropySampling": "labelloop.strategies.batch",
        "DiverseLeastConfidence": "labelloop.strategies.batch",
        "DiverseMarginSampling": "labelloop.strategies.batch",
        "DiverseUncertaintySampling": "labelloop.strategies.batch",
        "diverse_top_k": "labelloop.strategies.batch",
        "BALD": "labelloop.strategies.bayesian",
        "MeanStd": "labelloop.strategies.bayesian",
        "SampleScoreStrategy": "labelloop.strategies.bayesian",
        "VariationRatios": "labelloop.strategies.bayesian",
        "ProbCover": "labelloop.strategies.coldstart",
        "TypiClust": "labelloop.strategies.coldstart",
        "ConsensusKL": "labelloop.strategies.committee",
        "VoteEntropy": "labelloop.strategies.committee",
        "DetectionPool": "labelloop.strategies.detection",
        "DetectionStrategy": "labelloop.strategies.detection",
        "aggregate": "labelloop.strategies.detection",
        "box_uncertainty": "labelloop.strategies.detection",
        "image_confidence": "labelloop.strategies.detection",
        "least_certain_box": "labelloop.strategies.detection",
        "CoreSet": "labelloop.strategies.diversity",
        "InvalidParameterError": "labelloop.strategies.errors",
        "MissingPoolFieldError": "labelloop.strategies.errors",
        "PoolShapeError": "labelloop.strategies.errors",
        "UnknownStrategyError": "labelloop.strategies.errors",
        "BADGE": "labelloop.strategies.hybrid",
        "ClusterMargin": "labelloop.strategies.hybrid",
        "DensityWeighted": "labelloop.strategies.hybrid",
        "UncertaintyName": "labelloop.strategies.hybrid",
        "RandomSampling": "labelloop.strategies.random",
        "DETECTION_STRATEGIES": "labelloop.strategies.registry",
        "DETECTION_STRATEGY_NAMES": "labelloop.strategies.registry",
        "STRATEGIES": "labelloop.strategies.registry",
        "STRATEGY_NAMES": "labelloop.strategies.registry",
        "STREAM_SELECTORS": "labelloop.strategies.registry",
        "STREAM_SELECTOR_NAMES": "labelloop.strategies.registry",
        "make_detection_strategy": "labelloop.strategies.registry",
        "make_strategy": "labelloop.strategies.registry",
        "EntropySampling": "labelloop.strategies.uncertainty",
        "LeastConfidence": "labelloop.strategies.uncertainty",
        "MarginSampling": "labelloop.strategies.uncertainty",
        "UncertaintyStrategy": "labelloop.strategies.uncertainty",
    },
)

__all__ = [
    "BADGE",
    "BALD",
    "DETECTION_STRATEGIES",
    "DETECTION_STRATEGY_NAMES",
    "POOL_FIELDS",
    "STRATEGIES",
    "STRATEGY_NAMES",
    "STREAM_SELECTORS",
    "STREAM_SELECTOR_NAMES",
    "ClusterMargin",
    "ConsensusKL",
    "CoreSet",
    "DensityWeighted",
    "DetectionPool",
    "DetectionStrategy",
    "DiverseEntropySampling",
    "DiverseLeastConfidence",
    "DiverseMarginSampling",
    "DiverseUncertaintySampling",
    "EntropySampling",
    "InvalidParameterError",
    "LeastConfidence",
    "MarginSampling",
    "MeanStd",
    "MissingPoolFieldError",
    "Picks",
    "Pool",
    "PoolShapeError",
    "PoolStrategy",
    "ProbCover",
    "QueryStrategy",
    "RandomSampling",
    "SampleScoreStrategy",
    "TypiClust",
    "UncertaintyName",
    "UncertaintyStrategy",
    "UnknownStrategyError",
    "VariationRatios",
    "VoteEntropy",
    "aggregate",
    "box_uncertainty",
    "diverse_top_k",
    "image_confidence",
    "least_certain_box",
    "make_detection_strategy",
    "make_strategy",
]
