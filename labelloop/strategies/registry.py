"""Every strategy by the name settings files and the CLI use, and the factories that build them.

Three :class:`~labelloop.plugins.Registry` instances, one per kind: pool
strategies for classification (:data:`STRATEGIES`), for detection
(:data:`DETECTION_STRATEGIES`) and stream selectors (:data:`STREAM_SELECTORS`).
Entries name their class as ``"module:attribute"`` and import it on first use,
so this module (and the names) cost no torch import. ``needs`` lists the
optional pool fields the strategy reads; a contract test checks it against
the class's ``requires``.

To add a strategy, write its class and add its row to its kind's table here
(for classification, under the pool fields it reads); the contract suites in
``tests/strategies`` pick it up by name.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from labelloop.plugins import Registry
from labelloop.strategies.errors import InvalidParameterError, UnknownStrategyError

if TYPE_CHECKING:
    from labelloop.strategies.base import QueryStrategy
    from labelloop.strategies.detection.strategies import DetectionStrategy
    from labelloop.strategies.stream.base import StreamSelector

__all__ = [
    "DETECTION_STRATEGIES",
    "DETECTION_STRATEGY_NAMES",
    "STRATEGIES",
    "STRATEGY_NAMES",
    "STREAM_SELECTORS",
    "STREAM_SELECTOR_NAMES",
    "make_detection_strategy",
    "make_strategy",
    "make_stream_selector",
]

_S = "labelloop.strategies"

STRATEGIES: Registry[QueryStrategy] = Registry(
    "strategy", error=UnknownStrategyError, group="labelloop.strategies"
)
"""Classification pool strategies."""
# Grouped by the pool fields they read: needs -> {name: (module:class under _S, help)}.
for _needs, _entries in (
    ((), {"random": ("random:RandomSampling", "uniform random items: the baseline")}),
    (
        ("probs",),
        {
            "entropy": ("uncertainty:EntropySampling", "highest predictive entropy"),
            "least_confidence": ("uncertainty:LeastConfidence", "lowest top-class probability"),
            "margin": ("uncertainty:MarginSampling", "smallest gap between the top two classes"),
        },
    ),
    (
        ("samples",),
        {
            "bald": ("bayesian:BALD", "mutual information of MC-dropout or ensemble samples"),
            "consensus_kl": (
                "committee:ConsensusKL",
                "KL of each committee member from the consensus",
            ),
            "mean_std": (
                "bayesian:MeanStd",
                "mean standard deviation of the sampled probabilities",
            ),
            "variation_ratios": (
                "bayesian:VariationRatios",
                "share of samples that disagree with the mode",
            ),
            "vote_entropy": ("committee:VoteEntropy", "entropy of the committee's votes"),
        },
    ),
    (
        ("embeddings",),
        {
            "coreset": ("diversity:CoreSet", "farthest-first traversal of the embeddings"),
            "probcover": (
                "coldstart:ProbCover",
                "cold start: cover the embeddings with pure balls",
            ),
            "typiclust": (
                "coldstart:TypiClust",
                "cold start: the most typical item of each uncovered cluster",
            ),
        },
    ),
    (
        ("embeddings", "probs"),
        {
            "badge": ("hybrid:BADGE", "k-means++ on gradient embeddings (Ash et al. 2020)"),
            "cluster_margin": (
                "hybrid:ClusterMargin",
                "lowest margins, spread over embedding clusters",
            ),
            "density_weighted": (
                "hybrid:DensityWeighted",
                "uncertainty times mean similarity to the pool",
            ),
            "entropy_diverse": ("batch:DiverseEntropySampling", "entropy, near-duplicates skipped"),
            "least_confidence_diverse": (
                "batch:DiverseLeastConfidence",
                "least confidence, near-duplicates skipped",
            ),
            "margin_diverse": ("batch:DiverseMarginSampling", "margin, near-duplicates skipped"),
        },
    ),
):
    for _name, (_target, _help) in _entries.items():
        STRATEGIES.add(_name, f"{_S}.{_target}", help=_help, needs=_needs)

_D = f"{_S}.detection"

DETECTION_STRATEGIES: Registry[DetectionStrategy] = Registry(
    "detection strategy", error=UnknownStrategyError, group="labelloop.detection_strategies"
)
"""Detection pool strategies (uncertainty names are ``<kind>_<aggregation>``)."""
_add = DETECTION_STRATEGIES.add
_add(
    "coreset",
    f"{_D}.strategies:CoreSetDetection",
    help="farthest-first traversal of image embeddings",
    needs=("embeddings",),
)
_add("random", f"{_D}.strategies:RandomDetection", help="uniform random images: the baseline")
_add(
    "entropy_sum_diverse",
    f"{_D}.presets:entropy_sum_diverse",
    help="summed box entropy, near-duplicate images skipped",
    needs=("embeddings",),
)
for _how in ("max", "mean", "sum"):
    _add(
        f"instability_{_how}",
        f"{_D}.presets:instability_{_how}",
        help=f"{_how} of the boxes' localization instability",
        needs=("stability",),
    )
    for _kind in ("entropy", "least_confidence", "margin"):
        _add(
            f"{_kind}_{_how}",
            f"{_D}.presets:{_kind}_{_how}",
            help=f"{_how} of the boxes' {_kind.replace('_', ' ')}",
        )

_T = f"{_S}.stream"

STREAM_SELECTORS: Registry[StreamSelector] = Registry(
    "stream selector", error=UnknownStrategyError, group="labelloop.stream_selectors"
)
"""Stream selectors: decide on each item as it arrives."""
for _name, (_target, _help) in {
    "fixed_threshold": ("uncertainty:FixedThresholdSelector", "query below a fixed confidence"),
    "random": ("random:RandomStreamSelector", "query at random at the budget's rate: the baseline"),
    "randomized_variable_uncertainty": (
        "uncertainty:RandomizedVariableUncertaintySelector",
        "variable uncertainty with a random factor on the threshold",
    ),
    "split": ("split:SplitSelector", "part random, part variable uncertainty"),
    "variable_uncertainty": (
        "uncertainty:VariableUncertaintySelector",
        "query below a threshold that adapts to spend the budget",
    ),
}.items():
    STREAM_SELECTORS.add(_name, f"{_T}.{_target}", help=_help)

STRATEGY_NAMES: tuple[str, ...] = STRATEGIES.names()
"""Every classification strategy name, sorted."""
DETECTION_STRATEGY_NAMES: tuple[str, ...] = DETECTION_STRATEGIES.names()
"""Every detection strategy name, sorted."""
STREAM_SELECTOR_NAMES: tuple[str, ...] = STREAM_SELECTORS.names()
"""Every stream selector name, sorted."""


def _seeded(strategy: Any, random_state: int | None) -> Any:
    """``strategy`` with ``random_state`` set, where it takes one."""
    if "random_state" in strategy.get_params():
        strategy.set_params(random_state=random_state)
    return strategy


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
    strategy: QueryStrategy = _seeded(STRATEGIES.create(name), random_state)
    return strategy


def make_detection_strategy(
    name: str, *, random_state: int | None = None, **params: Any
) -> DetectionStrategy:
    """Build a detection strategy by name.

    Args:
        name: One of :data:`DETECTION_STRATEGY_NAMES`, e.g. ``"margin_sum"``.
        random_state: Seed passed to strategies that take one; others ignore it.
        **params: Constructor parameters other than those the name fixes,
            e.g. ``min_score=0.2`` or ``empty_policy="max"``.

    Returns:
        The strategy.

    Raises:
        UnknownStrategyError: If no strategy has that name.
        InvalidParameterError: If a parameter is not one the strategy takes.

    Example:
        >>> make_detection_strategy("margin_sum", empty_policy="max")
        UncertaintyDetection(empty_policy='max', how='sum', kind='margin', min_score=0.1)
    """
    factory = DETECTION_STRATEGIES.load(name)
    try:
        strategy = factory(**params)
    except TypeError as error:
        raise InvalidParameterError(
            f"strategy {name!r} does not take the parameters {sorted(params)} ({error})."
        ) from None
    seeded: DetectionStrategy = _seeded(strategy, random_state)
    return seeded


def make_stream_selector(
    name: str, *, budget: float, random_state: int | None = None, **params: Any
) -> StreamSelector:
    """Build the stream selector registered under ``name``, checked and ready.

    Args:
        name: One of :data:`STREAM_SELECTOR_NAMES`, e.g. ``"variable_uncertainty"``.
        budget: Share of items that may be queried, in (0, 1].
        random_state: Seed passed to selectors that draw at random; deterministic
            selectors ignore it.
        **params: The selector's other parameters, e.g. ``window=100`` or
            ``threshold=0.8``; each class documents its own.

    Returns:
        A new selector, already :meth:`~StreamSelector.reset`, so a bad parameter
        fails here rather than at the first item.

    Raises:
        UnknownStrategyError: If no selector has that name.
        InvalidParameterError: If the selector takes no parameter of a given name,
            or a value is out of range.

    Example:
        >>> make_stream_selector("fixed_threshold", budget=0.1, threshold=0.8)
        FixedThresholdSelector(budget=0.1, threshold=0.8, window=100)
    """
    cls = STREAM_SELECTORS.load(name)
    accepted = inspect.signature(cls).parameters
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        others = sorted(p for p in accepted if p not in ("budget", "random_state"))
        raise InvalidParameterError(
            f"stream selector {name!r} takes no parameter {', '.join(map(repr, unknown))}; "
            f"besides budget and random_state it takes: {', '.join(others)}."
        )
    if "random_state" in accepted:
        params["random_state"] = random_state
    selector: StreamSelector = cls(budget=budget, **params).reset()
    return selector
