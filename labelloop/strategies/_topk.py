"""Exact top-k with deterministic tie-breaking, without sorting the whole array."""

import numpy as np
from numpy.typing import NDArray

__all__ = ["top_k"]

# The prefilter reads every _SAMPLE_STRIDE-th score to guess a threshold that about
# 2k scores clear; on random data fewer than k clear it with negligible probability,
# and if it happens the exact path runs on the whole array instead.
_SAMPLE_STRIDE = 16
_SAMPLE_SLACK = 8
# Below this size one argpartition costs about as much as the prefilter itself.
_MIN_PREFILTER_SIZE = 1 << 15


def top_k(
    scores: NDArray[np.float64], k: int, exclude: NDArray[np.bool_] | None = None
) -> NDArray[np.int64]:
    """Return the indices of the ``k`` highest scores, highest first.

    Equal scores are ordered by lower index first, and when a tie straddles the
    k-th place the lower indices win, exactly as a stable sort of ``-scores`` would.
    Runs in O(n) time plus O(k log k) to order the winners.

    Args:
        scores: ``(n,)`` finite scores. Used as scratch: excluded entries may be
            overwritten with ``-inf``.
        k: How many indices to return; ``1 <= k <=`` the number of items not excluded.
        exclude: ``(n,)`` True for items that must never be returned, or None.

    Returns:
        ``(k,)`` int64 distinct indices, by score descending then index ascending.
    """
    n = scores.shape[0]
    if n >= _MIN_PREFILTER_SIZE and 8 * k <= n:
        chosen = _prefiltered_top_k(scores, k, exclude)
        if chosen is not None:
            return chosen
    if exclude is not None:
        np.putmask(scores, exclude, -np.inf)
    return _exact_top_k(scores, k)


def _prefiltered_top_k(
    scores: NDArray[np.float64], k: int, exclude: NDArray[np.bool_] | None
) -> NDArray[np.int64] | None:
    """Top k among the items at or above a threshold guessed from a strided sample.

    Every item outside the candidates scores below the threshold, so when at least
    ``k`` candidates clear it the top k (ties included) lie among them; candidates
    stay in index order, so the tie-break carries over. Returns None when fewer
    than ``k`` items clear the threshold.
    """
    sample = scores[::_SAMPLE_STRIDE]
    if exclude is not None:
        sample = sample[~exclude[::_SAMPLE_STRIDE]]
    rank = min(sample.size, 2 * k // _SAMPLE_STRIDE + _SAMPLE_SLACK)
    if rank == 0:
        return None
    threshold = np.partition(sample, sample.size - rank)[sample.size - rank]
    candidates = np.flatnonzero(scores >= threshold)
    if exclude is not None:
        candidates = candidates[~exclude[candidates]]
    if candidates.size < k:
        return None
    return candidates[_exact_top_k(scores[candidates], k)]


def _exact_top_k(scores: NDArray[np.float64], k: int) -> NDArray[np.int64]:
    """Top ``k`` of ``(n,)`` scores by one argpartition, ties at the boundary by index."""
    n = scores.shape[0]
    if k < n:
        partitioned = np.argpartition(scores, n - k)
        kth = scores[partitioned[n - k]]
        top = partitioned[n - k :]
        above = top[scores[top] > kth]
        # argpartition leaves ties with the k-th value on both sides in no set order.
        ties = np.flatnonzero(scores == kth)[: k - above.size]
        chosen = np.concatenate((above, ties))
        chosen.sort()
    else:
        chosen = np.arange(n)
    order = np.argsort(-scores[chosen], kind="stable")
    return chosen[order].astype(np.int64, copy=False)
