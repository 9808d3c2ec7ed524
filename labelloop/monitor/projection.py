"""Learning-curve projection: how much would the next labels buy?

Accuracy against the number of labels ``n`` is fitted with an inverse power
law, ``acc(n) = a - b * n**(-c)`` (Figueroa et al. 2012, "Predicting sample
size required for classification performance"): ``a`` is the accuracy the
curve tends to, ``b`` how far below it the curve starts, ``c`` how fast the gap
closes. The fitted curve projects the gain of ``extra`` more labels, with a
band from drawing the parameters from their fitted covariance.

Choices made here:

* The fit runs on a rescaled gap, ``acc(n) = a - g * (n / n_ref)**(-c)`` with
  ``n_ref`` the geometric mean of the label counts, so ``g`` (the gap at
  ``n_ref``) lives in ``[0, 2]`` instead of spanning orders of magnitude with
  ``c``; ``b = g * n_ref**c``. The parameter draws for the band are taken in
  this better-conditioned form.
* Later points weigh more (``weight_later=True``): the accuracy of a model
  trained on few labels varies a lot with which labels they were, and that
  spread shrinks roughly as ``1/n``, so each point's noise is taken as
  proportional to ``n**(-1/2)``.
* With fewer than 4 points (3 parameters leave no degree of freedom to
  estimate their uncertainty) or when the optimiser does not converge to a
  finite covariance, :func:`fit_learning_curve` returns None: a monitor asks
  every round and "no projection yet" is an ordinary answer, not an error.
  Malformed input (mismatched lengths, non-positive counts, NaN) raises
  :class:`LearningCurveInputError`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import OptimizeWarning, curve_fit

from labelloop.errors import LabelloopError

__all__ = [
    "LearningCurveFit",
    "LearningCurveInputError",
    "Projection",
    "fit_learning_curve",
    "inverse_power_law",
]

MIN_POINTS = 4
_LOWER = (0.0, 0.0, 1e-3)
_UPPER = (1.0, 2.0, 5.0)
_START_EXPONENTS = (0.3, 0.7, 1.5)
_MAX_DRAW_BATCHES = 20


class LearningCurveInputError(LabelloopError, ValueError):
    """Learning-curve points or projection arguments are malformed."""


def inverse_power_law(
    n: NDArray[np.floating] | float,
    a: NDArray[np.floating] | float,
    b: NDArray[np.floating] | float,
    c: NDArray[np.floating] | float,
) -> NDArray[np.float64]:
    """``a - b * n**(-c)``, the learning-curve model.

    Args:
        n: label counts, any shape, all positive.
        a: the accuracy the curve tends to.
        b: the gap below ``a`` at ``n = 1``.
        c: the decay exponent.

    Returns:
        The modelled accuracy, the broadcast shape of the arguments (e.g.
        ``(k,)`` counts with ``(d, 1)`` parameters give ``(d, k)``).
    """
    return np.asarray(a - b * np.power(np.asarray(n, dtype=np.float64), -c), dtype=np.float64)


@dataclass(frozen=True)
class Projection:
    """Projected accuracy gain of ``extra`` more labels.

    Attributes:
        extra: how many labels beyond ``n_from``.
        n_from: the label count the projection starts from.
        gain: the fitted curve's gain, ``acc(n_from + extra) - acc(n_from)``.
        low: lower end of the band (e.g. the 5th percentile of the drawn gains).
        high: upper end of the band.
        level: the band's coverage, e.g. 0.9.
    """

    extra: int
    n_from: int
    gain: float
    low: float
    high: float
    level: float

    def to_dict(self) -> dict[str, float | int]:
        """The projection as a JSON-ready dict with the attribute names as keys."""
        return {
            "extra": self.extra,
            "n_from": self.n_from,
            "gain": self.gain,
            "low": self.low,
            "high": self.high,
            "level": self.level,
        }


@dataclass(frozen=True, eq=False)
class LearningCurveFit:
    """An inverse power law fitted to (labels, accuracy) points.

    Attributes:
        params: ``(3,)`` the fitted ``(a, b, c)`` of ``a - b * n**(-c)``.
        covariance: ``(3, 3)`` their covariance (delta method from the scaled fit).
        n_ref: the label count the gap was scaled by in the fit.
        scaled_params: ``(3,)`` ``(a, g, c)`` with ``g = b * n_ref**(-c)``.
        scaled_covariance: ``(3, 3)`` covariance of ``scaled_params``, as fitted.
        n: ``(m,)`` the label counts fitted.
        accuracy: ``(m,)`` the accuracies fitted.
        residual_std: root mean square of the (unweighted) residuals.
    """

    params: NDArray[np.float64]
    covariance: NDArray[np.float64]
    n_ref: float
    scaled_params: NDArray[np.float64]
    scaled_covariance: NDArray[np.float64]
    n: NDArray[np.float64]
    accuracy: NDArray[np.float64]
    residual_std: float

    def predict(self, n: ArrayLike) -> NDArray[np.float64]:
        """Accuracy the fitted curve expects at ``n`` labels.

        Args:
            n: label counts, any shape, all positive.

        Returns:
            The modelled accuracy, same shape as ``n``.
        """
        counts = _positive(n, "n")
        a, b, c = self.params
        return inverse_power_law(counts, float(a), float(b), float(c))

    def project_gain(
        self,
        extra: int,
        *,
        n_from: int | None = None,
        level: float = 0.9,
        n_draws: int = 4000,
        random_state: int = 0,
    ) -> Projection:
        """Accuracy gain of ``extra`` more labels, with an uncertainty band.

        The band is the central ``level`` interval of the gain over parameter
        draws from a normal with the fitted (scaled) covariance, truncated to
        the fit's bounds. It covers the uncertainty of the curve, not the noise of
        a single future measurement.

        Args:
            extra: labels to add, at least 1.
            n_from: where to start; the largest fitted label count by default.
            level: coverage of the band, in (0, 1).
            n_draws: parameter draws, at least 100.
            random_state: seed of the draws, so a projection is repeatable.

        Returns:
            The projected gain and its band.

        Raises:
            LearningCurveInputError: an argument is out of range.
        """
        (projection,) = self.project_gains(
            (extra,), n_from=n_from, level=level, n_draws=n_draws, random_state=random_state
        )
        return projection

    def project_gains(
        self,
        extras: Sequence[int],
        *,
        n_from: int | None = None,
        level: float = 0.9,
        n_draws: int = 4000,
        random_state: int = 0,
    ) -> tuple[Projection, ...]:
        """:meth:`project_gain` for several ``extras`` from one set of parameter draws.

        Each projection equals ``project_gain(extra, ...)`` with the same
        arguments; the parameters are drawn once for all of them.

        Args:
            extras: labels to add, each at least 1.
            n_from: where to start; the largest fitted label count by default.
            level: coverage of the bands, in (0, 1).
            n_draws: parameter draws, at least 100.
            random_state: seed of the draws, so projections are repeatable.

        Returns:
            One projection per entry of ``extras``, in order.

        Raises:
            LearningCurveInputError: an argument is out of range.
        """
        wanted = list(extras)
        if any(extra < 1 for extra in wanted) or n_draws < 100 or not 0.0 < level < 1.0:
            raise LearningCurveInputError(
                f"extras={wanted}, n_draws={n_draws}, level={level}: use extras >= 1, "
                "n_draws >= 100 and 0 < level < 1"
            )
        start = int(self.n.max()) if n_from is None else n_from
        if start < 1:
            raise LearningCurveInputError(f"n_from={start}: start from at least 1 label")
        ends = np.array([start, *(start + extra for extra in wanted)], dtype=np.float64)
        fitted = self.predict(ends)
        curves = self._sampled_curves(ends, n_draws, random_state)
        gains = curves[:, 1:] - curves[:, :1]
        tail = (1.0 - level) / 2.0
        lows, highs = np.quantile(gains, [tail, 1.0 - tail], axis=0)
        return tuple(
            Projection(
                extra=extra,
                n_from=start,
                gain=float(fitted[i + 1] - fitted[0]),
                low=float(lows[i]),
                high=float(highs[i]),
                level=level,
            )
            for i, extra in enumerate(wanted)
        )

    def predict_band(
        self, n: ArrayLike, *, level: float = 0.9, n_draws: int = 4000, random_state: int = 0
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Central ``level`` band of the curve itself at ``n``, from parameter draws.

        Args:
            n: ``(k,)`` label counts, all positive.
            level: coverage of the band, in (0, 1).
            n_draws: parameter draws, at least 100.
            random_state: seed of the draws.

        Returns:
            ``(low, high)``, each ``(k,)``.

        Raises:
            LearningCurveInputError: an argument is out of range.
        """
        if n_draws < 100 or not 0.0 < level < 1.0:
            raise LearningCurveInputError(
                f"n_draws={n_draws}, level={level}: use n_draws >= 100 and 0 < level < 1"
            )
        counts = np.atleast_1d(_positive(n, "n"))
        curves = self._sampled_curves(counts, n_draws, random_state)
        tail = (1.0 - level) / 2.0
        low, high = np.quantile(curves, [tail, 1.0 - tail], axis=0)
        return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)

    def _sampled_curves(
        self, counts: NDArray[np.float64], n_draws: int, random_state: int
    ) -> NDArray[np.float64]:
        """``(n_draws, k)`` curves at ``counts`` under parameters drawn from the fit."""
        draws = _draw_in_bounds(self.scaled_params, self.scaled_covariance, n_draws, random_state)
        a, g, c = draws[:, :1], draws[:, 1:2], draws[:, 2:]
        return inverse_power_law(counts[None, :] / self.n_ref, a, g, c)

    def to_dict(self) -> dict[str, object]:
        """The fit as a JSON-ready dict: ``a``, ``b``, ``c``, their standard errors, residual."""
        a, b, c = (float(p) for p in self.params)
        errors = np.sqrt(np.clip(np.diag(self.covariance), 0.0, None))
        return {
            "a": a,
            "b": b,
            "c": c,
            "stderr": [float(e) for e in errors],
            "n_points": len(self.n),
            "residual_std": self.residual_std,
        }


def _draw(
    mean: NDArray[np.float64], cov: NDArray[np.float64], size: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """``(size, 3)`` normal draws; round-off negative eigenvalues of ``cov`` count as 0."""
    values, vectors = np.linalg.eigh((cov + cov.T) / 2.0)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    return np.asarray(mean + rng.standard_normal((size, len(mean))) @ root.T, dtype=np.float64)


def _draw_in_bounds(
    mean: NDArray[np.float64], cov: NDArray[np.float64], size: int, random_state: int
) -> NDArray[np.float64]:
    """Up to ``size`` draws from the fitted normal, truncated to the fit's bounds.

    Out-of-bounds draws are rejected, not clipped: clipping would pile the
    mass of a poorly determined fit onto a bound (a gap of 0, a steep
    exponent), each of which projects no gain, and the band would collapse
    onto 0 exactly when the curve is least known. The fitted parameters are
    always one of the draws, so the set is never empty.
    """
    rng = np.random.default_rng(random_state)
    kept = [mean[None, :]]
    count = 1
    for _ in range(_MAX_DRAW_BATCHES):
        batch = _draw(mean, cov, size, rng)
        inside = np.all((batch >= _LOWER) & (batch <= _UPPER), axis=1)
        kept.append(batch[inside])
        count += int(inside.sum())
        if count >= size:
            break
    return np.concatenate(kept)[:size]


def _positive(values: ArrayLike, name: str) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise LearningCurveInputError(f"{name} must be finite label counts above 0")
    return arr


def _check_points(n: ArrayLike, accuracy: ArrayLike) -> tuple[NDArray[np.float64], ...]:
    counts = _positive(n, "n")
    acc = np.asarray(accuracy, dtype=np.float64)
    if counts.ndim != 1 or counts.shape != acc.shape:
        raise LearningCurveInputError(
            f"n has shape {counts.shape} and accuracy {acc.shape}; pass two 1-D arrays "
            "of the same length, one point per round"
        )
    if not np.all(np.isfinite(acc)) or np.any((acc < 0) | (acc > 1)):
        raise LearningCurveInputError("accuracy must be finite values in [0, 1]")
    order = np.argsort(counts, kind="stable")
    return counts[order], acc[order]


def _fit_from(
    x: NDArray[np.float64], acc: NDArray[np.float64], sigma: NDArray[np.float64], c0: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], float] | None:
    """One curve_fit from exponent ``c0``; (params, covariance, weighted SSE) or None."""
    a0 = min(1.0, float(acc.max()) + 0.02)
    g0 = float(np.clip(np.mean((a0 - acc) * np.power(x, c0)), 1e-4, _UPPER[1] - 1e-4))
    with warnings.catch_warnings():
        # An undetermined covariance is detected below by its non-finite entries.
        warnings.simplefilter("ignore", OptimizeWarning)
        try:
            # On counts divided by n_ref, the law's ``b`` is the scaled gap ``g``.
            params, cov = curve_fit(
                inverse_power_law,
                x,
                acc,
                p0=(a0, g0, c0),
                sigma=sigma,
                bounds=(_LOWER, _UPPER),
                max_nfev=2000,
            )
        except (RuntimeError, ValueError):
            return None
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(cov))):
        return None
    sse = float(np.sum(((acc - inverse_power_law(x, *params)) / sigma) ** 2))
    return np.asarray(params, dtype=np.float64), np.asarray(cov, dtype=np.float64), sse


def fit_learning_curve(
    n: ArrayLike, accuracy: ArrayLike, *, weight_later: bool = True
) -> LearningCurveFit | None:
    """Fit ``acc(n) = a - b * n**(-c)`` with ``0 <= a <= 1``, ``b >= 0``, ``c > 0``.

    Several starting exponents are tried and the best weighted fit kept.

    Args:
        n: ``(m,)`` label counts of the rounds, all positive.
        accuracy: ``(m,)`` accuracy after each round, in [0, 1].
        weight_later: weigh each point by ``n`` (noise taken as ``n**(-1/2)``);
            False weighs all points equally.

    Returns:
        The fit, or None with fewer than 4 distinct label counts or when no
        start converges to a finite covariance.

    Raises:
        LearningCurveInputError: the points are malformed.
    """
    counts, acc = _check_points(n, accuracy)
    if len(np.unique(counts)) < MIN_POINTS:
        return None
    n_ref = float(np.exp(np.mean(np.log(counts))))
    x = counts / n_ref
    sigma = np.sqrt(counts.max() / counts) if weight_later else np.ones_like(counts)
    fits = [f for f in (_fit_from(x, acc, sigma, c0) for c0 in _START_EXPONENTS) if f]
    if not fits:
        return None
    scaled, scaled_cov, _ = min(fits, key=lambda f: f[2])
    a, g, c = (float(p) for p in scaled)
    b = g * n_ref**c
    # Delta method: b = g * n_ref**c, so db/dg = n_ref**c and db/dc = b * ln(n_ref).
    jac = np.array([[1.0, 0.0, 0.0], [0.0, n_ref**c, b * np.log(n_ref)], [0.0, 0.0, 1.0]])
    residuals = acc - inverse_power_law(counts, a, b, c)
    return LearningCurveFit(
        params=np.array([a, b, c]),
        covariance=jac @ scaled_cov @ jac.T,
        n_ref=n_ref,
        scaled_params=scaled,
        scaled_covariance=scaled_cov,
        n=counts,
        accuracy=acc,
        residual_std=float(np.sqrt(np.mean(residuals**2))),
    )
