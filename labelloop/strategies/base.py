"""The pool a strategy looks at, and the interface every query strategy implements."""

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar, cast

import numpy as np
from numpy.typing import NDArray

from labelloop.plugins import Configurable, Integer
from labelloop.strategies._kernels import as_float, item_blocks, outside_unit_interval
from labelloop.strategies._topk import top_k
from labelloop.strategies.errors import (
    InvalidParameterError,
    MissingPoolFieldError,
    PoolShapeError,
)

__all__ = ["POOL_FIELDS", "BlockScoreStrategy", "Picks", "Pool", "PoolStrategy", "QueryStrategy"]

P = TypeVar("P")

Picks = tuple[NDArray[np.int64], NDArray[np.float64] | None]
"""What a pool strategy returns: ``(k,)`` picked indices and ``(k,)`` their scores or None."""

#: Names of the optional :class:`Pool` fields a strategy may list in ``requires``.
POOL_FIELDS: frozenset[str] = frozenset({"embeddings", "probs", "samples"})

_FIELD_HINTS = {
    "probs": "predicted class probabilities, shape (n, n_classes)",
    "samples": "MC-dropout or ensemble probabilities, shape (n_samples, n, n_classes)",
    "embeddings": "one feature vector per item, shape (n, d)",
}


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    return f"object of type {type(value).__name__}"


def _check_float_array(field: str, value: object, layout: str) -> NDArray[np.floating[Any]]:
    """Check that ``value`` is a floating ndarray with as many axes as ``layout`` names."""
    ndim = layout.count(",") + 1
    if (
        not isinstance(value, np.ndarray)
        or value.ndim != ndim
        or not np.issubdtype(value.dtype, np.floating)
    ):
        raise PoolShapeError(
            f"Pool.{field} must be a {ndim}-D floating-point array of shape {layout}; "
            f"got {_describe(value)}. Convert it with np.asarray(x, dtype=np.float32)."
        )
    return value


def _check_axis(field: str, value: NDArray[Any], axis: int, expected: int, meaning: str) -> None:
    if value.shape[axis] != expected:
        raise PoolShapeError(
            f"Pool.{field} has shape {value.shape}, but its axis {axis} must have length "
            f"{expected} ({meaning}). Pass one entry per pool item, in the order of labeled."
        )


def _check_probabilities(field: str, value: NDArray[np.floating[Any]]) -> None:
    """Check classes >= 2 and every value in [0, 1] (NaN fails too)."""
    if value.shape[-1] < 2:
        raise PoolShapeError(
            f"Pool.{field} has shape {value.shape}: it needs at least 2 classes on its last "
            "axis. For a binary model pass both columns of predict_proba."
        )
    outside = outside_unit_interval(value)
    if outside is not None:
        raise PoolShapeError(
            f"Pool.{field} must hold probabilities in [0, 1] with no NaN; got values in "
            f"[{outside[0]}, {outside[1]}]. Pass predict_proba output (softmax of logits), "
            "not raw logits."
        )


@dataclass(frozen=True, eq=False)
class Pool:
    """What a strategy may look at: the pool's label mask and the model's outputs on it.

    ``n`` is the number of pool items, labeled and unlabeled together; every array
    lists the items in the same order as ``labeled``. Arrays are kept as given, not
    copied, and must not be changed while a strategy uses them.

    Attributes:
        labeled: ``(n,)`` boolean, True where the item already has a label.
        probs: ``(n, n_classes)`` predicted class probabilities, or None.
        samples: ``(n_samples, n, n_classes)`` MC-dropout or ensemble probabilities, or None.
        embeddings: ``(n, d)`` one feature vector per item, or None.

    Raises:
        PoolShapeError: If an array has the wrong type, dtype or shape, if its length
            disagrees with ``labeled``, or if probabilities leave [0, 1] or are NaN.
    """

    labeled: NDArray[np.bool_]
    probs: NDArray[np.floating[Any]] | None = None
    samples: NDArray[np.floating[Any]] | None = None
    embeddings: NDArray[np.floating[Any]] | None = None

    def __post_init__(self) -> None:
        """Validate every array's type, dtype and shape against ``labeled``."""
        labeled: object = self.labeled
        if not isinstance(labeled, np.ndarray) or labeled.ndim != 1 or labeled.dtype != np.bool_:
            raise PoolShapeError(
                f"Pool.labeled must be a 1-D boolean array of shape (n,); got "
                f"{_describe(labeled)}. Build it with np.asarray(mask, dtype=bool)."
            )
        n = labeled.shape[0]
        if self.probs is not None:
            probs = _check_float_array("probs", self.probs, "(n, n_classes)")
            _check_axis("probs", probs, 0, n, "n, the length of labeled")
            _check_probabilities("probs", probs)
        if self.samples is not None:
            samples = _check_float_array("samples", self.samples, "(n_samples, n, n_classes)")
            _check_axis("samples", samples, 1, n, "n, the length of labeled")
            if self.probs is not None:
                _check_axis("samples", samples, 2, self.probs.shape[1], "n_classes of probs")
            _check_probabilities("samples", samples)
        if self.embeddings is not None:
            embeddings = _check_float_array("embeddings", self.embeddings, "(n, d)")
            _check_axis("embeddings", embeddings, 0, n, "n, the length of labeled")
            if embeddings.size and not (
                np.isfinite(embeddings.min()) and np.isfinite(embeddings.max())
            ):
                raise PoolShapeError(
                    "Pool.embeddings contains NaN or infinite values; "
                    "recompute them or drop those items from the pool."
                )


def _check_batch_size(batch_size: int) -> int:
    return cast(
        int,
        Integer(
            low=1, hint="Pass how many items to send to annotators, e.g. batch_size=100."
        ).check("batch_size", batch_size, InvalidParameterError),
    )


@dataclass(eq=False, repr=False, kw_only=True)
class PoolStrategy(Configurable, ABC, Generic[P]):
    """Base class of every pool strategy, classification or detection: rank, pick the top.

    The contract follows scikit-learn's estimators: the constructor only stores its
    parameters, unchanged, under attributes of the same names (a seed is the
    ``random_state`` parameter); :meth:`select_scored` checks them against the
    declared :data:`~labelloop.plugins.Configurable.constraints` and does the work.
    Subclasses declare their parameters as dataclass fields (see
    :class:`~labelloop.plugins.Configurable`).

    Subclasses set :attr:`requires` (and :attr:`scored` if they hand back the
    scores they ranked by) and implement :meth:`_select_scored` and
    :meth:`_n_unlabeled`; :meth:`select_scored` checks the call first, so
    :meth:`_select_scored` never sees a bad one.

    Attributes:
        requires: The optional pool fields the strategy reads, e.g. ``{"probs"}``.
        scored: Whether :meth:`select_scored` returns scores (else None).
    """

    requires: ClassVar[frozenset[str]] = frozenset()
    scored: ClassVar[bool] = False
    parameter_error = InvalidParameterError

    def select_scored(self, pool: P, batch_size: int) -> Picks:
        """Choose the unlabeled items to label next, most informative first, with their scores.

        Args:
            pool: The pool; the fields named in :attr:`requires` must be set.
            batch_size: How many items to choose, at least 1.

        Returns:
            ``(k,)`` int64 distinct indices of unlabeled items, ``k =
            min(batch_size, n_unlabeled)`` (empty when every item is labeled), and
            ``(k,)`` float64 the scores they were ranked by, or None when the
            strategy has no score to store (:attr:`scored` is False).

        Raises:
            InvalidParameterError: If ``batch_size`` is not an integer >= 1 or a
                parameter is out of its range.
            MissingPoolFieldError: If a field in :attr:`requires` is None on ``pool``.
        """
        k = _check_batch_size(batch_size)
        self._check_call(pool)
        k = min(k, self._n_unlabeled(pool))
        if k == 0:
            return np.empty(0, dtype=np.int64), (
                np.empty(0, dtype=np.float64) if self.scored else None
            )
        indices, scores = self._select_scored(pool, k)
        return indices.astype(np.int64, copy=False), scores

    def _check_call(self, pool: P) -> None:
        """Check the parameters, then that every field in :attr:`requires` is set."""
        self.check_params()
        for field in sorted(self.requires):
            if getattr(pool, field) is None:
                raise MissingPoolFieldError(self._missing_field_message(field))

    def select(self, pool: P, batch_size: int) -> NDArray[np.int64]:
        """The indices :meth:`select_scored` picks, without their scores.

        Example:
            >>> from labelloop.strategies import RandomSampling
            >>> RandomSampling(random_state=0).select(Pool(np.zeros(4, dtype=bool)), 2).shape
            (2,)
        """
        return self.select_scored(pool, batch_size)[0]

    @abstractmethod
    def _select_scored(self, pool: P, k: int) -> Picks:
        """Choose exactly ``k`` unlabeled items (``1 <= k <= n_unlabeled``), best first.

        Returns:
            ``(k,)`` distinct indices of unlabeled items and ``(k,)`` their scores,
            or None for the scores when :attr:`scored` is False.
        """

    @abstractmethod
    def _n_unlabeled(self, pool: P) -> int:
        """How many items of ``pool`` may be picked."""

    @abstractmethod
    def _missing_field_message(self, field: str) -> str:
        """What to say when ``pool.<field>`` is None but required."""


@dataclass(eq=False, repr=False, kw_only=True)
class QueryStrategy(PoolStrategy[Pool]):
    """Base class of every classification query strategy: pick the items worth labeling.

    Strategies are pure: arrays in, indices out. Subclasses set :attr:`name` and
    :attr:`requires` and implement :meth:`_select` (or, when they rank by a score
    worth storing, :meth:`_select_scored` with :attr:`scored` True).

    Attributes:
        name: The registry name, e.g. ``"entropy"``.
        requires: The :class:`Pool` fields the strategy reads, e.g. ``{"probs"}``.
    """

    name: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Reject a subclass whose ``requires`` names a field that :class:`Pool` lacks."""
        super().__init_subclass__(**kwargs)
        unknown = cls.requires - POOL_FIELDS
        if unknown:
            raise TypeError(
                f"{cls.__name__}.requires names {sorted(unknown)}, which are not Pool fields; "
                f"use some of {sorted(POOL_FIELDS)}."
            )

    def _n_unlabeled(self, pool: Pool) -> int:
        return pool.labeled.size - int(np.count_nonzero(pool.labeled))

    def _missing_field_message(self, field: str) -> str:
        return (
            f"strategy {self.name!r} needs pool.{field}, which is None; build the "
            f"pool with Pool(labeled=..., {field}=...), {_FIELD_HINTS[field]}."
        )

    def _select_scored(self, pool: Pool, k: int) -> Picks:
        return self._select(pool, k), None

    @abstractmethod
    def _select(self, pool: Pool, k: int) -> NDArray[np.int64]:
        """Choose exactly ``k`` unlabeled items, most informative first.

        Args:
            pool: The pool, with every field in :attr:`requires` set.
            k: How many items to return; ``1 <= k <= n_unlabeled``.

        Returns:
            ``(k,)`` int64 distinct indices of unlabeled items.
        """


_FloatArray = NDArray[np.floating[Any]]


@dataclass(eq=False, repr=False, kw_only=True)
class BlockScoreStrategy(QueryStrategy):
    """Base class of strategies that score each item from one pool array, block by block.

    :meth:`select` takes the ``k`` highest scores among unlabeled items, ties broken
    by lower index first. The items are scored in blocks of about
    :attr:`block_bytes` of input, so each block's temporaries stay in the CPU cache
    and no copy of the whole array is made.

    Subclasses name their one array in :attr:`requires`, set :attr:`item_axis`,
    and implement :meth:`_check_shape` and :meth:`_score_block`.

    Attributes:
        item_axis: The axis of the array that lists the pool's items.
        block_bytes: Bytes of input per block.
    """

    item_axis: ClassVar[int] = 0
    block_bytes: ClassVar[int] = 1 << 19

    def score(self, array: _FloatArray) -> NDArray[np.float64]:
        """Score every item; higher means more informative.

        Args:
            array: The pool field named in :attr:`requires` (see the subclass), float32
                or float64 (other float dtypes are converted to float64). Values are
                not range-checked here; :class:`Pool` checks them.

        Returns:
            ``(n,)`` float64 finite scores, a new array the caller may modify.

        Raises:
            PoolShapeError: If ``array`` has the wrong shape or dtype for the strategy.
        """
        array = np.asarray(array)
        self._check_shape(array)
        array = as_float(array)
        n = array.shape[self.item_axis]
        per_item = array.itemsize * math.prod(
            size for axis, size in enumerate(array.shape) if axis != self.item_axis
        )
        out = np.empty(n, dtype=np.float64)
        leading = (slice(None),) * self.item_axis
        for rows in item_blocks(n, per_item, self.block_bytes):
            self._score_block(array[(*leading, rows)], out[rows])
        return out

    @abstractmethod
    def _check_shape(self, array: NDArray[Any]) -> None:
        """Raise :class:`PoolShapeError`, saying the shape wanted, if ``array`` is not it."""

    @abstractmethod
    def _score_block(self, block: _FloatArray, out: NDArray[np.float64]) -> None:
        """Write the scores of the block's items into ``(b,)`` ``out``."""

    def _select_scored(self, pool: Pool, k: int) -> Picks:
        (field,) = self.requires
        scores = self.score(getattr(pool, field))
        # top_k overwrites only the excluded (labeled) entries, so the picks keep theirs.
        picked = top_k(scores, k, exclude=pool.labeled)
        return picked, scores[picked] if self.scored else None

    def _select(self, pool: Pool, k: int) -> NDArray[np.int64]:
        return self._select_scored(pool, k)[0]
