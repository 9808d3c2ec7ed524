"""Temperature scaling: one scalar that softens or sharpens a classifier's probabilities.

Dividing the logits by a temperature ``T > 0`` keeps every prediction's top
class and changes only its confidence: ``T > 1`` softens an overconfident
model, ``T < 1`` sharpens an underconfident one. ``T`` is fitted on held-out
labels (the validation split) by minimising the negative log-likelihood.
"""

import math
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Self, cast

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar

from labelloop.learners._validation import check_fitted, check_labels
from labelloop.learners.errors import InvalidInputError, InvalidParameterError
from labelloop.learners.metrics import expected_calibration_error
from labelloop.plugins import Choice, Configurable, Constraint, Number

__all__ = [
    "CALIBRATION_PRIOR_STD",
    "InputKind",
    "TemperatureScaler",
    "ValidationCalibration",
    "calibrate_on_validation",
    "softmax",
]

InputKind = Literal["probs", "logits"]
"""What :class:`TemperatureScaler` is given: probabilities or raw logits."""

CALIBRATION_PRIOR_STD = 0.5
"""Standard deviation of the prior on ``log T`` of :func:`calibrate_on_validation`.
Validation splits in a labeling loop are small and often classified without
error, which drives a plain maximum-likelihood ``T`` to its lower bound; on
digits with 60 validation images, a std of 1 still sharpened a well-calibrated
CNN to ``T`` of about 0.6 and raised its test NLL, 0.5 held it near 0.8."""

_GRID_POINTS = 64
# Rows of probabilities may miss 1 by rounding (float32 softmax, averaged members).
_ROW_SUM_TOLERANCE = 1e-4


def softmax(logits: NDArray[np.floating], temperature: float = 1.0) -> NDArray[np.float64]:
    """Row-wise softmax of ``logits / temperature`` in float64.

    Args:
        logits: Scores, shape ``(..., n_classes)``; ``-inf`` gives probability 0.
        temperature: Positive divisor of the logits.

    Returns:
        Probabilities, the shape of ``logits``; rows sum to 1.
    """
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    out: NDArray[np.float64] = e / e.sum(axis=-1, keepdims=True)
    return out


def _total_nll(logits: NDArray[np.float64], labels: NDArray[np.int64], log_t: float) -> float:
    z = logits * math.exp(-log_t)
    top = z.max(axis=1)
    log_norm = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
    return float((log_norm - z[np.arange(z.shape[0]), labels]).sum())


class _Bounds(Constraint):
    """``(lowest, highest)`` temperatures with ``0 < lowest < highest < inf``."""

    hint = "Try (0.05, 20.0)."

    def accepts(self, value: object) -> bool:
        if not isinstance(value, tuple | list) or len(value) != 2:
            return False
        if not all(Number(low=0.0, low_open=True).accepts(end) for end in value):
            return False
        return float(value[0]) < float(value[1])

    def describe(self) -> str:
        return "(lowest, highest) with 0 < lowest < highest < inf"

    def convert(self, value: object) -> tuple[float, float]:
        low, high = cast(tuple[float, float], value)
        return float(low), float(high)


@dataclass(eq=False, repr=False, kw_only=True)
class TemperatureScaler(Configurable):
    """Fits one temperature ``T`` on labeled scores, scikit-learn style.

    :meth:`fit` minimises the total negative log-likelihood of the labels
    under ``softmax(logits / T)`` over ``log T`` within ``bounds``: a coarse
    grid picks the best bracket and a bounded Brent search refines it, so the
    result is deterministic. Probabilities are turned into logits with
    ``log``; a probability of 0 stays 0 after scaling. Samples whose true
    class has probability exactly 0 are left out of the fit, since no
    temperature changes their likelihood.

    With ``prior_std`` the fit is a MAP estimate under a Gaussian prior on
    ``log T`` centred on 0 (``T = 1``). Without it, a fitting set that the
    model gets entirely right drives ``T`` to the lower bound, which rounds
    confident probabilities to exactly 1; the prior keeps ``T`` near 1 until
    the labels say otherwise, and its weight fades as the set grows.

    Args:
        input_kind: ``"probs"`` if :meth:`fit` and :meth:`transform` get
            probabilities (rows sum to 1), ``"logits"`` for raw scores.
        bounds: ``(lowest, highest)`` temperature considered, ``0 < lowest < highest``.
        prior_std: Standard deviation of the prior on ``log T``, or ``None``
            for a plain maximum-likelihood fit.

    Attributes:
        temperature_: The fitted temperature.
        n_fitted_: Number of samples the fit used.
    """

    constraints: ClassVar[dict[str, Constraint]] = {
        "bounds": _Bounds(),
        "input_kind": Choice(("logits", "probs")),
        "prior_std": Number(low=0.0, low_open=True, none=True, hint="Try 1.0."),
    }
    parameter_error = InvalidParameterError

    input_kind: InputKind = "probs"
    bounds: tuple[float, float] = (0.05, 20.0)
    prior_std: float | None = None

    temperature_: float = field(init=False)
    n_fitted_: int = field(init=False)

    def fit(self, scores: NDArray[np.floating], y: NDArray[np.integer]) -> Self:
        """Fit the temperature on labeled scores.

        Args:
            scores: Probabilities or logits (see ``input_kind``), shape
                ``(n_samples, n_classes)``.
            y: True class indices, shape ``(n_samples,)``.

        Returns:
            The fitted scaler itself.

        Raises:
            InvalidParameterError: If a constructor parameter is out of range.
            InvalidInputError: If the arrays are malformed or empty, or no
                sample gives its true class a probability above 0.
        """
        low, high = self._check_params()
        logits = self._logits(scores)
        if logits.shape[0] == 0:
            raise InvalidInputError("scores is empty; fit the temperature on at least one sample.")
        labels = check_labels(y, n_samples=logits.shape[0], n_classes=logits.shape[1])
        usable = np.isfinite(logits[np.arange(labels.shape[0]), labels])
        if not usable.any():
            raise InvalidInputError(
                "every sample gives its true class probability 0, so no temperature fits; "
                "check that y matches the columns of scores."
            )
        logits, labels = logits[usable], labels[usable]

        def objective(log_t: float) -> float:
            penalty = 0.0 if self.prior_std is None else 0.5 * (log_t / self.prior_std) ** 2
            return _total_nll(logits, labels, log_t) + penalty

        grid = np.linspace(math.log(low), math.log(high), _GRID_POINTS)
        best = int(np.argmin([objective(float(u)) for u in grid]))
        bracket = (float(grid[max(best - 1, 0)]), float(grid[min(best + 1, _GRID_POINTS - 1)]))
        result = minimize_scalar(objective, bounds=bracket, method="bounded")
        log_t = float(result.x) if result.fun <= objective(float(grid[best])) else float(grid[best])
        self.temperature_ = float(np.clip(math.exp(log_t), low, high))
        self.n_fitted_ = int(labels.shape[0])
        return self

    def transform(self, scores: NDArray[np.floating]) -> NDArray[np.float64]:
        """Probabilities with the fitted temperature applied.

        Args:
            scores: Probabilities or logits (see ``input_kind``), shape
                ``(n_samples, n_classes)``.

        Returns:
            Probabilities, shape ``(n_samples, n_classes)``; rows sum to 1,
            each row's top class unchanged.

        Raises:
            NotFittedError: If called before :meth:`fit`.
            InvalidInputError: If ``scores`` is malformed.
        """
        temperature: float = check_fitted(
            self, "temperature_", fit_call="fit(scores, y)", loadable=False
        )
        return softmax(self._logits(scores), temperature)

    def _check_params(self) -> tuple[float, float]:
        bounds: tuple[float, float] = self.check_params()["bounds"]
        return bounds

    def _logits(self, scores: NDArray[np.floating]) -> NDArray[np.float64]:
        array = np.asarray(scores)
        if array.ndim != 2 or array.dtype.kind not in "fiu":
            raise InvalidInputError(
                f"scores must be a 2-D real array (n_samples, n_classes), got shape "
                f"{array.shape} and dtype {array.dtype}."
            )
        values = array.astype(np.float64)
        if self.input_kind == "logits":
            if not np.isfinite(values).all():
                raise InvalidInputError("logits hold NaN or infinite values; check the model.")
            return values
        rows = values.sum(axis=1)
        if not (values >= 0).all() or not np.allclose(rows, 1.0, rtol=0, atol=_ROW_SUM_TOLERANCE):
            raise InvalidInputError(
                "scores are not probabilities (negative, NaN, or rows that do not sum to 1); "
                "pass predict_proba output, or build the scaler with input_kind='logits'."
            )
        with np.errstate(divide="ignore"):
            return np.log(values)


@dataclass(frozen=True)
class ValidationCalibration:
    """What :func:`calibrate_on_validation` found.

    Attributes:
        temperature: The logits' divisor; 1.0 unless one was fitted.
        ece_before: Expected calibration error of the plain softmax.
        ece_after: The same with ``temperature`` applied.
    """

    temperature: float
    ece_before: float
    ece_after: float


def calibrate_on_validation(
    logits: NDArray[np.floating], y: NDArray[np.integer], *, fit_temperature: bool
) -> ValidationCalibration:
    """Measure calibration on a validation split, and fit a temperature if asked.

    The temperature is a :class:`TemperatureScaler` with a prior of std
    :data:`CALIBRATION_PRIOR_STD` on ``log T``, so a small or error-free split
    keeps ``T`` near 1. It is fitted on the split it is measured on, so
    ``ece_after`` is an in-sample figure.

    Args:
        logits: Validation logits, shape ``(n_val, n_classes)``.
        y: Their true class indices, shape ``(n_val,)``.
        fit_temperature: Fit a temperature; else it stays 1.

    Returns:
        The temperature and the calibration errors before and after it.
    """
    before = expected_calibration_error(softmax(logits), y)
    if not fit_temperature:
        return ValidationCalibration(1.0, before, before)
    scaler = TemperatureScaler(input_kind="logits", prior_std=CALIBRATION_PRIOR_STD)
    temperature = scaler.fit(logits, y).temperature_
    after = expected_calibration_error(softmax(logits, temperature), y)
    return ValidationCalibration(temperature, before, after)
