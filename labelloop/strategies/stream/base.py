"""The interface every stream selector implements, and how an item becomes a confidence."""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from numbers import Real
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from labelloop.strategies._kernels import outside_unit_interval
from labelloop.strategies.stream.budget import Budgeted, BudgetManager
from labelloop.strategies.stream.errors import StreamInputError

__all__ = ["StreamSelector", "item_confidences"]


def _as_float_array(probs: object) -> NDArray[np.float64]:
    try:
        return np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError):
        raise StreamInputError(
            f"probs must be numeric class probabilities; got a {type(probs).__name__} that "
            "numpy cannot convert to a float array. Pass predict_proba output."
        ) from None


def item_confidences(probs: ArrayLike) -> NDArray[np.float64]:
    """Each item's confidence: its largest class probability.

    Args:
        probs: ``(n_items, n_classes)`` class probabilities, ``n_classes >= 2``.

    Returns:
        ``(n_items,)`` float64 confidences in [0, 1], a new array.

    Raises:
        StreamInputError: If ``probs`` is not numeric of that shape, or holds values
            outside [0, 1] or NaN.
    """
    array = _as_float_array(probs)
    if array.ndim != 2 or array.shape[1] < 2:
        raise StreamInputError(
            f"probs must have shape (n_items, n_classes) with n_classes >= 2; got shape "
            f"{array.shape}. For a binary model pass both columns of predict_proba; for "
            "a detector pass confidences instead."
        )
    if array.size == 0:
        return np.empty(0, dtype=np.float64)
    outside = outside_unit_interval(array)
    if outside is not None:
        raise StreamInputError(
            f"probs must hold probabilities in [0, 1] with no NaN; got values in "
            f"[{outside[0]}, {outside[1]}]. Pass predict_proba output (softmax of logits), "
            "not logits."
        )
    confidences: NDArray[np.float64] = np.clip(array.max(axis=1), 0.0, 1.0)
    return confidences


def _item_confidence(probs: object) -> float:
    array = _as_float_array(probs)
    if array.ndim != 1:
        raise StreamInputError(
            f"probs for one item must have shape (n_classes,); got shape {array.shape}. "
            "To decide on many items in turn, use simulate_stream."
        )
    return float(item_confidences(array[np.newaxis, :])[0])


def _check_confidence(confidence: object) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, Real):
        raise StreamInputError(
            f"confidence must be a number in [0, 1]; got {type(confidence).__name__}. "
            "Pass the model's certainty about the item, e.g. its largest class probability."
        )
    value = float(confidence)
    if not 0.0 <= value <= 1.0:
        raise StreamInputError(
            f"confidence must be in [0, 1] (higher is surer); got {value}. For an "
            "uncertainty u in [0, 1] pass confidence=1 - u."
        )
    return value


@dataclass(eq=False, repr=False, kw_only=True)
class StreamSelector(Budgeted, ABC):
    """Base class of selectors that see a stream one item at a time and query at once.

    Call :meth:`decide` on each arriving item; True means send it for labeling.
    Every selector owns a :class:`~labelloop.strategies.stream.budget.BudgetManager`
    built from ``budget`` and ``window``, and never queries an item it refuses.

    The contract follows scikit-learn: the constructor only stores its parameters;
    :meth:`reset` checks them and starts a stream (the first :meth:`decide` does so
    if :meth:`reset` was not called). State that decisions change ends in ``_``.

    Subclasses set :attr:`name`, declare their other parameters as dataclass
    fields (``budget`` and ``window`` come from
    :class:`~labelloop.strategies.stream.budget.Budgeted`) and their ranges in
    ``constraints``, and implement :meth:`_start` and :meth:`_decide`.

    Attributes:
        name: The registry name, e.g. ``"variable_uncertainty"``.
        budget: Share of items that may be queried, in (0, 1].
        window: Number of recent decisions the budget is kept over, >= 1.
        n_seen_: Items decided since the last reset.
        n_queried_: Items queried since the last reset.
        budget_manager_: The budget manager this stream spends from.
    """

    name: ClassVar[str]
    n_seen_: int = field(init=False)
    n_queried_: int = field(init=False)
    budget_manager_: BudgetManager = field(init=False)

    def reset(self) -> Self:
        """Check the parameters and start a new stream: counters zero, budget restarted.

        Seeded selectors restart their random generator, so the same seed and the
        same stream give the same decisions after every reset.

        Returns:
            This selector.

        Raises:
            InvalidParameterError: If a parameter is out of range; the message names it.
        """
        params = self.check_params()
        manager = BudgetManager(budget=params["budget"], window=params["window"]).reset()
        self._start(params)
        self.budget_manager_ = manager
        self.n_seen_ = 0
        self.n_queried_ = 0
        return self

    def decide(self, probs: ArrayLike | None = None, *, confidence: float | None = None) -> bool:
        """Decide whether to query the label of the item that just arrived.

        Pass exactly one of ``probs`` or ``confidence``.

        Args:
            probs: ``(n_classes,)`` the item's predicted class probabilities; its
                confidence is the largest of them.
            confidence: The model's certainty about the item, in [0, 1], higher is
                surer; for items that are not one classification, e.g. the lowest
                score among an image's detections.

        Returns:
            True to send the item for labeling, False to let it pass.

        Raises:
            StreamInputError: If neither or both are given, or the one given is malformed.
            InvalidParameterError: On the first call, if a parameter is out of range.
        """
        if (probs is None) == (confidence is None):
            given = "neither" if probs is None else "both"
            raise StreamInputError(
                f"pass exactly one of probs (the item's class probabilities) or confidence "
                f"(a number in [0, 1]); got {given}."
            )
        value = _check_confidence(confidence) if probs is None else _item_confidence(probs)
        if not hasattr(self, "budget_manager_"):
            self.reset()
        allowed = self.budget_manager_.allows()
        query = self._decide(value, allowed)
        self.budget_manager_.record(query)
        self.n_seen_ += 1
        self.n_queried_ += query
        return query

    @abstractmethod
    def _start(self, params: dict[str, Any]) -> None:
        """Set the subclass's state for a new stream from its checked ``params``."""

    @abstractmethod
    def _decide(self, confidence: float, allowed: bool) -> bool:
        """Decide on one item and update the selector's state.

        Called for every item, so that state that follows the stream (random draws,
        paced spending) sees each one.

        Args:
            confidence: The item's confidence, in [0, 1].
            allowed: Whether the budget allows a query now.

        Returns:
            Whether to query; never True when ``allowed`` is False.
        """
