"""Query strategies: pure selection over arrays, indices out.

Build one by name with :func:`make_strategy`, wrap the model's outputs in a
:class:`Pool`, and call ``strategy.select(pool, batch_size)``.
"""

from labelloop.strategies.base import POOL_FIELDS, Pool, QueryStrategy
from labelloop.strategies.errors import (
    InvalidParameterError,
    MissingPoolFieldError,
    PoolShapeError,
    UnknownStrategyError,
)
from labelloop.strategies.random import RandomSampling
from labelloop.strategies.registry import STRATEGY_NAMES, StrategyName, make_strategy
from labelloop.strategies.uncertainty import (
    EntropySampling,
    LeastConfidence,
    MarginSampling,
    UncertaintyStrategy,
)

__all__ = [
    "POOL_FIELDS",
    "STRATEGY_NAMES",
    "EntropySampling",
    "InvalidParameterError",
    "LeastConfidence",
    "MarginSampling",
    "MissingPoolFieldError",
    "Pool",
    "PoolShapeError",
    "QueryStrategy",
    "RandomSampling",
    "StrategyName",
    "UncertaintyStrategy",
    "UnknownStrategyError",
    "make_strategy",
]
