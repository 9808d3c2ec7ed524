"""Stopping rules: has the learning curve flattened enough to stop labeling?

Each rule reads the rounds so far, one :class:`RoundObservation` per round,
and returns a :class:`StopVerdict` with the numbers behind it. A verdict's
``fired`` says whether the rule's condition holds *at the latest round*;
``evidence["first_fired_round"]`` says at which round it first held, which may
be earlier (noise can make a rule fire and un-fire).

:func:`evaluate_stopping` runs the rules and reads them together:

* ``"diminishing"`` when :class:`StabilizingPredictions` fires, or when at
  least two rules fire. Stabilizing predictions alone is enough because
  Bloodgood & Vijay-Shanker (2009) found it a conservative stop across
  datasets and models: it asks that the model stop changing its mind on a
  fixed, unlabeled stop set. The other two are single, noisier signals: a
  validation plateau is measured on a small validation split, and pool
  uncertainty depends on the model's calibration, so one of them alone does
  not settle it.
* ``"continue"`` otherwise.

The rules only read plain records, so the server, the simulation and a
notebook can feed them alike.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import cohen_kappa_score

from labelloop.monitor.errors import StoppingInputError
from labelloop.monitor.projection import LearningCurveFit, Projection, fit_learning_curve
from labelloop.plugins import Configurable, Constraint, Integer, Number

__all__ = [
    "PROJECTED_EXTRAS",
    "PoolUncertaintyBelow",
    "RoundObservation",
    "StabilizingPredictions",
    "StopVerdict",
    "StoppingInputError",
    "StoppingReport",
    "StoppingRule",
    "ValidationPlateau",
    "default_stopping_rules",
    "evaluate_stopping",
    "prediction_agreement",
]

PROJECTED_EXTRAS = (100, 1000)
Decision = Literal["continue", "diminishing"]


@dataclass(frozen=True, eq=False)
class RoundObservation:
    """What the monitor knows after one round.

    Attributes:
        n_labeled: labels the round's model was trained and validated on.
        val_accuracy: accuracy on the validation split, None if there was none.
        stop_predictions: ``(n_stop,)`` predicted class of each stop-set image;
            the same stop set, in the same order, every round.
        pool_uncertainty: mean ``1 - max prob`` over the unlabeled pool.
        predicted_change: share of the pool whose predicted label changed
            since the previous round (recorded; no rule reads it yet).
        val_n: images the validation accuracy was measured on, None if unknown.
    """

    n_labeled: int
    val_accuracy: float | None = None
    stop_predictions: NDArray[np.int64] | None = None
    pool_uncertainty: float | None = None
    predicted_change: float | None = None
    val_n: int | None = None

    def __post_init__(self) -> None:
        if self.n_labeled < 0:
            raise StoppingInputError(f"n_labeled={self.n_labeled}: pass a count of 0 or more")
        if self.stop_predictions is not None:
            preds = np.asarray(self.stop_predictions)
            if preds.ndim != 1 or not np.issubdtype(preds.dtype, np.integer):
                raise StoppingInputError(
                    f"stop_predictions has shape {preds.shape} and dtype {preds.dtype}; "
                    "pass one predicted class index per stop-set image"
                )
            object.__setattr__(self, "stop_predictions", preds.astype(np.int64))


@dataclass(frozen=True)
class StopVerdict:
    """One rule's reading of the rounds.

    Attributes:
        rule: the rule's name.
        fired: whether its condition holds at the latest round.
        value: the measured quantity at the latest round (None with too few rounds).
        threshold: what ``value`` is compared with.
        evidence: the numbers behind it, JSON-ready; always has
            ``first_fired_round`` (index into the rounds, or None) and, with
            too few rounds, ``reason``.
    """

    rule: str
    fired: bool
    value: float | None
    threshold: float
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def first_fired_round(self) -> int | None:
        """Index of the first round at which the rule's condition held."""
        first = self.evidence.get("first_fired_round")
        return None if first is None else int(first)

    def to_dict(self) -> dict[str, Any]:
        """The verdict as a JSON-ready dict: its fields, the evidence copied."""
        return asdict(self)


class StoppingRule(Protocol):
    """Anything with a ``name`` that reads rounds into a verdict."""

    name: str

    def evaluate(self, rounds: Sequence[RoundObservation]) -> StopVerdict:
        """Read the rounds so far, oldest first."""
        ...


def prediction_agreement(first: NDArray[np.integer], second: NDArray[np.integer]) -> float:
    """Cohen's kappa between two rounds' predictions on the same stop set.

    Kappa is undefined (0/0) when both rounds predict one and the same class
    everywhere; identical predictions are then full agreement, 1.0.

    Args:
        first: ``(n_stop,)`` predicted classes of one round.
        second: ``(n_stop,)`` predicted classes of the next round.

    Returns:
        Kappa in [-1, 1].

    Raises:
        StoppingInputError: the arrays differ in length or are empty.
    """
    a, b = np.asarray(first), np.asarray(second)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise StoppingInputError(
            f"stop-set predictions of shapes {a.shape} and {b.shape}; use the same, "
            "non-empty stop set every round"
        )
    if np.array_equal(a, b):
        return 1.0
    return float(cohen_kappa_score(a, b))


def _too_few(rule: str, threshold: float, reason: str, **evidence: Any) -> StopVerdict:
    return StopVerdict(
        rule, False, None, threshold, {"reason": reason, "first_fired_round": None, **evidence}
    )


@dataclass(eq=False, repr=False)
class _CheckedRule(Configurable, ABC):
    """A stopping rule whose parameters are checked each time it reads the rounds."""

    parameter_error = StoppingInputError

    def evaluate(self, rounds: Sequence[RoundObservation]) -> StopVerdict:
        """Read the rounds so far into a verdict.

        Args:
            rounds: the rounds so far, oldest first.

        Returns:
            The verdict, with the numbers behind it in its evidence.

        Raises:
            StoppingInputError: a parameter is out of range, or a round is
                inconsistent with the others (a stop set of another size).
        """
        self.check_params()
        return self._read(rounds)

    @abstractmethod
    def _read(self, rounds: Sequence[RoundObservation]) -> StopVerdict:
        """The verdict on ``rounds``, parameters checked."""


@dataclass(eq=False, repr=False)
class StabilizingPredictions(_CheckedRule):
    """Stop when successive models agree on a fixed stop set (Bloodgood & Vijay-Shanker 2009).

    Cohen's kappa is taken between each pair of successive rounds' stop-set
    predictions; the rule fires when the mean over the last ``window`` pairs
    reaches ``threshold``. Rounds without stop-set predictions are skipped.

    Args:
        window: pairs of successive rounds averaged, at least 1.
        threshold: mean kappa to reach, in (0, 1].
    """

    name = "stabilizing_predictions"
    constraints: ClassVar[Mapping[str, Constraint]] = {
        "threshold": Number(low=0.0, high=1.0, low_open=True, hint="It is a mean Cohen's kappa."),
        "window": Integer(low=1),
    }
    window: int = 3
    threshold: float = 0.99

    def _read(self, rounds: Sequence[RoundObservation]) -> StopVerdict:
        """Mean kappa over the last ``window`` pairs; evidence: every pair's kappa and round."""
        seen = [
            (i, r.stop_predictions) for i, r in enumerate(rounds) if r.stop_predictions is not None
        ]
        pair_rounds = [seen[k][0] for k in range(1, len(seen))]
        kappas = [prediction_agreement(seen[k - 1][1], seen[k][1]) for k in range(1, len(seen))]
        if len(kappas) < self.window:
            return _too_few(
                self.name,
                self.threshold,
                f"need {self.window + 1} rounds with stop-set predictions, have {len(seen)}",
                kappas=kappas,
                rounds=pair_rounds,
            )
        means = [
            float(np.mean(kappas[k - self.window : k])) for k in range(self.window, len(kappas) + 1)
        ]
        first = next(
            (pair_rounds[k + self.window - 1] for k, m in enumerate(means) if m >= self.threshold),
            None,
        )
        return StopVerdict(
            self.name,
            means[-1] >= self.threshold,
            means[-1],
            self.threshold,
            {
                "kappas": kappas,
                "rounds": pair_rounds,
                "window": self.window,
                "window_kappas": kappas[-self.window :],
                "first_fired_round": first,
            },
        )


@dataclass(eq=False, repr=False)
class ValidationPlateau(_CheckedRule):
    """Stop when validation accuracy gains less than ``min_gain_per_100`` per 100 labels.

    The gain is the least-squares slope of validation accuracy against label
    count over the last ``window`` rounds that have a validation accuracy,
    times 100. A slope is less noisy than the difference of two rounds.

    A flat curve measured on a few validation images is noise (0.75 on 16
    images is anything from 0.50 to 0.90 at 95%), so the rule does not fire
    until every round of the window was validated on at least
    ``min_validation`` images (rounds whose count is unknown are trusted).

    Args:
        window: rounds in the slope, at least 2.
        min_gain_per_100: accuracy gain per 100 labels below which the curve
            counts as flat (0.005 is half a point).
        min_validation: fewest validation images a round of the window needs.
    """

    name = "validation_plateau"
    constraints: ClassVar[Mapping[str, Constraint]] = {
        "min_gain_per_100": Number(),
        "min_validation": Integer(low=0),
        "window": Integer(low=2, hint="A slope needs two rounds or more."),
    }
    window: int = 3
    min_gain_per_100: float = 0.005
    min_validation: int = 100

    def _read(self, rounds: Sequence[RoundObservation]) -> StopVerdict:
        """Accuracy slope per 100 labels over ``window`` rounds; evidence: each full window's."""
        points = [(i, r.n_labeled, r.val_accuracy) for i, r in enumerate(rounds)]
        seen = [(i, n, acc) for i, n, acc in points if acc is not None]
        if len(seen) < self.window:
            return _too_few(
                self.name,
                self.min_gain_per_100,
                f"need {self.window} rounds with a validation accuracy, have {len(seen)}",
            )
        measured = [r.val_n for r in rounds if r.val_accuracy is not None][-self.window :]
        small = [n for n in measured if n is not None and n < self.min_validation]
        if small:
            return _too_few(
                self.name,
                self.min_gain_per_100,
                f"the last {self.window} rounds were validated on {min(small)} images at "
                f"fewest; a plateau is judged on {self.min_validation} or more",
            )
        slopes: list[float | None] = []
        for end in range(self.window, len(seen) + 1):
            part = seen[end - self.window : end]
            slopes.append(_slope_per_100([n for _, n, _ in part], [a for _, _, a in part]))
        ends = [seen[end - 1][0] for end in range(self.window, len(seen) + 1)]
        below = [s is not None and s < self.min_gain_per_100 for s in slopes]
        first = next((r for r, b in zip(ends, below, strict=True) if b), None)
        last = seen[-self.window :]
        return StopVerdict(
            self.name,
            below[-1],
            slopes[-1],
            self.min_gain_per_100,
            {
                "slopes_per_100": slopes,
                "rounds": ends,
                "window": self.window,
                "window_n_labeled": [n for _, n, _ in last],
                "window_val_accuracy": [a for _, _, a in last],
                "first_fired_round": first,
            },
        )


def _slope_per_100(n: Sequence[int], acc: Sequence[float]) -> float | None:
    """Least-squares accuracy gain per 100 labels; None when every count is the same."""
    x = np.asarray(n, dtype=np.float64)
    y = np.asarray(acc, dtype=np.float64)
    spread = x - x.mean()
    denom = float(np.sum(spread**2))
    if denom == 0.0:
        return None
    return 100.0 * float(np.sum(spread * (y - y.mean()))) / denom


@dataclass(eq=False, repr=False)
class PoolUncertaintyBelow(_CheckedRule):
    """Stop when the model is sure of the unlabeled pool: mean uncertainty below ``threshold``.

    Args:
        threshold: mean ``1 - max prob`` over the pool to fall below, in (0, 1).
    """

    name = "pool_uncertainty_below"
    constraints: ClassVar[Mapping[str, Constraint]] = {
        "threshold": Number(low=0.0, high=1.0, low_open=True, high_open=True),
    }
    threshold: float = 0.05

    def _read(self, rounds: Sequence[RoundObservation]) -> StopVerdict:
        """The latest pool uncertainty against ``threshold``; evidence: every round's."""
        seen = [(i, r.pool_uncertainty) for i, r in enumerate(rounds)]
        values = [(i, u) for i, u in seen if u is not None]
        if not values:
            return _too_few(self.name, self.threshold, "no round has a pool uncertainty yet")
        first = next((i for i, u in values if u < self.threshold), None)
        latest = values[-1][1]
        return StopVerdict(
            self.name,
            latest < self.threshold,
            latest,
            self.threshold,
            {
                "uncertainties": [u for _, u in values],
                "rounds": [i for i, _ in values],
                "first_fired_round": first,
            },
        )


def default_stopping_rules() -> tuple[StoppingRule, ...]:
    """Stabilizing predictions, validation plateau and pool uncertainty, with default settings."""
    return (StabilizingPredictions(), ValidationPlateau(), PoolUncertaintyBelow())


@dataclass(frozen=True, eq=False)
class StoppingReport:
    """The rules read together, with a projection of what more labels would buy.

    Attributes:
        verdicts: one per rule, in the order the rules were given.
        decision: ``"diminishing"`` when stabilizing predictions fires or at
            least two rules fire, else ``"continue"``.
        summary: one line for people, with the numbers.
        projections: projected validation-accuracy gain of +100 and +1000
            labels from the latest round; empty when no curve could be fitted.
        curve: the learning curve fitted to validation accuracy, or None.
    """

    verdicts: tuple[StopVerdict, ...]
    decision: Decision
    summary: str
    projections: tuple[Projection, ...] = ()
    curve: LearningCurveFit | None = None

    @property
    def fired(self) -> tuple[str, ...]:
        """Names of the rules whose condition holds at the latest round."""
        return tuple(v.rule for v in self.verdicts if v.fired)

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return {
            "decision": self.decision,
            "summary": self.summary,
            "fired": list(self.fired),
            "verdicts": [v.to_dict() for v in self.verdicts],
            "projections": [p.to_dict() for p in self.projections],
            "curve": None if self.curve is None else self.curve.to_dict(),
        }


_LABELS = {
    StabilizingPredictions.name: "stop-set kappa",
    ValidationPlateau.name: "val gain/100 labels",
    PoolUncertaintyBelow.name: "pool uncertainty",
}


def _decide(verdicts: Sequence[StopVerdict]) -> Decision:
    fired = {v.rule for v in verdicts if v.fired}
    if StabilizingPredictions.name in fired or len(fired) >= 2:
        return "diminishing"
    return "continue"


def _describe(verdict: StopVerdict) -> str:
    label = _LABELS.get(verdict.rule, verdict.rule)
    if verdict.value is None:
        return f"{label} n/a ({verdict.evidence.get('reason', 'no value')})"
    state = "fired" if verdict.fired else "not fired"
    return f"{label} {verdict.value:.3f} vs {verdict.threshold:g} ({state})"


def _describe_projection(p: Projection) -> str:
    return (
        f"+{p.extra} labels {100 * p.gain:+.1f} pts "
        f"({round(100 * p.level)}% {100 * p.low:+.1f}..{100 * p.high:+.1f})"
    )


def evaluate_stopping(
    rounds: Sequence[RoundObservation],
    rules: Sequence[StoppingRule] | None = None,
    projection: bool = True,
) -> StoppingReport:
    """Run the stopping rules on the rounds so far and read them together.

    Args:
        rounds: one observation per round, oldest first.
        rules: the rules to run; :func:`default_stopping_rules` when None.
        projection: fit the validation learning curve and project +100 and
            +1000 labels (needs 4 rounds with a validation accuracy).

    Returns:
        The verdicts, the decision, a one-line summary and the projections.

    Raises:
        StoppingInputError: a rule's parameter is out of range.
    """
    chosen = default_stopping_rules() if rules is None else tuple(rules)
    verdicts = tuple(rule.evaluate(rounds) for rule in chosen)
    decision = _decide(verdicts)
    curve = None
    projections: tuple[Projection, ...] = ()
    if projection:
        points = [(r.n_labeled, r.val_accuracy) for r in rounds]
        kept = [(n, a) for n, a in points if a is not None and n > 0]
        if kept:
            curve = fit_learning_curve([n for n, _ in kept], [a for _, a in kept])
        if curve is not None:
            projections = curve.project_gains(PROJECTED_EXTRAS)
    parts = [_describe(v) for v in verdicts] + [_describe_projection(p) for p in projections]
    summary = f"{decision} after {rounds[-1].n_labeled if rounds else 0} labels: " + "; ".join(
        parts
    )
    return StoppingReport(verdicts, decision, summary, projections, curve)
