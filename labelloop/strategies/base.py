"""The pool a strategy looks at, and the interface every query strategy implements."""

import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from labelloop.strategies.errors import (
    InvalidParameterError,
    MissingPoolFieldError,
    PoolShapeError,
)

__all__ = ["POOL_FIELDS", "Pool", "QueryStrategy"]

#: Names of the optional :class:`Pool` fields a strategy may list in ``requires``.
POOL_FIELDS: frozenset[str] = frozenset({"embeddings", "probs", "samples"})

_FIELD_HINTS = {
    "probs": "predicted class probabilities, shape (n, n_classes)",
    "samples": "MC-dropout or ensemble probabilities, shape (n_samples, n, n_classes)",
    "embeddings": "one feature vector per item, shape (n, d)",
}

# Slack for probabilities that leave [0, 1] by rounding (softmax in float32, averaging).
_PROB_TOLERANCE = 1e-6


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
    if value.size == 0:
        return
    # min and max are two fast reductions with no temporary array, and any NaN
    # propagates into them, so one comparison also rejects NaN and inf.
    low, high = float(value.min()), float(value.max())
    if not (low >= -_PROB_TOLERANCE and high <= 1.0 + _PROB_TOLERANCE):
        raise PoolShapeError(
            f"Pool.{field} must hold probabilities in [0, 1] with no NaN; got values in "
            f"[{low}, {high}]. Pass predict_proba output (softmax of logits), not raw logits."
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
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
        raise InvalidParameterError(
            f"batch_size must be an integer >= 1; got {batch_size!r}. "
            "Pass how many items to send to annotators, e.g. batch_size=100."
        )
    if batch_size < 1:
        raise InvalidParameterError(
            f"batch_size must be >= 1; got {batch_size}. Ask for at least one item."
        )
    return int(batch_size)


class QueryStrategy(ABC):
    """Base class of every query strategy: pick the unlabeled items worth labeling next.

    The contract follows scikit-learn's estimators: the constructor only stores its
    parameters, unchanged, under attributes of the same names (so :meth:`get_params`
    finds them); the work happens in :meth:`select`. Strategies are pure: arrays in,
    indices out.

    Subclasses set :attr:`name` and :attr:`requires` and implement :meth:`_select`;
    :meth:`select` checks the arguments, so :meth:`_select` never sees a bad call.

    Attributes:
        name: The registry name, e.g. ``"entropy"``.
        requires: The :class:`Pool` fields the strategy reads, e.g. ``{"probs"}``.
    """

    name: ClassVar[str]
    requires: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Reject a subclass whose ``requires`` names a field that :class:`Pool` lacks."""
        super().__init_subclass__(**kwargs)
        unknown = cls.requires - POOL_FIELDS
        if unknown:
            raise TypeError(
                f"{cls.__name__}.requires names {sorted(unknown)}, which are not Pool fields; "
                f"use some of {sorted(POOL_FIELDS)}."
            )

    def select(self, pool: Pool, batch_size: int) -> NDArray[np.int64]:
        """Choose the unlabeled items to label next, most informative first.

        Args:
            pool: The pool; the fields named in :attr:`requires` must be set.
            batch_size: How many items to choose, at least 1.

        Returns:
            ``(min(batch_size, n_unlabeled),)`` int64 distinct indices into the pool,
            none of them labeled. Empty when every item is labeled.

        Raises:
            InvalidParameterError: If ``batch_size`` is not an integer >= 1.
            MissingPoolFieldError: If a field in :attr:`requires` is None on ``pool``.
        """
        k = _check_batch_size(batch_size)
        for field in sorted(self.requires):
            if getattr(pool, field) is None:
                raise MissingPoolFieldError(
                    f"strategy {self.name!r} needs pool.{field}, which is None; build the "
                    f"pool with Pool(labeled=..., {field}=...), {_FIELD_HINTS[field]}."
                )
        n_unlabeled = pool.labeled.size - int(np.count_nonzero(pool.labeled))
        k = min(k, n_unlabeled)
        if k == 0:
            return np.empty(0, dtype=np.int64)
        return self._select(pool, k)

    @abstractmethod
    def _select(self, pool: Pool, k: int) -> NDArray[np.int64]:
        """Choose exactly ``k`` unlabeled items, most informative first.

        Args:
            pool: The pool, with every field in :attr:`requires` set.
            k: How many items to return; ``1 <= k <= n_unlabeled``.

        Returns:
            ``(k,)`` int64 distinct indices of unlabeled items.
        """

    @classmethod
    def _param_names(cls) -> list[str]:
        """The constructor's named parameters, as scikit-learn's ``_get_param_names``."""
        if cls.__init__ is object.__init__:
            return []
        parameters = inspect.signature(cls.__init__).parameters.values()
        return sorted(
            p.name
            for p in parameters
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )

    def get_params(self) -> dict[str, Any]:
        """Return the constructor parameters as stored, e.g. ``{"random_state": 0}``.

        Returns:
            A new dict from parameter name to value; ``type(self)(**params)`` builds
            an equal strategy.
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def __repr__(self) -> str:
        """Show the class and its parameters, e.g. ``RandomSampling(random_state=0)``."""
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_params().items())
        return f"{type(self).__name__}({args})"
