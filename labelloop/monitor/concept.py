"""Concept drift: has the model started to disagree with annotators more often?

The stream is the model's errors as human labels arrive: 1 when the model's
prediction at the time differed from the human's label, 0 when it agreed. Three
of river's change detectors watch it behind one small interface:

- ``"adwin"``: :class:`ADWINDetector`, adaptive windowing; no tuning for 0/1 streams.
- ``"ddm"``: :class:`DDMDetector`, the drift detection method of Gama et al.
- ``"page_hinkley"``: :class:`PageHinkleyDetector`, a one-sided CUSUM on the error rate.

:func:`detect_concept_drift` replays a whole error history and reports where
drift was detected, so the loop needs no detector state between rounds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from river import drift
from river.drift import binary

from labelloop.monitor.errors import ConceptInputError
from labelloop.monitor.registry import CONCEPT_DETECTORS
from labelloop.plugins import Choice, Configurable, Constraint, Integer, Number

__all__ = [
    "CONCEPT_DETECTOR_NAMES",
    "ADWINDetector",
    "ConceptDriftDetector",
    "ConceptDriftReport",
    "ConceptInputError",
    "DDMDetector",
    "PageHinkleyDetector",
    "detect_concept_drift",
    "make_concept_detector",
]

CONCEPT_DETECTOR_NAMES: tuple[str, ...] = CONCEPT_DETECTORS.names()
"""The names :func:`make_concept_detector` accepts (the registry's, sorted)."""


class _RiverDetector(Protocol):
    """What we use of a river drift detector."""

    @property
    def drift_detected(self) -> bool: ...

    def update(self, x: int | float) -> Any: ...


@dataclass(eq=False, repr=False)
class ConceptDriftDetector(Configurable, ABC):
    """A change detector on a stream of model errors (1 = wrong, 0 = right).

    The constructor stores parameters; the first :meth:`update` (or
    :meth:`reset`) checks them and starts the stream. After a detection the
    underlying river detector starts over, so later detections measure change
    against the new regime.

    Attributes:
        n_seen_: Errors seen since the last :meth:`reset`.
        drift_points_: 0-based stream positions at which drift was detected.
    """

    name: ClassVar[str]
    parameter_error = ConceptInputError
    n_seen_: int = field(init=False)
    drift_points_: list[int] = field(init=False)
    _detector: _RiverDetector = field(init=False, repr=False)

    def update(self, error: bool | int | np.bool_ | np.integer[Any]) -> bool:
        """Feed the next element of the error stream.

        Args:
            error: True (or 1) if the model was wrong on this label, False (or 0) if right.

        Returns:
            True if drift is detected at this element.

        Raises:
            ConceptInputError: If ``error`` is not a boolean or 0/1, or a
                parameter is out of range.
        """
        if not hasattr(self, "_detector"):
            self.reset()
        value = _as_bit(error)
        self._detector.update(value)
        position = self.n_seen_
        self.n_seen_ += 1
        if self._detector.drift_detected:
            self.drift_points_.append(position)
            return True
        return False

    def reset(self) -> None:
        """Check the parameters and forget the stream seen so far.

        Raises:
            ConceptInputError: If a parameter is out of range.
        """
        self._detector = self._make(self.check_params())
        self.n_seen_ = 0
        self.drift_points_ = []

    @abstractmethod
    def _make(self, params: dict[str, Any]) -> _RiverDetector:
        """A fresh river detector of the checked ``params``."""


@dataclass(eq=False, repr=False)
class ADWINDetector(ConceptDriftDetector):
    """ADWIN: drift when two sub-windows of the recent errors differ in mean.

    river's defaults suit a 0/1 stream: the Hoeffding-style bound adapts to
    the stream's variance. Detects increases and decreases of the error rate.

    Args:
        delta: Confidence of the split test in (0, 1); smaller, fewer false alarms.
        clock: How often (in elements) the window is checked for a split, >= 1.
        grace_period: Elements seen before the first check, >= 1.
    """

    name: ClassVar[str] = "adwin"
    constraints: ClassVar[Mapping[str, Constraint]] = {
        "clock": Integer(low=1),
        "delta": Number(low=0.0, high=1.0, low_open=True, high_open=True),
        "grace_period": Integer(low=1),
    }
    delta: float = 0.002
    clock: int = 32
    grace_period: int = 10

    def _make(self, params: dict[str, Any]) -> _RiverDetector:
        return drift.ADWIN(**params)  # type: ignore[no-untyped-call]


@dataclass(eq=False, repr=False)
class DDMDetector(ConceptDriftDetector):
    """DDM: drift when the running error rate exceeds its best level by ``k`` deviations.

    River's defaults (``warm_start=30``, ``drift_threshold=3``) raise false
    alarms on low error rates: a short warm-up can end with few or no errors,
    so the recorded minimum has a tiny deviation and a normal run of errors
    later looks like drift. On simulated 2,000-label streams with a steady 5%
    error rate, river's defaults alarmed in 23 of 60 streams, ``warm_start=300,
    drift_threshold=4`` in 1 of 60, while a rise from 5% to 40% was still
    caught within 110 labels (median 55). Those are our defaults; the price is
    that no drift is reported in the first 300 labels after a start or a detection.

    Args:
        warm_start: Elements seen before drift can be detected, >= 1.
        warning_threshold: Deviations above the minimum that mean "warning", > 0.
        drift_threshold: Deviations above the minimum that mean drift, > 0.
    """

    name: ClassVar[str] = "ddm"
    constraints: ClassVar[Mapping[str, Constraint]] = {
        "drift_threshold": Number(low=0.0, low_open=True),
        "warm_start": Integer(low=1),
        "warning_threshold": Number(low=0.0, low_open=True),
    }
    warm_start: int = 300
    warning_threshold: float = 2.0
    drift_threshold: float = 4.0

    def _make(self, params: dict[str, Any]) -> _RiverDetector:
        return binary.DDM(**params)


@dataclass(eq=False, repr=False)
class PageHinkleyDetector(ConceptDriftDetector):
    """Page-Hinkley: drift when the cumulative excess of errors over their mean passes a threshold.

    River's defaults (``delta=0.005``, ``threshold=50``) are scaled for
    continuous values. For a 0/1 stream each element adds ``error - mean -
    delta`` to the sum, so ``delta`` is the rise in error rate that is
    tolerated and ``threshold`` about how many excess errors must pile up.
    The walk's noise grows with the error rate itself (variance ``p(1-p)``
    per element), so the defaults must hold at high rates too. Simulated
    over 40 streams of 2,000 labels each, ``delta=0.1, threshold=10``
    alarmed on 0 steady 5% streams and 2 steady 40% streams, and caught a
    rise from 5% to 40% after a median 37 labels (at most 71);
    ``delta=0.02, threshold=12`` was faster but alarmed on 9 of 40 steady 40%
    streams. The price: a rise of less than about 10 points of error rate is
    not flagged; ADWIN catches those. Only increases are watched by default
    (``mode="up"``): a model getting better needs no alarm.

    Args:
        min_instances: Elements seen before drift can be detected, >= 1.
        delta: Tolerated rise of the error rate per element, >= 0.
        threshold: Cumulative excess that signals drift, > 0.
        alpha: Forgetting factor of the cumulative sum in (0, 1].
        mode: ``"up"`` (error rate rises), ``"down"`` or ``"both"``.
    """

    name: ClassVar[str] = "page_hinkley"
    constraints: ClassVar[Mapping[str, Constraint]] = {
        "alpha": Number(low=0.0, high=1.0, low_open=True),
        "delta": Number(low=0.0),
        "min_instances": Integer(low=1),
        "mode": Choice(("up", "down", "both")),
        "threshold": Number(low=0.0, low_open=True),
    }
    min_instances: int = 30
    delta: float = 0.1
    threshold: float = 10.0
    alpha: float = 1 - 0.0001
    mode: Literal["up", "down", "both"] = "up"

    def _make(self, params: dict[str, Any]) -> _RiverDetector:
        return drift.PageHinkley(**params)


def make_concept_detector(name: str, **params: Any) -> ConceptDriftDetector:
    """Build a concept drift detector from its name, as configuration files spell it.

    Args:
        name: One of :data:`CONCEPT_DETECTOR_NAMES`.
        **params: Constructor parameters of that detector.

    Returns:
        The detector, before its first update.

    Raises:
        ConceptInputError: If ``name`` is unknown or a parameter is not the detector's.
    """
    cls = CONCEPT_DETECTORS.load(name)
    try:
        return cls(**params)
    except TypeError as err:
        raise ConceptInputError(f"bad parameters for detector {name!r}: {err}") from err


@dataclass(frozen=True)
class ConceptDriftReport:
    """Where drift was detected in a replayed error stream.

    Attributes:
        method: The detector's name.
        n: Errors in the stream.
        drift_points: 0-based positions at which drift was detected, in order.
        last_drift: The last of them, or None.
        error_rate_before: Error rate from just after the previous detection
            (or the start) up to and including ``last_drift``; None without drift.
        error_rate_after: Error rate after ``last_drift``; None without drift
            or when the stream ends at it.
    """

    method: str
    n: int
    drift_points: tuple[int, ...]
    last_drift: int | None
    error_rate_before: float | None
    error_rate_after: float | None

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dictionary."""
        return {
            "method": self.method,
            "n": self.n,
            "drift_points": list(self.drift_points),
            "last_drift": self.last_drift,
            "error_rate_before": self.error_rate_before,
            "error_rate_after": self.error_rate_after,
        }


def detect_concept_drift(
    errors: Sequence[bool] | Sequence[int] | NDArray[Any],
    method: str = "adwin",
    **params: Any,
) -> ConceptDriftReport:
    """Replay a whole error history through a fresh detector.

    Args:
        errors: (n,) the model's errors in label order, booleans or 0/1.
        method: One of :data:`CONCEPT_DETECTOR_NAMES`.
        **params: Constructor parameters of that detector.

    Returns:
        The detection points and the error rates around the last one.

    Raises:
        ConceptInputError: If ``method`` is unknown, a parameter is bad, or
            ``errors`` is not a 1-D sequence of booleans or 0/1.
    """
    bits = _as_bits(errors)
    detector = make_concept_detector(method, **params)
    detector.reset()
    for bit in bits.tolist():
        detector.update(bit)
    points = tuple(detector.drift_points_)
    before = after = None
    last = points[-1] if points else None
    if last is not None:
        start = points[-2] + 1 if len(points) > 1 else 0
        before = float(bits[start : last + 1].mean())
        after = float(bits[last + 1 :].mean()) if last + 1 < bits.shape[0] else None
    return ConceptDriftReport(
        method=detector.name,
        n=int(bits.shape[0]),
        drift_points=points,
        last_drift=last,
        error_rate_before=before,
        error_rate_after=after,
    )


def _as_bits(errors: Sequence[bool] | Sequence[int] | NDArray[Any]) -> NDArray[np.int64]:
    """``errors`` as a 1-D int64 array of 0/1."""
    array = np.asarray(errors)
    if array.ndim != 1:
        raise ConceptInputError(
            f"errors must be a 1-D sequence (one entry per label); got shape {array.shape}."
        )
    if (
        array.size and not (array.dtype == bool or np.issubdtype(array.dtype, np.number))
    ) or not np.isin(array, (0, 1)).all():
        raise ConceptInputError(
            "errors must be booleans or 0/1 (1 = the model disagreed with the label); "
            f"got values such as {np.unique(array)[:5].tolist()}."
        )
    return array.astype(np.int64)


def _as_bit(error: object) -> int:
    """One error as 0 or 1."""
    if isinstance(error, bool | np.bool_):
        return int(error)
    if isinstance(error, int | np.integer) and error in (0, 1):
        return int(error)
    raise ConceptInputError(
        f"an error must be a boolean or 0/1 (1 = the model disagreed); got {error!r}."
    )
