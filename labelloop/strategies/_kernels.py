"""Numerical kernels shared by several strategies: blocked reductions and seeding."""

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "as_float",
    "d2_seeding",
    "item_blocks",
    "neg_entropy_sum",
    "outside_unit_interval",
    "plogp",
    "row_sq_norms",
    "vote_counts",
]

_FloatArray = NDArray[np.floating[Any]]

# Bytes of input per block: a block and its temporaries stay in the L2 cache.
_BLOCK_BYTES = 1 << 19
# Slack for probabilities that leave [0, 1] by rounding (softmax in float32, averaging).
_PROB_TOLERANCE = 1e-6


def as_float(array: _FloatArray) -> _FloatArray:
    """Return ``array`` if it is float32 or float64, else a float64 copy."""
    if array.dtype in (np.float32, np.float64):
        return array
    return array.astype(np.float64)


def outside_unit_interval(array: NDArray[Any]) -> tuple[float, float] | None:
    """``(min, max)`` of ``array`` if a value leaves [0, 1] or is NaN, else None.

    Values within rounding slack (1e-6) of the interval count as inside; an
    empty array is inside.
    """
    if array.size == 0:
        return None
    # min and max are two fast reductions with no temporary array, and any NaN
    # propagates into them, so one comparison also rejects NaN and inf.
    low, high = float(array.min()), float(array.max())
    if low >= -_PROB_TOLERANCE and high <= 1.0 + _PROB_TOLERANCE:
        return None
    return low, high


def item_blocks(n: int, bytes_per_item: int, block_bytes: int = _BLOCK_BYTES) -> Iterator[slice]:
    """Yield slices covering ``range(n)`` whose blocks hold about ``block_bytes`` of input."""
    rows = max(1, block_bytes // max(1, bytes_per_item))
    for start in range(0, n, rows):
        yield slice(start, min(n, start + rows))


def neg_entropy_sum(block: _FloatArray) -> _FloatArray:
    """``sum_c p_c log p_c`` over the last axis of ``(..., n_classes)`` probabilities.

    Computed in the dtype of ``block`` with ``0 log 0 = 0``.

    Returns:
        ``(...)`` the sums, in the dtype of ``block`` (zero or negative).
    """
    # A matrix-vector product sums short rows far faster than sum(axis=-1).
    summed: _FloatArray = plogp(block) @ np.ones(block.shape[-1], dtype=block.dtype)
    return summed


def plogp(block: _FloatArray) -> _FloatArray:
    """Elementwise ``p log p`` with ``0 log 0 = 0``, as a new array in ``block``'s dtype."""
    # Clipping at the smallest normal float keeps log finite, so p = 0 gives
    # 0 * log(tiny) = 0 exactly; for p > 0 the clip changes nothing that matters.
    terms = np.maximum(block, np.finfo(block.dtype).tiny)
    np.log(terms, out=terms)
    np.multiply(terms, block, out=terms)
    return terms


def row_sq_norms(matrix: _FloatArray) -> NDArray[np.float64]:
    """``(n,)`` float64 squared Euclidean norm of each row of ``(n, d)`` ``matrix``."""
    out = np.empty(matrix.shape[0], dtype=np.float64)
    for rows in item_blocks(matrix.shape[0], matrix.shape[1] * matrix.itemsize):
        block = matrix[rows].astype(np.float64)
        out[rows] = np.einsum("ij,ij->i", block, block)
    return out


def vote_counts(block: _FloatArray) -> NDArray[np.int64]:
    """Count, per item and class, the samples whose most probable class it is.

    Args:
        block: ``(n_samples, b, n_classes)`` probabilities; a sample with tied top
            classes votes the lower class index.

    Returns:
        ``(b, n_classes)`` vote counts; each row sums to ``n_samples``.
    """
    n_samples, b, n_classes = block.shape
    votes = block.argmax(axis=2)
    counts = np.zeros((b, n_classes), dtype=np.int64)
    rows = np.arange(b)
    for t in range(n_samples):
        # Each row gets exactly one index per sample, so fancy += counts correctly.
        counts[rows, votes[t]] += 1
    return counts


def d2_seeding(
    first: int,
    k: int,
    sq_distances_to: Callable[[int], NDArray[np.float64]],
    eligible: NDArray[np.bool_],
    rng: np.random.Generator,
    n_trials: int = 1,
) -> NDArray[np.int64]:
    """k-means++ seeding (Arthur and Vassilvitskii 2007) from a given first seed.

    After ``first``, each seed is drawn among the eligible points with probability
    proportional to its squared distance to the nearest seed so far. With
    ``n_trials > 1`` ("greedy" k-means++), that many points are drawn and the one
    that most lowers the sum of those distances is kept, which avoids most of the
    poor seedings a single draw makes. When every eligible point sits on a seed
    (all distances zero), the lowest-index eligible point not yet chosen is taken,
    so exactly ``k`` distinct seeds come back.

    Args:
        first: Index of the first seed; must be eligible.
        k: Seeds to choose, ``1 <= k <=`` the number of eligible points.
        sq_distances_to: Returns ``(n,)`` float64 squared distances (>= 0) from
            every point to point ``i``; it may reuse one scratch array.
        eligible: ``(n,)`` True for points that may be seeds.
        rng: Source of the draws.
        n_trials: Draws per seed, >= 1.

    Returns:
        ``(k,)`` int64 distinct eligible indices, in the order drawn.
    """
    chosen = np.empty(k, dtype=np.int64)
    chosen[0] = first
    weights = np.where(eligible, sq_distances_to(first), 0.0)
    weights[first] = 0.0
    for i in range(1, k):
        cumulative = np.cumsum(weights)
        total = float(cumulative[-1])
        if total > 0.0:
            # side="right" never lands on a zero-weight point (its cumulative sum
            # equals its predecessor's), so chosen and ineligible points are skipped;
            # the cap keeps a draw that rounds up to the total off the end.
            values = np.minimum(rng.random(n_trials) * total, np.nextafter(total, 0.0))
            trials = np.searchsorted(cumulative, values, side="right")
            pick, nearest = _best_trial(trials, weights, sq_distances_to)
        else:
            remaining = eligible.copy()
            remaining[chosen[:i]] = False
            pick = int(np.argmax(remaining))
            nearest = np.minimum(weights, sq_distances_to(pick))
        chosen[i] = pick
        weights = nearest
        weights[pick] = 0.0
    return chosen


def _best_trial(
    trials: NDArray[np.intp],
    weights: NDArray[np.float64],
    sq_distances_to: Callable[[int], NDArray[np.float64]],
) -> tuple[int, NDArray[np.float64]]:
    """The trial seed whose addition leaves the smallest total weight, and that weight."""
    best, best_weights, best_total = -1, weights, np.inf
    for trial in trials.tolist():
        updated = np.minimum(weights, sq_distances_to(trial))
        total = float(updated.sum())
        if total < best_total:
            best, best_weights, best_total = trial, updated, total
    return best, best_weights
