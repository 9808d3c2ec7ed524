"""Query strategies: pure selection over arrays, indices out.

Build one by name with :func:`make_strategy`, wrap the model's outputs in a
:class:`Pool`, and call ``strategy.select(pool, batch_size)``.
"""

from labelloop.strategies.base import POOL_FIELDS, Pool, QueryStrategy
from labelloop.strategies.batch import (
    DiverseEntropySampling,
    DiverseLeastConfidence,
    DiverseMarginSampling,
    DiverseUncertaintySampling,
    diverse_top_k,
)
from labelloop.strategies.bayesian import BALD, MeanStd, SampleScoreStrategy, VariationRatios
from labelloop.strategies.coldstart import ProbCover, TypiClust
from labelloop.strategies.committee import ConsensusKL, VoteEntropy
from labelloop.strategies.detection import (
    DETECTION_STRATEGY_NAMES,
    DetectionPool,
    DetectionStrategy,
    DetectionStrategyName,
    aggregate,
    box_uncertainty,
    image_confidence,
    least_certain_box,
    make_detection_strategy,
)
from labelloop.strategies.diversity import CoreSet
from labelloop.strategies.errors import (
    InvalidParameterError,
    MissingPoolFieldError,
    PoolShapeError,
    UnknownStrategyError,
)
from labelloop.strategies.hybrid import BADGE, ClusterMargin, DensityWeighted, UncertaintyName
from labelloop.strategies.random import RandomSampling
from labelloop.strategies.registry import STRATEGY_NAMES, StrategyName, make_strategy
from labelloop.strategies.uncertainty import (
    EntropySampling,
    LeastConfidence,
    MarginSampling,
    UncertaintyStrategy,
)

__all__ = [
    "BADGE",
    "BALD",
    "DETECTION_STRATEGY_NAMES",
    "POOL_FIELDS",
    "STRATEGY_NAMES",
    "ClusterMargin",
    "ConsensusKL",
    "CoreSet",
    "DensityWeighted",
    "DetectionPool",
    "DetectionStrategy",
    "DetectionStrategyName",
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
    "Pool",
    "PoolShapeError",
    "ProbCover",
    "QueryStrategy",
    "RandomSampling",
    "SampleScoreStrategy",
    "StrategyName",
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
