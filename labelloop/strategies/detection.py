"""Active learning for object detection: per-object uncertainty, aggregated per image.

A detector proposes a variable number of boxes per image, each with a class
distribution, a confidence score and optionally a localization stability. The
strategies here score each box, keep only boxes the detector would report
(``score >= min_score``), and aggregate the boxes of an image into one number
by their sum, mean or maximum (Brust et al., "Active Learning for Deep Object
Detection", 2019, who found the sum of per-box margins best on Pascal VOC).

Images with no box above ``min_score`` have nothing to aggregate and are
handled by an explicit ``empty_policy``:

* ``"mean"`` (default): the mean score of the pool's unlabeled images that
  have boxes (labeled images are left out: the model trained on them, so
  their confident scores would pull the fill down). Such an image is either
  a true negative or one whose objects the model misses; the model's scores
  cannot tell which, so it is placed in the middle, where it neither crowds
  the top of the ranking (early models find nothing in most images, so
  ``"max"`` would fill whole batches with them) nor is never seen.
* ``"max"``: the largest score among those images, so they tie with the most
  uncertain image (ties go to the lower index) and get looked at first.
* ``"zero"``: 0, the least informative; they are labeled last.

Everything here is numpy over arrays, so the strategies can be tested with
numbers and benchmarked; the detector lives in :mod:`labelloop.learners`.
"""

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Literal, cast

import numpy as np
from numpy.typing import NDArray

from labelloop.strategies._kcenter import k_center_greedy
from labelloop.strategies._kernels import as_float
from labelloop.strategies._params import check_choice, check_int, check_real, make_rng
from labelloop.strategies._topk import top_k
from labelloop.strategies.batch import diverse_top_k
from labelloop.strategies.errors import (
    InvalidParameterError,
    MissingPoolFieldError,
    PoolShapeError,
    UnknownStrategyError,
)

__all__ = [
    "DEFAULT_MIN_SCORE",
    "DETECTION_STRATEGY_NAMES",
    "Aggregation",
    "BoxUncertainty",
    "CoreSetDetection",
    "DetectionPool",
    "DetectionStrategy",
    "DetectionStrategyName",
    "DiverseUncertaintyDetection",
    "EmptyPolicy",
    "InstabilityDetection",
    "RandomDetection",
    "UncertaintyDetection",
    "aggregate",
    "box_uncertainty",
    "image_confidence",
    "image_instability",
    "image_uncertainty",
    "least_certain_box",
    "make_detection_strategy",
]

BoxUncertainty = Literal["entropy", "least_confidence", "margin"]
Aggregation = Literal["max", "mean", "sum"]
EmptyPolicy = Literal["max", "mean", "zero"]

DEFAULT_MIN_SCORE = 0.1
"""Boxes scoring below this are not counted as detections. Detectors report
boxes down to a low threshold (0.05 for :class:`~labelloop.learners.TorchDetector`)
so that mAP sees the whole precision-recall curve; those near-noise boxes would
otherwise dominate an image's sum."""

_KINDS: tuple[BoxUncertainty, ...] = ("entropy", "least_confidence", "margin")
_AGGREGATIONS: tuple[Aggregation, ...] = ("max", "mean", "sum")
_EMPTY_POLICIES = ("max", "mean", "zero")
_PROB_TOLERANCE = 1e-6

_FloatArray = NDArray[np.floating[Any]]


def box_uncertainty(class_probs: _FloatArray, kind: BoxUncertainty) -> NDArray[np.float64]:
    """Uncertainty of each box about its class, in ``[0, 1]``; higher is less sure.

    * ``"entropy"``: ``-sum_c p_c log p_c / log K``, the entropy normalised by
      its maximum, so it lies in ``[0, 1]`` for any number of classes ``K``
      (and is 0 when ``K == 1``).
    * ``"margin"``: ``1 - (p_top1 - p_top2)`` (with ``p_top2 = 0`` when ``K == 1``).
    * ``"least_confidence"``: ``1 - p_top1``.

    Args:
        class_probs: ``(m, K)`` class distribution of each box.
        kind: Which uncertainty.

    Returns:
        ``(m,)`` float64 uncertainties.

    Raises:
        PoolShapeError: If ``class_probs`` is not a 2-D float array.
        InvalidParameterError: If ``kind`` is unknown.

    Example:
        >>> box_uncertainty(np.array([[0.7, 0.2, 0.1]]), "margin").round(2)
        array([0.5])
    """
    check_choice("kind", kind, _KINDS)
    probs = _check_probs("class_probs", class_probs).astype(np.float64)
    m, n_classes = probs.shape
    if m == 0:
        return np.empty(0, dtype=np.float64)
    if kind == "entropy":
        if n_classes == 1:
            return np.zeros(m, dtype=np.float64)
        terms = probs * np.log(np.maximum(probs, np.finfo(np.float64).tiny))
        entropy: NDArray[np.float64] = -terms.sum(axis=1) / np.log(n_classes)
        return np.clip(entropy, 0.0, 1.0)
    ordered = np.sort(probs, axis=1)
    first = ordered[:, -1]
    if kind == "least_confidence":
        return np.clip(1.0 - first, 0.0, 1.0)
    second = ordered[:, -2] if n_classes > 1 else np.zeros(m)
    return np.clip(1.0 - (first - second), 0.0, 1.0)


def aggregate(box_scores: _FloatArray, how: Aggregation, empty: float) -> float:
    """One image's score from its boxes' scores.

    Args:
        box_scores: ``(m,)`` per-box scores (uncertainties or instabilities).
        how: ``"sum"``, ``"mean"`` or ``"max"`` of the boxes.
        empty: What an image without boxes gets.

    Returns:
        The image's score; ``empty`` when ``m == 0``.

    Raises:
        InvalidParameterError: If ``how`` is unknown.
        PoolShapeError: If ``box_scores`` is not 1-D.

    Example:
        >>> aggregate(np.array([0.5, 0.25]), "sum", empty=0.0)
        0.75
    """
    check_choice("how", how, _AGGREGATIONS)
    values = np.asarray(box_scores, dtype=np.float64)
    if values.ndim != 1:
        raise PoolShapeError(f"box_scores must be 1-D (m,); got shape {values.shape}.")
    if values.size == 0:
        return float(empty)
    if how == "sum":
        return float(values.sum())
    if how == "mean":
        return float(values.mean())
    return float(values.max())


def image_confidence(
    scores: _FloatArray, how: Literal["mean", "min"] = "min", empty: float = 0.0
) -> float:
    """An image's confidence for stream selectors, from its boxes' confidence scores.

    Pass it as ``decide(confidence=...)`` to a
    :class:`~labelloop.strategies.stream.StreamSelector`: with ``"min"`` an
    image is decided by its least confident object.

    An image with no detection gets ``empty``, 0 by default: the detector saw
    nothing, which is either a true negative or a complete miss, and a miss is
    exactly what a person must catch; the stream's budget manager caps how
    many such images are queried. Pass ``empty=1.0`` to trust empty images.
    Filter the boxes by score first if low-scoring boxes are noise.

    Args:
        scores: ``(m,)`` box confidences in ``[0, 1]``.
        how: ``"min"`` (least confident box) or ``"mean"``.
        empty: Confidence of an image without boxes, in ``[0, 1]``.

    Returns:
        The image's confidence in ``[0, 1]``.

    Raises:
        InvalidParameterError: If ``how`` or ``empty`` is out of range.
        PoolShapeError: If ``scores`` is not 1-D in ``[0, 1]``.
    """
    check_choice("how", how, ("mean", "min"))
    check_real("empty", empty, low=0.0, high=1.0)
    values = _check_unit_vector("scores", scores)
    if values.size == 0:
        return float(empty)
    return float(values.min() if how == "min" else values.mean())


def least_certain_box(scores: _FloatArray, empty: float = 1.0) -> float:
    """The lowest box confidence of an image, to order a review queue ascending.

    Args:
        scores: ``(m,)`` box confidences in ``[0, 1]``.
        empty: What an image without boxes gets; 1 by default, so images with
            nothing to review come last.

    Returns:
        ``min(scores)``, or ``empty`` when there are no boxes.

    Raises:
        PoolShapeError: If ``scores`` is not 1-D in ``[0, 1]``.
    """
    values = _check_unit_vector("scores", scores)
    return float(values.min()) if values.size else float(empty)


def _check_probs(field: str, value: object) -> _FloatArray:
    if not isinstance(value, np.ndarray) or value.ndim != 2:
        shape = value.shape if isinstance(value, np.ndarray) else type(value).__name__
        raise PoolShapeError(
            f"{field} must be a 2-D array (m, n_classes), one row per box; got {shape}. "
            "An image without boxes is np.zeros((0, n_classes))."
        )
    if not np.issubdtype(value.dtype, np.floating):
        raise PoolShapeError(f"{field} must hold floats; got dtype {value.dtype}.")
    if value.size and not np.isfinite(value).all():
        raise PoolShapeError(
            f"{field} contains NaN or infinite values; pass each box's class distribution."
        )
    return value


def _check_unit_vector(field: str, value: object) -> NDArray[np.float64]:
    values = np.asarray(value, dtype=np.float64)
    if values.ndim != 1:
        raise PoolShapeError(f"{field} must be 1-D (m,), one value per box; got {values.shape}.")
    if values.size and not (
        values.min() >= -_PROB_TOLERANCE and values.max() <= 1.0 + _PROB_TOLERANCE
    ):
        raise PoolShapeError(
            f"{field} must lie in [0, 1] with no NaN; got values in "
            f"[{values.min()}, {values.max()}]."
        )
    return values


@dataclass(frozen=True, eq=False)
class DetectionPool:
    """A detector's outputs on ``n`` images, one entry per image, for the strategies.

    Arrays are kept as given, not copied.

    Attributes:
        class_probs: ``n`` arrays of shape ``(m_i, K)``: each box's class
            distribution; ``(0, K)`` for an image without boxes.
        scores: ``n`` arrays of shape ``(m_i,)``: each box's confidence in
            ``[0, 1]``, or ``None`` to count every box as a detection.
        stability: ``n`` arrays of shape ``(m_i,)``: each box's localization
            stability in ``[0, 1]``, or ``None``.
        embeddings: ``(n, d)`` one feature vector per image, or ``None``.
        labeled: ``(n,)`` True for images that already have a label; they are
            never selected, and core-set uses them as centers. ``None``: none.

    Raises:
        PoolShapeError: If an array has the wrong shape, dtype or values, or
            the per-image sequences disagree in length or box counts.
    """

    class_probs: Sequence[_FloatArray]
    scores: Sequence[_FloatArray] | None = None
    stability: Sequence[_FloatArray] | None = None
    embeddings: _FloatArray | None = None
    labeled: NDArray[np.bool_] | None = None

    def __post_init__(self) -> None:
        """Validate every array against ``class_probs``."""
        n = len(self.class_probs)
        widths = {
            _check_probs(f"class_probs[{i}]", p).shape[1] for i, p in enumerate(self.class_probs)
        }
        if len(widths) > 1:
            raise PoolShapeError(
                f"every class_probs array needs the same number of classes; got {sorted(widths)}."
            )
        for field in ("scores", "stability"):
            values = getattr(self, field)
            if values is None:
                continue
            if len(values) != n:
                raise PoolShapeError(
                    f"DetectionPool.{field} has {len(values)} entries for {n} images; pass "
                    "one array per image."
                )
            for i, (probs, array) in enumerate(zip(self.class_probs, values, strict=True)):
                checked = _check_unit_vector(f"{field}[{i}]", array)
                if checked.shape[0] != probs.shape[0]:
                    raise PoolShapeError(
                        f"{field}[{i}] has {checked.shape[0]} values but class_probs[{i}] has "
                        f"{probs.shape[0]} boxes; pass one value per box."
                    )
        self._check_embeddings(n)
        labeled: object = self.labeled
        if labeled is not None and (
            not isinstance(labeled, np.ndarray)
            or labeled.dtype != np.bool_
            or labeled.shape != (n,)
        ):
            raise PoolShapeError(
                f"DetectionPool.labeled must be a boolean array of shape ({n},) or None."
            )

    def _check_embeddings(self, n: int) -> None:
        embeddings = self.embeddings
        if embeddings is None:
            return
        if (
            not isinstance(embeddings, np.ndarray)
            or embeddings.ndim != 2
            or embeddings.shape[0] != n
            or not np.issubdtype(embeddings.dtype, np.floating)
        ):
            raise PoolShapeError(
                f"DetectionPool.embeddings must be a float array of shape ({n}, d); pass the "
                "detector's embed() output for the same images."
            )
        if embeddings.size and not np.isfinite(embeddings).all():
            raise PoolShapeError("DetectionPool.embeddings contains NaN or infinite values.")

    @property
    def n(self) -> int:
        """Number of images."""
        return len(self.class_probs)

    def unlabeled_mask(self) -> NDArray[np.bool_]:
        """``(n,)`` True for images that may be selected."""
        if self.labeled is None:
            return np.ones(self.n, dtype=bool)
        return ~self.labeled


def _per_image(
    pool: DetectionPool,
    box_scores: Callable[[int], NDArray[np.float64]],
    how: Aggregation,
    min_score: float,
    empty_policy: EmptyPolicy,
) -> NDArray[np.float64]:
    """Aggregate per-box scores of each image, then fill empty images by policy."""
    check_choice("how", how, _AGGREGATIONS)
    check_choice("empty_policy", empty_policy, _EMPTY_POLICIES)
    threshold = check_real("min_score", min_score, low=0.0, high=1.0)
    out = np.zeros(pool.n, dtype=np.float64)
    has_boxes = np.zeros(pool.n, dtype=bool)
    for i in range(pool.n):
        values = box_scores(i)
        if pool.scores is not None:
            values = values[np.asarray(pool.scores[i]) >= threshold]
        has_boxes[i] = values.size > 0
        out[i] = aggregate(values, how, empty=0.0)
    # The fill comes from the unlabeled images with boxes: labeled images are
    # ones the model was trained on, so their confident scores would drag it down.
    reference = has_boxes & pool.unlabeled_mask()
    if empty_policy != "zero" and reference.any():
        values = out[reference]
        out[~has_boxes] = values.max() if empty_policy == "max" else values.mean()
    return out


def image_uncertainty(
    pool: DetectionPool,
    kind: BoxUncertainty,
    how: Aggregation,
    *,
    min_score: float = DEFAULT_MIN_SCORE,
    empty_policy: EmptyPolicy = "mean",
) -> NDArray[np.float64]:
    """Each image's aggregated box uncertainty (see :func:`box_uncertainty`).

    Args:
        pool: The detector's outputs.
        kind: Per-box uncertainty.
        how: Aggregation over an image's boxes.
        min_score: Boxes with a lower score are not counted (ignored when
            ``pool.scores`` is ``None``).
        empty_policy: Score of images without a counted box (see the module).

    Returns:
        ``(n,)`` float64 scores, higher more informative.
    """
    return _per_image(
        pool,
        lambda i: box_uncertainty(pool.class_probs[i], kind),
        how,
        min_score,
        empty_policy,
    )


def image_instability(
    pool: DetectionPool,
    how: Aggregation,
    *,
    min_score: float = DEFAULT_MIN_SCORE,
    empty_policy: EmptyPolicy = "mean",
) -> NDArray[np.float64]:
    """Each image's aggregated box instability, ``1 - stability`` per box.

    Args:
        pool: The detector's outputs, with ``stability`` set.
        how: Aggregation over an image's boxes.
        min_score: Boxes with a lower score are not counted.
        empty_policy: Score of images without a counted box.

    Returns:
        ``(n,)`` float64 scores, higher more informative.

    Raises:
        MissingPoolFieldError: If ``pool.stability`` is ``None``.
    """
    stability = pool.stability
    if stability is None:
        raise MissingPoolFieldError(
            "instability needs pool.stability; predict with stability=True and pass "
            "each image's ImageDetections.stability."
        )
    return _per_image(
        pool,
        lambda i: 1.0 - np.asarray(stability[i], dtype=np.float64),
        how,
        min_score,
        empty_policy,
    )


class DetectionStrategy(ABC):
    """Base class of detection query strategies: rank images, pick the top.

    The constructor only stores its parameters; they are checked when
    :meth:`score` or :meth:`select` runs.

    Attributes:
        requires: The optional :class:`DetectionPool` fields the strategy reads.
    """

    requires: ClassVar[frozenset[str]] = frozenset()

    @property
    @abstractmethod
    def name(self) -> str:
        """The registry name, e.g. ``"margin_sum"``."""

    @abstractmethod
    def _score(self, pool: DetectionPool, random_state: int | None) -> NDArray[np.float64]:
        """``(n,)`` scores of every image; fields in :attr:`requires` are set."""

    def score(self, pool: DetectionPool, random_state: int | None = None) -> NDArray[np.float64]:
        """Score every image of the pool, labeled ones too; higher is more informative.

        Args:
            pool: The detector's outputs.
            random_state: Seed for strategies that draw at random; others ignore it.

        Returns:
            ``(n,)`` float64 finite scores.

        Raises:
            MissingPoolFieldError: If a field in :attr:`requires` is ``None``.
            InvalidParameterError: If a parameter is out of range.
        """
        self._check_requires(pool)
        return self._score(pool, random_state)

    def select(
        self, pool: DetectionPool, batch_size: int, random_state: int | None = None
    ) -> NDArray[np.intp]:
        """Choose unlabeled images to label next, most informative first.

        Args:
            pool: The detector's outputs.
            batch_size: How many images, at least 1.
            random_state: Seed for strategies that draw at random.

        Returns:
            ``(min(batch_size, n_unlabeled),)`` distinct indices into the pool.

        Raises:
            InvalidParameterError: If ``batch_size`` is not an integer >= 1.
            MissingPoolFieldError: If a field in :attr:`requires` is ``None``.
        """
        k = cast(int, check_int("batch_size", batch_size, low=1))
        self._check_requires(pool)
        unlabeled = pool.unlabeled_mask()
        k = min(k, int(np.count_nonzero(unlabeled)))
        if k == 0:
            return np.empty(0, dtype=np.intp)
        return self._select(pool, k, random_state).astype(np.intp, copy=False)

    def select_scored(
        self, pool: DetectionPool, batch_size: int, random_state: int | None = None
    ) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Choose as :meth:`select` does and return the scores of the same pass.

        The pool is scored once, where calling :meth:`select` and then
        :meth:`score` would score it twice (for core-set, two traversals).

        Args:
            pool: The detector's outputs.
            batch_size: How many images, at least 1.
            random_state: Seed for strategies that draw at random.

        Returns:
            The indices :meth:`select` returns, shape
            ``(min(batch_size, n_unlabeled),)``, and every image's score as
            :meth:`score` returns it, shape ``(n,)``.

        Raises:
            InvalidParameterError: If ``batch_size`` is not an integer >= 1.
            MissingPoolFieldError: If a field in :attr:`requires` is ``None``.
        """
        k = cast(int, check_int("batch_size", batch_size, low=1))
        self._check_requires(pool)
        scores = self._score(pool, random_state)
        k = min(k, int(np.count_nonzero(pool.unlabeled_mask())))
        if k == 0:
            return np.empty(0, dtype=np.intp), scores
        return self._rank(pool, scores, k).astype(np.intp, copy=False), scores

    def _select(self, pool: DetectionPool, k: int, random_state: int | None) -> NDArray[np.int64]:
        """The ``k`` best unlabeled images by :meth:`_rank` of the scores."""
        return self._rank(pool, self._score(pool, random_state), k)

    def _rank(self, pool: DetectionPool, scores: NDArray[np.float64], k: int) -> NDArray[np.int64]:
        """The ``k`` highest ``scores`` among unlabeled images, ties to the lower index."""
        # top_k writes into its scores; select_scored hands these back to the caller
        return top_k(scores.copy(), k, exclude=~pool.unlabeled_mask())

    def _check_requires(self, pool: DetectionPool) -> None:
        for field in sorted(self.requires):
            if getattr(pool, field) is None:
                raise MissingPoolFieldError(
                    f"strategy {self.name!r} needs pool.{field}, which is None; build the "
                    f"DetectionPool with {field}=..."
                )

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters as stored.

        Returns:
            A new dict from parameter name to value.
        """
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {p: getattr(self, p) for p in names}

    def __repr__(self) -> str:
        """Show the class and its parameters."""
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_params().items())
        return f"{type(self).__name__}({args})"


class RandomDetection(DetectionStrategy):
    """Uniform random images: the baseline. Scores are uniform draws seeded by ``random_state``."""

    def __init__(self) -> None:
        pass

    @property
    def name(self) -> str:
        """``"random"``."""
        return "random"

    def _score(self, pool: DetectionPool, random_state: int | None) -> NDArray[np.float64]:
        return make_rng(random_state).random(pool.n)


class UncertaintyDetection(DetectionStrategy):
    """Images ranked by their aggregated per-box class uncertainty (Brust et al. 2019).

    Args:
        kind: Per-box uncertainty, see :func:`box_uncertainty`.
        how: ``"sum"`` favours images with many unsure objects, ``"mean"``
            the average box, ``"max"`` the single worst box.
        min_score: Boxes scoring lower are not counted.
        empty_policy: Score of images without a counted box (see the module).
    """

    def __init__(
        self,
        kind: BoxUncertainty = "margin",
        how: Aggregation = "sum",
        min_score: float = DEFAULT_MIN_SCORE,
        empty_policy: EmptyPolicy = "mean",
    ) -> None:
        self.kind = kind
        self.how = how
        self.min_score = min_score
        self.empty_policy = empty_policy

    @property
    def name(self) -> str:
        """``"{kind}_{how}"``, e.g. ``"margin_sum"``."""
        return f"{self.kind}_{self.how}"

    def _score(self, pool: DetectionPool, random_state: int | None) -> NDArray[np.float64]:
        return image_uncertainty(
            pool, self.kind, self.how, min_score=self.min_score, empty_policy=self.empty_policy
        )


class InstabilityDetection(DetectionStrategy):
    """Images ranked by aggregated localization instability (Kao et al. 2018).

    Args:
        how: Aggregation over an image's boxes.
        min_score: Boxes scoring lower are not counted.
        empty_policy: Score of images without a counted box.
    """

    requires = frozenset({"stability"})

    def __init__(
        self,
        how: Aggregation = "sum",
        min_score: float = DEFAULT_MIN_SCORE,
        empty_policy: EmptyPolicy = "mean",
    ) -> None:
        self.how = how
        self.min_score = min_score
        self.empty_policy = empty_policy

    @property
    def name(self) -> str:
        """``"instability_{how}"``."""
        return f"instability_{self.how}"

    def _score(self, pool: DetectionPool, random_state: int | None) -> NDArray[np.float64]:
        return image_instability(
            pool, self.how, min_score=self.min_score, empty_policy=self.empty_policy
        )


class DiverseUncertaintyDetection(UncertaintyDetection):
    """Uncertainty ranking whose batch skips images with near-duplicate embeddings.

    Scores as :class:`UncertaintyDetection`; :meth:`select` walks the ranking
    through :func:`~labelloop.strategies.batch.diverse_top_k`.

    Args:
        kind: Per-box uncertainty.
        how: Aggregation over an image's boxes.
        min_score: Boxes scoring lower are not counted.
        empty_policy: Score of images without a counted box.
        max_similarity: Largest cosine similarity between two images of a batch.
    """

    requires = frozenset({"embeddings"})

    def __init__(
        self,
        kind: BoxUncertainty = "entropy",
        how: Aggregation = "sum",
        min_score: float = DEFAULT_MIN_SCORE,
        empty_policy: EmptyPolicy = "mean",
        max_similarity: float = 0.95,
    ) -> None:
        super().__init__(kind, how, min_score, empty_policy)
        self.max_similarity = max_similarity

    @property
    def name(self) -> str:
        """``"{kind}_{how}_diverse"``."""
        return f"{self.kind}_{self.how}_diverse"

    def _rank(self, pool: DetectionPool, scores: NDArray[np.float64], k: int) -> NDArray[np.int64]:
        embeddings = pool.embeddings
        if embeddings is None:  # _check_requires has ruled this out
            raise MissingPoolFieldError(f"strategy {self.name!r} needs pool.embeddings.")
        return diverse_top_k(
            scores,
            embeddings,
            k,
            max_similarity=self.max_similarity,
            exclude=~pool.unlabeled_mask(),
        )


class CoreSetDetection(DetectionStrategy):
    """Core-set on image embeddings (Sener and Savarese 2018): cover the pool.

    Farthest-first traversal from the labeled images, as
    :class:`~labelloop.strategies.CoreSet`. :meth:`score` runs the traversal
    over the whole unlabeled pool: the first pick scores ``n_unlabeled``, the
    next one less, down to 1; labeled images score 0. Ranking those scores
    gives the traversal order back, so :meth:`select_scored` traverses once.
    """

    requires = frozenset({"embeddings"})

    def __init__(self) -> None:
        pass

    @property
    def name(self) -> str:
        """``"coreset"``."""
        return "coreset"

    def _score(self, pool: DetectionPool, random_state: int | None) -> NDArray[np.float64]:
        scores = np.zeros(pool.n, dtype=np.float64)
        n_unlabeled = int(np.count_nonzero(pool.unlabeled_mask()))
        if n_unlabeled:
            order = self._select(pool, n_unlabeled, random_state)
            scores[order] = np.arange(n_unlabeled, 0, -1, dtype=np.float64)
        return scores

    def _select(self, pool: DetectionPool, k: int, random_state: int | None) -> NDArray[np.int64]:
        embeddings = pool.embeddings
        if embeddings is None:  # _check_requires has ruled this out
            raise MissingPoolFieldError("strategy 'coreset' needs pool.embeddings.")
        return k_center_greedy(as_float(embeddings), ~pool.unlabeled_mask(), k)


DetectionStrategyName = Literal[
    "coreset",
    "entropy_max",
    "entropy_mean",
    "entropy_sum",
    "entropy_sum_diverse",
    "instability_max",
    "instability_mean",
    "instability_sum",
    "least_confidence_max",
    "least_confidence_mean",
    "least_confidence_sum",
    "margin_max",
    "margin_mean",
    "margin_sum",
    "random",
]
"""Names :func:`make_detection_strategy` accepts."""


def _registry() -> dict[str, Callable[..., DetectionStrategy]]:
    registry: dict[str, Callable[..., DetectionStrategy]] = {
        "coreset": CoreSetDetection,
        "random": RandomDetection,
        "entropy_sum_diverse": partial(DiverseUncertaintyDetection, "entropy", "sum"),
    }
    for how in _AGGREGATIONS:
        registry[f"instability_{how}"] = partial(InstabilityDetection, how)
        for kind in _KINDS:
            registry[f"{kind}_{how}"] = partial(UncertaintyDetection, kind, how)
    return registry


_STRATEGIES = _registry()

DETECTION_STRATEGY_NAMES: tuple[str, ...] = tuple(sorted(_STRATEGIES))
"""Every registered detection strategy name, sorted."""


def make_detection_strategy(name: str, **params: Any) -> DetectionStrategy:
    """Build a detection strategy by name.

    Args:
        name: One of :data:`DETECTION_STRATEGY_NAMES`, e.g. ``"margin_sum"``.
        **params: Constructor parameters other than those the name fixes,
            e.g. ``min_score=0.2`` or ``empty_policy="max"``.

    Returns:
        The strategy.

    Raises:
        UnknownStrategyError: If no strategy has that name.
        InvalidParameterError: If a parameter is not one the strategy takes.

    Example:
        >>> make_detection_strategy("margin_sum", empty_policy="max")
        UncertaintyDetection(kind='margin', how='sum', min_score=0.1, empty_policy='max')
    """
    try:
        factory = _STRATEGIES[name]
    except KeyError:
        raise UnknownStrategyError(
            f"unknown detection strategy {name!r}; choose one of: "
            f"{', '.join(DETECTION_STRATEGY_NAMES)}."
        ) from None
    try:
        return factory(**params)
    except TypeError as error:
        raise InvalidParameterError(
            f"strategy {name!r} does not take the parameters {sorted(params)} ({error})."
        ) from None
