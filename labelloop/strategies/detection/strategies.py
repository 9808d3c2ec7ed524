"""Detection query strategies: rank images by their detections (or embeddings), pick the top.

Each one is a :class:`~labelloop.strategies.base.PoolStrategy` over a
:class:`~labelloop.strategies.detection.pool.DetectionPool`: the constructor
only stores its parameters, and :meth:`~DetectionStrategy.select_scored` checks
them, scores every image once, and returns the picks with their scores.
"""

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar, cast

import numpy as np
from numpy.typing import NDArray

from labelloop.plugins import Constraint, Number, Seed
from labelloop.strategies._kcenter import k_center_greedy
from labelloop.strategies._kernels import as_float
from labelloop.strategies._params import make_rng
from labelloop.strategies._topk import top_k
from labelloop.strategies.base import Picks, PoolStrategy
from labelloop.strategies.batch import diverse_top_k
from labelloop.strategies.detection.pool import DetectionPool
from labelloop.strategies.detection.scores import (
    AGGREGATION,
    BOX_UNCERTAINTY,
    DEFAULT_MIN_SCORE,
    EMPTY_POLICY,
    MIN_SCORE,
    Aggregation,
    BoxUncertainty,
    EmptyPolicy,
    image_instability,
    image_uncertainty,
)

__all__ = [
    "BoxAggregateDetection",
    "CoreSetDetection",
    "DetectionStrategy",
    "DiverseUncertaintyDetection",
    "InstabilityDetection",
    "RandomDetection",
    "UncertaintyDetection",
]

_FloatArray = NDArray[np.floating[Any]]


@dataclass(eq=False, repr=False, kw_only=True)
class DetectionStrategy(PoolStrategy[DetectionPool]):
    """Base class of detection query strategies: score every image, pick the best unlabeled.

    Subclasses implement :attr:`name` and :meth:`_score`, and may override
    :meth:`_rank` to pick otherwise than by the highest scores.

    Attributes:
        requires: The optional :class:`DetectionPool` fields the strategy reads.
    """

    scored = True

    @property
    @abstractmethod
    def name(self) -> str:
        """The registry name, e.g. ``"margin_sum"``."""

    @abstractmethod
    def _score(self, pool: DetectionPool) -> NDArray[np.float64]:
        """``(n,)`` scores of every image; fields in :attr:`requires` are set."""

    def score(self, pool: DetectionPool) -> NDArray[np.float64]:
        """Score every image of the pool, labeled ones too; higher is more informative.

        Args:
            pool: The detector's outputs.

        Returns:
            ``(n,)`` float64 finite scores.

        Raises:
            MissingPoolFieldError: If a field in :attr:`requires` is ``None``.
            InvalidParameterError: If a parameter is out of range.
        """
        self._check_call(pool)
        return self._score(pool)

    def _select_scored(self, pool: DetectionPool, k: int) -> Picks:
        scores = self._score(pool)
        picked = self._rank(pool, scores, k)
        return picked, scores[picked] if self.scored else None

    def _rank(self, pool: DetectionPool, scores: NDArray[np.float64], k: int) -> NDArray[np.int64]:
        """The ``k`` highest ``scores`` among unlabeled images, ties to the lower index."""
        # top_k writes into its scores; the caller reads the picks' scores afterwards.
        return top_k(scores.copy(), k, exclude=~pool.unlabeled_mask())

    def _n_unlabeled(self, pool: DetectionPool) -> int:
        return int(np.count_nonzero(pool.unlabeled_mask()))

    def _missing_field_message(self, field: str) -> str:
        return (
            f"strategy {self.name!r} needs pool.{field}, which is None; build the "
            f"DetectionPool with {field}=..."
        )


@dataclass(eq=False, repr=False, kw_only=True)
class RandomDetection(DetectionStrategy):
    """Uniform random images: the baseline. Scores are uniform draws seeded by ``random_state``.

    Its picks come without scores: a random draw is nothing to store.

    Args:
        random_state: Seed, an integer >= 0; None draws fresh OS entropy.
    """

    scored = False
    constraints: ClassVar[Mapping[str, Constraint]] = {"random_state": Seed()}

    random_state: int | None = None

    @property
    def name(self) -> str:
        """``"random"``."""
        return "random"

    def _score(self, pool: DetectionPool) -> NDArray[np.float64]:
        return make_rng(self.random_state).random(pool.n)


@dataclass(eq=False, repr=False)
class BoxAggregateDetection(DetectionStrategy):
    """Base class of strategies that score each box and aggregate the boxes of an image.

    Subclasses declare ``how`` (an :data:`AGGREGATION`) and the other parameters
    their registered name fixes as positional fields, and spell that name in
    :attr:`name_format`; the keyword-only fields here say which boxes count and
    what an image without one scores.

    Args:
        min_score: Boxes scoring lower are not counted.
        empty_policy: Score of images without a counted box (see
            :mod:`~labelloop.strategies.detection.scores`).
    """

    constraints: ClassVar[Mapping[str, Constraint]] = {
        "empty_policy": EMPTY_POLICY,
        "how": AGGREGATION,
        "min_score": MIN_SCORE,
    }

    name_format: ClassVar[str]
    """The registry name, with the parameters that fix it in braces: ``"{kind}_{how}"``."""

    _: KW_ONLY
    min_score: float = DEFAULT_MIN_SCORE
    empty_policy: EmptyPolicy = "mean"

    @property
    def name(self) -> str:
        """:attr:`name_format` filled with the parameters, e.g. ``"margin_sum"``."""
        return self.name_format.format_map(self.get_params())


@dataclass(eq=False, repr=False)
class UncertaintyDetection(BoxAggregateDetection):
    """Images ranked by their aggregated per-box class uncertainty (Brust et al. 2019).

    Args:
        kind: Per-box uncertainty, see :func:`box_uncertainty`.
        how: ``"sum"`` favours images with many unsure objects, ``"mean"``
            the average box, ``"max"`` the single worst box.
        min_score: See :class:`BoxAggregateDetection`.
        empty_policy: See :class:`BoxAggregateDetection`.
    """

    constraints: ClassVar[Mapping[str, Constraint]] = {
        **BoxAggregateDetection.constraints,
        "kind": BOX_UNCERTAINTY,
    }

    name_format = "{kind}_{how}"
    kind: BoxUncertainty = "margin"
    how: Aggregation = "sum"

    def _score(self, pool: DetectionPool) -> NDArray[np.float64]:
        return image_uncertainty(
            pool, self.kind, self.how, min_score=self.min_score, empty_policy=self.empty_policy
        )


@dataclass(eq=False, repr=False)
class InstabilityDetection(BoxAggregateDetection):
    """Images ranked by aggregated localization instability (Kao et al. 2018).

    Args:
        how: Aggregation over an image's boxes.
        min_score: See :class:`BoxAggregateDetection`.
        empty_policy: See :class:`BoxAggregateDetection`.
    """

    requires = frozenset({"stability"})
    name_format = "instability_{how}"
    how: Aggregation = "sum"

    def _score(self, pool: DetectionPool) -> NDArray[np.float64]:
        return image_instability(
            pool, self.how, min_score=self.min_score, empty_policy=self.empty_policy
        )


@dataclass(eq=False, repr=False)
class DiverseUncertaintyDetection(UncertaintyDetection):
    """Uncertainty ranking whose batch skips images with near-duplicate embeddings.

    Scores as :class:`UncertaintyDetection`; the picks walk the ranking
    through :func:`~labelloop.strategies.batch.diverse_top_k`.

    Args:
        kind: Per-box uncertainty.
        how: Aggregation over an image's boxes.
        min_score: Boxes scoring lower are not counted.
        empty_policy: Score of images without a counted box.
        max_similarity: Largest cosine similarity between two images of a batch.
    """

    requires = frozenset({"embeddings"})
    constraints: ClassVar[Mapping[str, Constraint]] = {
        **UncertaintyDetection.constraints,
        "max_similarity": Number(low=-1.0, high=1.0),
    }

    name_format = "{kind}_{how}_diverse"
    kind: BoxUncertainty = "entropy"
    _: KW_ONLY
    max_similarity: float = 0.95

    def _rank(self, pool: DetectionPool, scores: NDArray[np.float64], k: int) -> NDArray[np.int64]:
        return diverse_top_k(
            scores,
            cast(_FloatArray, pool.embeddings),  # _check_call has made sure it is set
            k,
            max_similarity=self.max_similarity,
            exclude=~pool.unlabeled_mask(),
        )


@dataclass(eq=False, repr=False, kw_only=True)
class CoreSetDetection(DetectionStrategy):
    """Core-set on image embeddings (Sener and Savarese 2018): cover the pool.

    Farthest-first traversal from the labeled images, as
    :class:`~labelloop.strategies.CoreSet`. :meth:`score` runs the traversal
    over the whole unlabeled pool: the first pick scores ``n_unlabeled``, the
    next one less, down to 1; labeled images score 0. Ranking those scores
    gives the traversal order back, so :meth:`select_scored` traverses once.
    """

    requires = frozenset({"embeddings"})

    @property
    def name(self) -> str:
        """``"coreset"``."""
        return "coreset"

    def _score(self, pool: DetectionPool) -> NDArray[np.float64]:
        scores = np.zeros(pool.n, dtype=np.float64)
        unlabeled = pool.unlabeled_mask()
        n_unlabeled = int(np.count_nonzero(unlabeled))
        if n_unlabeled:
            embeddings = as_float(cast(_FloatArray, pool.embeddings))
            order = k_center_greedy(embeddings, ~unlabeled, n_unlabeled)
            scores[order] = np.arange(n_unlabeled, 0, -1, dtype=np.float64)
        return scores
