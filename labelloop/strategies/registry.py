"""Build a query strategy from its name, as configuration files spell it."""

from typing import Literal

from labelloop.strategies.base import QueryStrategy
from labelloop.strategies.batch import (
    DiverseEntropySampling,
    DiverseLeastConfidence,
    DiverseMarginSampling,
)
from labelloop.strategies.bayesian import BALD, MeanStd, VariationRatios
from labelloop.strategies.coldstart import ProbCover, TypiClust
from labelloop.strategies.committee import ConsensusKL, VoteEntropy
from labelloop.strategies.diversity import CoreSet
from labelloop.strategies.errors import UnknownStrategyError
from labelloop.strategies.hybrid import BADGE, ClusterMargin, DensityWeighted
from labelloop.strategies.random import RandomSampling
from labelloop.strategies.uncertainty import EntropySampling, LeastConfidence, MarginSampling

__all__ = ["STRATEGY_NAMES", "StrategyName", "make_strategy"]

#: The names :func:`make_strategy` accepts, for typed configuration fields.
StrategyName = Literal[
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
]

# To add a strategy, list its class here and its name in StrategyName.
_STRATEGIES: dict[str, type[QueryStrategy]] = {
    cls.name: cls
    for cls in (
        BADGE,
        BALD,
        ClusterMargin,
        ConsensusKL,
        CoreSet,
        DensityWeighted,
        DiverseEntropySampling,
        DiverseLeastConfidence,
        DiverseMarginSampling,
        EntropySampling,
        LeastConfidence,
        MarginSampling,
        MeanStd,
        ProbCover,
        RandomSampling,
        TypiClust,
        VariationRatios,
        VoteEntropy,
    )
}

#: Every registered strategy name, sorted.
STRATEGY_NAMES: tuple[str, ...] = tuple(sorted(_STRATEGIES))


def make_strategy(name: str, *, random_state: int | None = None) -> QueryStrategy:
    """Build the strategy registered under ``name``.

    Args:
        name: One of :data:`STRATEGY_NAMES`, e.g. ``"entropy"``.
        random_state: Seed passed to strategies that take one; strategies that are
            deterministic ignore it.

    Returns:
        A new, unfitted strategy.

    Raises:
        UnknownStrategyError: If no strategy has that name.

    Example:
        >>> make_strategy("random", random_state=0)
        RandomSampling(random_state=0)
    """
    try:
        cls = _STRATEGIES[name]
    except KeyError:
        raise UnknownStrategyError(
            f"unknown strategy {name!r}; choose one of: {', '.join(STRATEGY_NAMES)}."
        ) from None
    params = {"random_state": random_state} if "random_state" in cls._param_names() else {}
    return cls(**params)
