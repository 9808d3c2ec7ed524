"""Which synthesized variants to ask a person about: pure numpy over probabilities.

A variant is worth a query when the model is unsure of it, or when the model's
top class for it differs from its top class for the source image (a flip: the
transform moved the image across a decision boundary).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import NDArray

from labelloop.synthesis.errors import SynthesisInputError

__all__ = [
    "QUERY_MODES",
    "UNCERTAINTY_NAMES",
    "QueryMode",
    "UncertaintyName",
    "prediction_flips",
    "select_queries",
    "uncertainty_scores",
]

QueryMode = Literal["both", "flip", "uncertain"]
"""``uncertain``: most unsure first; ``flip``: only flips, most unsure first;
``both``: flips first, then the rest, each most unsure first."""

QUERY_MODES: tuple[str, ...] = get_args(QueryMode)
"""The values of :data:`QueryMode`, sorted."""

UncertaintyName = Literal["entropy", "least_confidence", "margin"]
"""How unsure the model is of one row of probabilities (as the pool strategies of these names)."""

UNCERTAINTY_NAMES: tuple[str, ...] = get_args(UncertaintyName)
"""The values of :data:`UncertaintyName`, sorted."""

_FloatArray = NDArray[np.floating[Any]]
_Rows = NDArray[np.integer[Any]] | Sequence[int]


def _check_probs(probs: object, name: str) -> _FloatArray:
    array = np.asarray(probs)
    if array.ndim != 2 or array.shape[1] < 2 or not np.issubdtype(array.dtype, np.floating):
        raise SynthesisInputError(
            f"{name} must be a float array (n, n_classes) with n_classes >= 2, "
            f"got shape {array.shape} and dtype {array.dtype}"
        )
    return array


def uncertainty_scores(
    probs: _FloatArray, strategy: UncertaintyName = "margin"
) -> NDArray[np.float64]:
    """Score each row; higher means the model is less sure.

    Args:
        probs: ``(m, n_classes)`` class probabilities.
        strategy: ``margin`` (second-best minus best probability), ``least_confidence``
            (one minus the best) or ``entropy`` (in nats).

    Returns:
        ``(m,)`` float64 scores.

    Raises:
        SynthesisInputError: ``probs`` is not 2-D float, or ``strategy`` is unknown.
    """
    p = _check_probs(probs, "probs").astype(np.float64, copy=False)
    if strategy == "margin":
        top2 = np.partition(p, -2, axis=1)[:, -2:]
        margin: NDArray[np.float64] = top2[:, 0] - top2[:, 1]
        return margin
    if strategy == "least_confidence":
        confidence: NDArray[np.float64] = 1.0 - p.max(axis=1)
        return confidence
    if strategy == "entropy":
        logs = np.log(p, out=np.zeros_like(p), where=p > 0)
        entropy: NDArray[np.float64] = -(p * logs).sum(axis=1)
        return entropy
    raise SynthesisInputError(
        f"unknown uncertainty {strategy!r}; choose one of {', '.join(UNCERTAINTY_NAMES)}"
    )


def _check_sources(sources: object, m: int, n: int) -> NDArray[np.int64]:
    rows = np.asarray(sources)
    if rows.shape != (m,) or (m and not np.issubdtype(rows.dtype, np.integer)):
        raise SynthesisInputError(
            f"sources must be ({m},) ints, the row of each variant's source; got shape "
            f"{rows.shape} and dtype {rows.dtype} (see labelloop.synthesis.source_rows)"
        )
    rows = rows.astype(np.int64, copy=False)
    if m and (rows.min() < 0 or rows.max() >= n):
        raise SynthesisInputError(f"sources must index the {n} source rows, got values outside")
    return rows


def prediction_flips(
    probs_variants: _FloatArray, probs_sources: _FloatArray, sources: _Rows
) -> NDArray[np.bool_]:
    """Where the model's top class for a variant differs from that for its source.

    Args:
        probs_variants: ``(m, n_classes)`` probabilities of the variants.
        probs_sources: ``(n, n_classes)`` probabilities of the source images.
        sources: ``(m,)`` row in ``probs_sources`` of each variant's source.

    Returns:
        ``(m,)`` True where the top class flipped.

    Raises:
        SynthesisInputError: shapes disagree or ``sources`` leaves ``probs_sources``.
    """
    variants = _check_probs(probs_variants, "probs_variants")
    originals = _check_probs(probs_sources, "probs_sources")
    if variants.shape[1] != originals.shape[1]:
        raise SynthesisInputError(
            f"probs_variants has {variants.shape[1]} classes but probs_sources "
            f"{originals.shape[1]}; score both with the same model"
        )
    rows = _check_sources(sources, len(variants), len(originals))
    flips: NDArray[np.bool_] = variants.argmax(axis=1) != originals.argmax(axis=1)[rows]
    return flips


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise SynthesisInputError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


def _first_per_source(
    order: NDArray[np.int64], sources: NDArray[np.int64], max_per_source: int
) -> NDArray[np.int64]:
    """Keep the entries of ``order`` among the first ``max_per_source`` of their source."""
    ranked = sources[order]
    by_source = np.argsort(ranked, kind="stable")
    grouped = ranked[by_source]
    position = np.arange(len(grouped))
    starts = np.r_[True, grouped[1:] != grouped[:-1]] if len(grouped) else np.empty(0, bool)
    seen_before = position - np.maximum.accumulate(np.where(starts, position, 0))
    occurrence = np.empty_like(seen_before)
    occurrence[by_source] = seen_before
    kept: NDArray[np.int64] = order[occurrence < max_per_source]
    return kept


def select_queries(
    probs_variants: _FloatArray,
    probs_sources: _FloatArray,
    sources: _Rows,
    *,
    k: int,
    mode: QueryMode = "both",
    strategy: UncertaintyName = "margin",
    max_per_source: int = 1,
) -> NDArray[np.int64]:
    """Choose the variants to queue for labeling.

    Variants are ranked by mode (flips first for ``both``; only flips for
    ``flip``), then by uncertainty, highest first, then by lower index. Going
    down that ranking, a variant is skipped once ``max_per_source`` variants of
    its source are taken, so one confusing image cannot fill the queue.

    Args:
        probs_variants: ``(m, n_classes)`` the model's probabilities of the variants.
        probs_sources: ``(n, n_classes)`` its probabilities of the source images.
        sources: ``(m,)`` row in ``probs_sources`` of each variant's source
            (:func:`~labelloop.synthesis.source_rows` builds it from provenance).
        k: how many to choose, at least 1.
        mode: ``uncertain``, ``flip`` or ``both``.
        strategy: the uncertainty that orders them, as in :func:`uncertainty_scores`.
        max_per_source: most variants chosen from one source image, at least 1.

    Returns:
        Up to ``k`` int64 indices into the variants, best first; fewer when not
        enough variants qualify (``flip`` with few flips, or few sources).

    Raises:
        SynthesisInputError: a shape, ``k``, ``mode``, ``strategy`` or
            ``max_per_source`` is wrong.
    """
    k = _positive_int(k, "k")
    max_per_source = _positive_int(max_per_source, "max_per_source")
    if mode not in QUERY_MODES:
        raise SynthesisInputError(f"unknown mode {mode!r}; choose one of {', '.join(QUERY_MODES)}")
    flips = prediction_flips(probs_variants, probs_sources, sources)
    scores = uncertainty_scores(probs_variants, strategy)
    rows = np.asarray(sources).astype(np.int64, copy=False)
    index = np.arange(len(scores))
    # lexsort's last key is the primary one: flips, then score, then index.
    primary = ~flips if mode == "both" else np.zeros_like(flips)
    order = np.lexsort((index, -scores, primary)).astype(np.int64)
    if mode == "flip":
        order = order[flips[order]]
    return _first_per_source(order, rows, max_per_source)[:k]
