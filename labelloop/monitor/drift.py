"""Data drift: is a batch of new image embeddings distributed like the training set's?

The reference is the embeddings of the images the current model was trained
on, ``(n_ref, d)``; a batch is the embeddings of newly imported images, ``(n, d)``.
Three two-sample tests share one shape: the constructor stores parameters,
``fit(reference)`` returns the test, ``test(batch)`` returns a
:class:`DriftResult` with a p-value and a per-image shift score.

- :class:`MMDDriftTest`: Gaussian-kernel maximum mean discrepancy with a
  permutation test; catches any change of distribution, jointly over dimensions.
- :class:`KSDriftTest`: a Kolmogorov-Smirnov test per dimension with a
  multiple-testing correction; cheap, and says which dimensions moved.
- :class:`ClassifierDriftTest`: can a classifier tell batch from reference?
  Held-out AUC, with a Mann-Whitney p-value.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from labelloop.monitor._kernel import (
    gaussian_block,
    median_distance,
    mmd2_all,
    permutation_weights,
    sq_distances,
)
from labelloop.monitor.drift_result import DriftResult, Info, drift_weights, shift_weights
from labelloop.monitor.errors import DriftInputError, DriftNotFittedError
from labelloop.monitor.registry import DRIFT_TESTS
from labelloop.plugins import Choice, Configurable, Constraint, Integer, Number, Seed

__all__ = [
    "DRIFT_TEST_NAMES",
    "ClassifierDriftTest",
    "DriftInputError",
    "DriftNotFittedError",
    "DriftResult",
    "DriftTest",
    "KSDriftTest",
    "MMDDriftTest",
    "correct_p_values",
    "drift_weights",
    "make_drift_test",
    "shift_weights",
]

DRIFT_TEST_NAMES: tuple[str, ...] = DRIFT_TESTS.names()
"""The names :func:`make_drift_test` accepts (the registry's, sorted)."""

_ALPHA = Number(low=0.0, high=1.0, low_open=True, high_open=True)

_FloatArray = NDArray[np.floating[Any]]

# Reference rows whose kernel block is kept in memory (float32: 1.6 GB at the limit).
_MAX_MMD_REFERENCE = 20_000
# Rows the median heuristic looks at; its estimate is stable well before this.
_BANDWIDTH_SUBSAMPLE = 1000
# Up to this many reference rows the kernel is computed in float64.
_FLOAT64_MAX_REFERENCE = 2000


@dataclass(eq=False, repr=False)
class DriftTest(Configurable, ABC):
    """A two-sample test of a batch of embeddings against a fitted reference.

    Subclasses set :attr:`name`, declare their parameters as dataclass fields
    (``alpha`` among them, where their signature puts it) with their
    ``constraints`` (checked at :meth:`fit`), may raise :meth:`_min_samples`,
    and implement :meth:`_fit` and :meth:`_test`.
    """

    name: ClassVar[str]
    parameter_error = DriftInputError
    n_features_in_: int = field(init=False)
    n_reference_: int = field(init=False)

    @property
    @abstractmethod
    def alpha(self) -> float:
        """The significance level in (0, 1); each test declares it as a parameter."""

    def fit(self, reference: ArrayLike) -> Self:
        """Learn the reference distribution.

        Args:
            reference: (n_ref, d) embeddings of the images the model was trained on.

        Returns:
            The fitted test.

        Raises:
            DriftInputError: If a parameter is out of range, or ``reference``
                is not a finite 2-D array with enough rows.
        """
        self.check_params()
        X = _as_embeddings("reference", reference, self._min_samples())
        self.n_features_in_ = X.shape[1]
        self.n_reference_ = X.shape[0]
        self._fit(X)
        return self

    def test(self, batch: ArrayLike) -> DriftResult:
        """Test whether ``batch`` comes from the reference distribution.

        Args:
            batch: (n, d) embeddings of new images, ``d`` as in the reference.

        Returns:
            The statistic, p-value, decision and per-image shift scores.

        Raises:
            DriftNotFittedError: If :meth:`fit` has not been called.
            DriftInputError: If ``batch`` is not a finite 2-D array with the
                reference's number of columns and enough rows.
        """
        if not hasattr(self, "n_features_in_"):
            raise DriftNotFittedError(
                f"{type(self).__name__} is not fitted; call fit(reference) before test(batch)."
            )
        Y = _as_embeddings("batch", batch, self._min_samples())
        if Y.shape[1] != self.n_features_in_:
            raise DriftInputError(
                f"batch has {Y.shape[1]} columns but the reference had {self.n_features_in_}; "
                "embed both with the same model."
            )
        statistic, p_value, scores, info = self._test(Y)
        scores = np.asarray(scores, dtype=np.float64)
        scores.setflags(write=False)
        return DriftResult(
            method=self.name,
            statistic=float(statistic),
            p_value=float(p_value),
            alpha=float(self.alpha),
            drifted=bool(p_value <= self.alpha),
            n_reference=self.n_reference_,
            n_batch=Y.shape[0],
            scores=scores,
            info=info,
        )

    def _min_samples(self) -> int:
        return 2

    @abstractmethod
    def _fit(self, X: NDArray[np.float64]) -> None: ...

    @abstractmethod
    def _test(self, Y: NDArray[np.float64]) -> tuple[float, float, NDArray[np.float64], Info]: ...


@dataclass(eq=False, repr=False)
class MMDDriftTest(DriftTest):
    """Gaussian-kernel MMD² between reference and batch, with a permutation test.

    The statistic is the biased (V-statistic) MMD². The kernel is
    ``exp(-‖x-y‖² / (2sigma²))``; unless ``bandwidth`` is given, sigma is the median
    pairwise distance of up to 1,000 reference rows, fixed at ``fit``. Fixing
    it by the reference alone keeps the reference block computable once and
    the shift scores comparable across batches; the false-alarm rate this
    leaves is measured by ``bench/drift.py``.

    ``fit`` computes the reference-reference kernel block once (O(n_ref²)
    memory; float32 above 2,000 reference rows). ``test`` computes only the
    reference-batch and batch-batch blocks, then every permutation's MMD² in
    three matrix products with one weight matrix (see
    :func:`labelloop.monitor._kernel.mmd2_all`). The p-value is
    ``(1 + #{permutations with MMD² >= observed}) / (1 + n_permutations)``.

    The per-image score is the empirical witness function at each batch
    image: its mean kernel to the batch minus its mean kernel to the
    reference. It is high where batch images crowd a region the reference
    leaves empty.

    Args:
        n_permutations: Random relabellings of the pooled sample, >= 1.
        bandwidth: The kernel width sigma > 0, or None for the median heuristic.
        alpha: Significance level in (0, 1).
        random_state: Seed of the bandwidth subsample and the permutations;
            None draws fresh ones. Each ``test`` call restarts from the seed,
            so equal inputs give equal p-values.
    """

    name: ClassVar[str] = "mmd"
    constraints: ClassVar[Mapping[str, Constraint]] = {
        "alpha": _ALPHA,
        "bandwidth": Number(low=0.0, low_open=True, none=True),
        "n_permutations": Integer(low=1),
        "random_state": Seed(),
    }
    n_permutations: int = 500
    bandwidth: float | None = None
    alpha: float = 0.05
    random_state: int | None = None
    bandwidth_: float = field(init=False)
    reference_: _FloatArray = field(init=False)
    reference_sq_norms_: _FloatArray = field(init=False)
    kernel_reference_: _FloatArray = field(init=False)

    def _fit(self, X: NDArray[np.float64]) -> None:
        if X.shape[0] > _MAX_MMD_REFERENCE:
            raise DriftInputError(
                f"reference has {X.shape[0]} rows; MMDDriftTest keeps an n_ref x n_ref kernel, "
                f"so subsample the reference to at most {_MAX_MMD_REFERENCE} rows."
            )
        R: _FloatArray = (
            np.array(X, dtype=np.float64, order="C")
            if X.shape[0] <= _FLOAT64_MAX_REFERENCE
            else np.array(X, dtype=np.float32, order="C")
        )
        bandwidth = self.bandwidth
        if bandwidth is None:
            rng = np.random.default_rng(self.random_state)
            rows = rng.choice(R.shape[0], size=min(R.shape[0], _BANDWIDTH_SUBSAMPLE), replace=False)
            bandwidth = median_distance(R[np.sort(rows)])
            if not bandwidth > 0:
                raise DriftInputError(
                    "the median distance between reference rows is 0 (most rows are identical); "
                    "pass bandwidth= explicitly or deduplicate the reference."
                )
        self.bandwidth_ = float(bandwidth)
        self.reference_ = R
        self.reference_sq_norms_ = np.einsum("ij,ij->i", R, R)
        self.kernel_reference_ = gaussian_block(
            sq_distances(R, R, self.reference_sq_norms_, self.reference_sq_norms_), self.bandwidth_
        )

    def _test(self, Y: NDArray[np.float64]) -> tuple[float, float, NDArray[np.float64], Info]:
        R = self.reference_
        B: _FloatArray = np.ascontiguousarray(Y, dtype=R.dtype)
        K_rb = gaussian_block(sq_distances(R, B, x_sq=self.reference_sq_norms_), self.bandwidth_)
        K_bb = gaussian_block(sq_distances(B, B), self.bandwidth_)
        rng = np.random.default_rng(self.random_state)
        W = permutation_weights(R.shape[0], B.shape[0], self.n_permutations, rng, R.dtype)
        mmd2 = mmd2_all(self.kernel_reference_, K_rb, K_bb, W)
        observed = float(mmd2[0])
        to_batch = K_bb.mean(axis=0, dtype=np.float64)
        to_reference = K_rb.mean(axis=0, dtype=np.float64)
        # A permutation equal to the true split must count as a tie despite
        # rounding, which grows with the kernel's size and the pooled count;
        # this tolerance stays far below the null spread of MMD².
        scale = float(to_batch.mean() + to_reference.mean())
        tol = 4 * float(np.finfo(R.dtype).eps) * math.sqrt(W.shape[1]) * scale
        exceed = int(np.count_nonzero(mmd2[1:] >= observed - tol))
        p_value = (1 + exceed) / (1 + self.n_permutations)
        witness = to_batch - to_reference
        info: Info = {"bandwidth": self.bandwidth_, "n_permutations": int(self.n_permutations)}
        return observed, p_value, witness, info


@dataclass(eq=False, repr=False)
class KSDriftTest(DriftTest):
    """A two-sample Kolmogorov-Smirnov test per dimension, corrected for multiplicity.

    Each dimension's p-value comes from :func:`scipy.stats.ks_2samp`; they are
    corrected by Bonferroni (``min(1, d·p)``) or Benjamini-Hochberg (``"fdr"``,
    the step-up adjusted p-values). The test's p-value is the smallest
    corrected p-value, its statistic that dimension's KS statistic, and
    ``info["drifted_dimensions"]`` lists every dimension with a corrected
    p-value <= ``alpha``.

    The per-image score is the sum of ``|x - mean| / std`` (reference mean and
    standard deviation) over the drifted dimensions; it is 0 for every image
    when no dimension drifted.

    Args:
        correction: ``"fdr"`` (Benjamini-Hochberg) or ``"bonferroni"``.
        alpha: Significance level in (0, 1).
    """

    name: ClassVar[str] = "ks"
    constraints: ClassVar[Mapping[str, Constraint]] = {
        "alpha": _ALPHA,
        "correction": Choice(("fdr", "bonferroni")),
    }
    correction: Literal["fdr", "bonferroni"] = "fdr"
    alpha: float = 0.05
    reference_: NDArray[np.float64] = field(init=False)
    mean_: NDArray[np.float64] = field(init=False)
    scale_: NDArray[np.float64] = field(init=False)

    def _fit(self, X: NDArray[np.float64]) -> None:
        self.reference_ = X.copy()
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        # A constant reference dimension gets unit scale, so any batch spread shows.
        self.scale_ = np.where(std > 0, std, 1.0)

    def _test(self, Y: NDArray[np.float64]) -> tuple[float, float, NDArray[np.float64], Info]:
        ks = stats.ks_2samp(self.reference_, Y, axis=0)
        raw = np.atleast_1d(np.asarray(ks.pvalue, dtype=np.float64))
        corrected = correct_p_values(raw, self.correction)
        ks_statistic = np.atleast_1d(np.asarray(ks.statistic, dtype=np.float64))
        # Among equally significant dimensions, report the largest KS distance.
        best = int(np.lexsort((-ks_statistic, corrected))[0])
        drifted_dims = np.flatnonzero(corrected <= self.alpha)
        z = np.abs(Y[:, drifted_dims] - self.mean_[drifted_dims]) / self.scale_[drifted_dims]
        info: Info = {
            "correction": self.correction,
            "drifted_dimensions": [int(i) for i in drifted_dims],
            "n_dimensions": int(raw.shape[0]),
        }
        return float(ks_statistic[best]), float(corrected[best]), z.sum(axis=1), info


def correct_p_values(
    p_values: NDArray[np.float64], correction: Literal["fdr", "bonferroni"]
) -> NDArray[np.float64]:
    """Adjust per-dimension p-values for testing ``m`` dimensions at once.

    Args:
        p_values: (m,) raw p-values in [0, 1].
        correction: ``"bonferroni"``: ``min(1, m·p)``; ``"fdr"``: the
            Benjamini-Hochberg step-up adjusted p-values
            ``min_{j >= i} m·p_(j) / j`` in sorted order.

    Returns:
        (m,) adjusted p-values in the input's order.
    """
    m = p_values.shape[0]
    if correction == "bonferroni":
        adjusted: NDArray[np.float64] = np.minimum(1.0, p_values * m)
        return adjusted
    order = np.argsort(p_values, kind="stable")
    scaled = p_values[order] * m / np.arange(1, m + 1)
    stepped = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty(m, dtype=np.float64)
    adjusted[order] = np.minimum(1.0, stepped)
    return adjusted


@dataclass(eq=False, repr=False)
class ClassifierDriftTest(DriftTest):
    """Classifier two-sample test: can logistic regression tell batch from reference?

    Reference rows are labelled 0 and batch rows 1; a logistic regression on
    features standardised within each training fold predicts every row out of
    fold (stratified folds, sample weights that give both classes equal total
    weight, since ``n_ref`` is usually far larger than ``n``). The statistic
    is the held-out AUC; the p-value is the one-sided Mann-Whitney U test that
    batch rows score higher than reference rows (AUC > 0.5). The per-image
    score is the out-of-fold probability that the image belongs to the batch.

    Known limitation: the folds' models share most of their training rows,
    so out-of-fold scores are not independent and the Mann-Whitney p-value is
    anti-conservative. On 40 clean random splits of the digits (500 reference,
    100 batch, 32-dimensional projections) it flagged 15% at alpha = 0.05
    (a Stouffer combination of per-fold tests did no better). Use it as a
    screen and for its per-image scores; :class:`MMDDriftTest` holds its level.

    Args:
        n_folds: Cross-validation folds, >= 2; both samples need this many rows.
        alpha: Significance level in (0, 1).
        random_state: Seed of the fold assignment; None draws a fresh one.
    """

    name: ClassVar[str] = "classifier"
    constraints: ClassVar[Mapping[str, Constraint]] = {
        "alpha": _ALPHA,
        "n_folds": Integer(low=2),
        "random_state": Seed(),
    }
    n_folds: int = 5
    alpha: float = 0.05
    random_state: int | None = None
    reference_: NDArray[np.float64] = field(init=False)

    def _min_samples(self) -> int:
        return max(2, int(self.n_folds))

    def _fit(self, X: NDArray[np.float64]) -> None:
        self.reference_ = X.copy()

    def _test(self, Y: NDArray[np.float64]) -> tuple[float, float, NDArray[np.float64], Info]:
        n_ref, n = self.reference_.shape[0], Y.shape[0]
        X = np.vstack([self.reference_, Y])
        y = np.r_[np.zeros(n_ref, dtype=np.int64), np.ones(n, dtype=np.int64)]
        weight = np.where(y == 1, (n_ref + n) / (2.0 * n), (n_ref + n) / (2.0 * n_ref))
        folds = StratifiedKFold(self.n_folds, shuffle=True, random_state=self.random_state)
        oof = np.empty(n_ref + n, dtype=np.float64)
        for train, held in folds.split(X, y):
            scaler = StandardScaler().fit(X[train])
            model = LogisticRegression(max_iter=2000)
            model.fit(scaler.transform(X[train]), y[train], sample_weight=weight[train])
            oof[held] = model.predict_proba(scaler.transform(X[held]))[:, 1]
        auc = float(roc_auc_score(y, oof))
        p_value = float(stats.mannwhitneyu(oof[n_ref:], oof[:n_ref], alternative="greater").pvalue)
        return auc, p_value, oof[n_ref:], {"n_folds": int(self.n_folds)}


def make_drift_test(name: str, **params: Any) -> DriftTest:
    """Build a drift test from its name, as configuration files spell it.

    Args:
        name: One of :data:`DRIFT_TEST_NAMES` (the names of
            :data:`labelloop.monitor.registry.DRIFT_TESTS`).
        **params: Constructor parameters of that test.

    Returns:
        The unfitted test.

    Raises:
        DriftInputError: If ``name`` is unknown or a parameter name is not the test's.
    """
    cls = DRIFT_TESTS.load(name)
    try:
        return cls(**params)
    except TypeError as err:
        raise DriftInputError(f"bad parameters for drift test {name!r}: {err}") from err


def _as_embeddings(what: str, array: ArrayLike, min_rows: int) -> NDArray[np.float64]:
    """``array`` as a finite 2-D float array with at least ``min_rows`` rows."""
    try:
        X = np.asarray(array)
    except ValueError as err:
        raise DriftInputError(f"{what} is not a rectangular array: {err}") from err
    if X.dtype == object or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise DriftInputError(f"{what} must hold numbers; got dtype {X.dtype}.")
    if X.ndim != 2:
        raise DriftInputError(
            f"{what} must be 2-D (n_images, n_dims); got shape {X.shape}. "
            "Reshape a single embedding with x[np.newaxis]."
        )
    if X.shape[0] < min_rows or X.shape[1] < 1:
        raise DriftInputError(
            f"{what} has shape {X.shape}; this test needs at least {min_rows} rows and 1 column."
        )
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if not np.isfinite(X).all():
        raise DriftInputError(f"{what} contains NaN or infinite values; drop or impute those rows.")
    return X
