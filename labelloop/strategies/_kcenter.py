"""Exact k-center greedy (farthest-first traversal) in O(n) extra memory.

Plain greedy adds the farthest point as a center, then updates every point's
distance to its nearest center: one pass over all ``n x d`` embeddings per pick, a
matrix-vector product bound by memory speed. This module returns the same picks
with less work:

- New centers are applied to the pool only every ``_SYNC_CENTERS`` picks, as
  float32 matrix products (compute-bound, several times faster per center than
  a matrix-vector product).
- Between those passes the farthest point is found lazily: the points are kept
  in order of an upper bound on their distance (the last pass), and only the
  head of that order is brought up to date, chunk by chunk, until no point
  further down can beat the best one found (lazy greedy).
- A pass skips points that cannot gain: a point ``x`` whose nearest center is
  ``a`` gains nothing from a center ``c`` with ``|c - a| >= 2 |x - a|`` (triangle
  inequality, as in Elkan's k-means).
- Points whose bound lies below the farthest distance expected a few passes
  ahead are left asleep: their stale distance is still an upper bound, and they
  catch up on all the centers they missed only if the farthest distance falls
  to their bound. In high dimensions few points ever do (on 1,000,000 Gaussian
  points in 128-d, under 1% are above the final farthest distance after the
  first 100 centers).
- Float32 distances ``|x - mu|^2 - 2 x.(c - mu) + b(c)`` carry a rounding error
  bounded per point (``_error_bounds``); every point whose interval overlaps the
  best one is recomputed in float64 from the original embeddings, so the pick is
  the exact argmax, ties to the lower index, as in plain float64 greedy.

Distances are squared Euclidean; "exact" means equal to ``sum((x - c) ** 2)``
evaluated in float64 on the embeddings as given.
"""

from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

__all__ = ["k_center_greedy"]

_FloatArray = NDArray[np.floating[Any]]

# Centers applied to the whole pool at once; larger amortizes reading the pool,
# smaller keeps the lazy scan (which meets every pending center) short.
_SYNC_CENTERS = 64
# Rows per block of the whole-pool pass: a block and its products fit in L2/L3.
_SYNC_ROWS = 8192
# Length of the ordered head of the pool that the lazy scan walks, and its chunk.
_HEAD_SIZE = 1 << 14
_CHUNK = 256
# Share of the pool past which a pass over all points beats gathering the few
# that the triangle inequality leaves.
_GATHER_SHARE = 0.75
# float32 unit roundoff.
_UNIT = 2.0**-24


def k_center_greedy(
    embeddings: _FloatArray, labeled: NDArray[np.bool_], k: int
) -> NDArray[np.int64]:
    """Choose ``k`` unlabeled points by farthest-first traversal from the labeled ones.

    Each pick is the unlabeled point farthest (squared Euclidean) from its nearest
    center, the centers being the labeled points and the earlier picks; ties go to
    the lower index. With no labeled point, the first pick is the unlabeled point
    nearest the mean of all embeddings (deterministic, and central rather than an
    outlier).

    Args:
        embeddings: ``(n, d)`` float32 or float64; float64 is copied once to float32
            for the fast passes, and read as given for the exact checks.
        labeled: ``(n,)`` True for points that are already centers.
        k: Picks to make, ``1 <= k <=`` the number of unlabeled points.

    Returns:
        ``(k,)`` int64 indices in pick order.
    """
    traversal = _Traversal(embeddings, labeled, k)
    picks = np.empty(k, dtype=np.int64)
    for i in range(k):
        picks[i] = traversal.next_pick()
    return picks


class _Traversal:
    """The state of one farthest-first traversal; see the module docstring."""

    def __init__(self, embeddings: _FloatArray, labeled: NDArray[np.bool_], k: int) -> None:
        n, d = embeddings.shape
        self.exact = embeddings
        work = embeddings if embeddings.dtype == np.float32 else embeddings.astype(np.float32)
        self.work_np = np.ascontiguousarray(work)
        self.work = torch.from_numpy(self.work_np)
        self.mean = embeddings.mean(axis=0, dtype=np.float64)
        self.centered_sq, self.eps = _error_bounds(embeddings, self.mean)
        self.centered_sq32 = torch.from_numpy(self.centered_sq.astype(np.float32))
        # Approximate squared distance to the nearest applied center; -inf marks centers.
        self.nearest = torch.full((n,), np.inf, dtype=torch.float32)
        self.nearest[torch.from_numpy(labeled)] = -np.inf
        # Index of each point's nearest applied center, -1 for none or a center itself.
        self.assign = np.full(n, -1, dtype=np.int32)
        self.spread = float(np.sqrt(self.centered_sq.max())) if n else 0.0
        capacity = int(np.count_nonzero(labeled)) + k
        self.centers = np.empty(capacity, dtype=np.int64)
        self.center_rows = np.empty((capacity, d), dtype=np.float32)  # c - mu
        self.center_offsets = np.empty(capacity, dtype=np.float32)  # b(c)
        self.n_centers = 0
        self.synced = 0  # centers[:synced] are in every awake point's nearest
        self.applied_at = np.zeros(n, dtype=np.int32)  # centers[:applied_at] are in nearest
        self.pick_values: list[float] = []
        self.scan_floor = -np.inf
        # For centers first:last, each earlier center's distance to the nearest of them.
        self.gap_cache: dict[tuple[int, int], NDArray[np.float64]] = {}
        self.asleep_upper = -np.inf
        self.head = np.empty(0, dtype=np.int64)
        for start in range(0, capacity - k, _SYNC_ROWS):
            self._add_centers(np.flatnonzero(labeled)[start : start + _SYNC_ROWS])

    def next_pick(self) -> int:
        """Find the next pick, make it a center, and return its index."""
        if self.n_centers == 0:
            unlabeled = np.flatnonzero(self.nearest.numpy() > -np.inf)
            pick = int(unlabeled[np.argmin(self.centered_sq[unlabeled])])
        else:
            if self.n_centers - self.synced >= _SYNC_CENTERS or self.synced == 0:
                self._sync(self._predicted_floor())
            found = self._scan()
            if found is None:
                # Wake every point that could beat the best one the scan proved.
                self._sync(self.scan_floor)
                found = self._scan()
            if found is None:
                self._sync(-np.inf)
                found = self._scan()
            pick = found if found is not None else self._scan_all()
        self._add_centers(np.array([pick]))
        return pick

    def _predicted_floor(self) -> float:
        """A guess at the farthest distance a few sync periods ahead; -inf before any pick.

        Points whose bound is below it are left asleep. A wrong guess costs time
        only: the scan notices that a sleeping point might win and wakes more.
        """
        if len(self.pick_values) < 2:
            return -np.inf
        now, before = (
            self.pick_values[-1],
            self.pick_values[max(0, len(self.pick_values) - 1 - _SYNC_CENTERS)],
        )
        ratio = now / before if before > 0 else 0.0
        return now * ratio**2

    def _add_centers(self, indices: NDArray[np.int64]) -> None:
        rows = self.exact[indices].astype(np.float64) - self.mean
        end = self.n_centers + indices.size
        self.centers[self.n_centers : end] = indices
        self.center_rows[self.n_centers : end] = rows
        with _blas_flags_ignored():
            shift = rows @ self.mean
        self.center_offsets[self.n_centers : end] = np.einsum("ij,ij->i", rows, rows) + 2.0 * shift
        self.n_centers = end
        self.nearest[torch.from_numpy(indices)] = -np.inf
        self.assign[indices] = -1
        if self.head.size:
            self.head_nearest[np.isin(self.head, indices)] = -np.inf

    def _sync(self, floor: float) -> None:
        """Bring every point whose bound reaches ``floor`` up to date, then rebuild the head.

        Points below ``floor`` sleep: their distance stays an upper bound (a minimum
        over fewer centers), ``asleep_upper`` bounds them all, and they catch up on
        every center they missed once a later sync wakes them.
        """
        nearest = self.nearest.numpy()
        upper = nearest.astype(np.float64) + self.eps
        awake = upper >= floor
        stale = np.flatnonzero(awake & (self.applied_at < self.n_centers))
        for since in np.unique(self.applied_at[stale]).tolist():
            rows = stale[self.applied_at[stale] == since]
            # Groups end on multiples of _SYNC_CENTERS, so their gaps can be cached.
            ends = [
                *range(since - since % _SYNC_CENTERS + _SYNC_CENTERS, self.n_centers, _SYNC_CENTERS)
            ]
            for first, last in zip([since, *ends], [*ends, self.n_centers], strict=True):
                self._apply(first, last, rows if first == 0 else self._may_gain(rows, first, last))
            self.applied_at[rows] = self.n_centers
        asleep = ~awake & (upper > -np.inf)
        self.asleep_upper = float(upper[asleep].max()) if asleep.any() else -np.inf
        self.synced = self.n_centers
        self._build_head()

    def _may_gain(self, rows: NDArray[np.int64], first: int, last: int) -> NDArray[np.int64] | None:
        """Those of ``rows`` that centers ``first:last`` may bring nearer; None for all.

        A point ``x`` whose nearest applied center is ``a`` cannot gain from a new
        center ``c`` with ``|c - a| >= 2 |x - a|``: by the triangle inequality
        ``|x - c| >= |c - a| - |x - a| >= |x - a|`` (Elkan 2003). So only points with
        ``2 |x - a|`` above the gap from ``a`` to the nearest new center need work.
        """
        nearest = self.nearest.numpy()
        if (first, last) not in self.gap_cache:
            gaps = _pairwise_distances(self.center_rows[:first], self.center_rows[first:last])
            self.gap_cache[first, last] = gaps.min(axis=1)
        gap = self.gap_cache[first, last][self.assign[rows]]
        reach = np.sqrt(np.maximum(nearest[rows].astype(np.float64) + self.eps[rows], 0.0))
        # The slack covers the float32 rounding of the centers' coordinates.
        may_gain = 2.0 * reach * (1.0 + 1e-5) + 1e-5 * self.spread > gap
        may_gain &= self.assign[rows] >= 0
        kept = rows[may_gain]
        # Gathering rows costs a copy; past this share a plain pass is cheaper.
        full = rows.size == nearest.size
        return None if full and kept.size > _GATHER_SHARE * rows.size else kept

    def _apply(self, first: int, last: int, rows: NDArray[np.int64] | None) -> None:
        """Apply centers ``first:last`` to ``rows`` (None: every point), block by block."""
        nearest = self.nearest.numpy()
        centered_sq = self.centered_sq32.numpy()
        count = nearest.size if rows is None else rows.size
        for start in range(0, count, _SYNC_ROWS):
            block: slice | NDArray[np.int64]
            if rows is None or rows.size == nearest.size:
                block = slice(start, start + _SYNC_ROWS)
                points = self.work[block]
            else:
                block = rows[start : start + _SYNC_ROWS]
                points = torch.from_numpy(self.work_np[block])
            products = self._products(points, first, last)
            # The per-point term |x - mu|^2 is added after the min over centers.
            near = products.amin(dim=1).numpy() + centered_sq[block]
            better = np.flatnonzero(near < nearest[block])
            if better.size:
                which = products.numpy()[better].argmin(axis=1)
                points_better = better + start if isinstance(block, slice) else block[better]
                nearest[points_better] = near[better]
                self.assign[points_better] = first + which

    def _products(self, points: torch.Tensor, first: int, last: int) -> torch.Tensor:
        """``(b, last - first)`` values ``b(c) - 2 x.(c - mu)`` for rows ``x`` and centers ``c``."""
        centers = torch.from_numpy(self.center_rows[first:last])
        offsets = torch.from_numpy(self.center_offsets[first:last])
        return torch.addmm(offsets, points, centers.T, beta=1.0, alpha=-2.0)

    def _build_head(self) -> None:
        """Order the awake points with the highest bounds, and bound all the others."""
        upper = self.nearest.numpy().astype(np.float64) + self.eps
        # Asleep points (missing centers) are bounded by asleep_upper instead.
        ready = np.flatnonzero((self.applied_at == self.n_centers) & (upper > -np.inf))
        size = min(_HEAD_SIZE, ready.size)
        self.rest_upper = self.asleep_upper
        if size < ready.size:
            cut = np.argpartition(-upper[ready], size)
            head = ready[cut[:size]]
            self.rest_upper = max(float(upper[ready[cut[size:]]].max()), self.asleep_upper)
        else:
            head = ready
        self.head = head[np.argsort(-upper[head], kind="stable")]
        self.head_upper = upper[self.head]
        self.head_nearest = self.nearest.numpy()[self.head]
        self.head_eps = self.eps[self.head]
        self.head_applied = np.full(-(-size // _CHUNK), self.n_centers, dtype=np.int64)

    def _scan(self) -> int | None:
        """The exact farthest point, or None when the head ran out before proving it."""
        best_low = -np.inf
        end = 0
        for chunk, start in enumerate(range(0, self.head.size, _CHUNK)):
            if self.head_upper[start] < best_low:
                break
            end = min(self.head.size, start + _CHUNK)
            if self.head_applied[chunk] < self.n_centers:
                self._refresh_chunk(start, end, int(self.head_applied[chunk]))
                self.head_applied[chunk] = self.n_centers
            low = self.head_nearest[start:end] - self.head_eps[start:end]
            best_low = max(best_low, float(low.max()))
        # Points outside the head, asleep ones included, are bounded by rest_upper.
        if self.rest_upper >= best_low:
            self.scan_floor = best_low
            return None
        high = self.head_nearest[:end] + self.head_eps[:end]
        return self._exact_argmax(self.head[:end][high >= best_low])

    def _scan_all(self) -> int:
        """The exact farthest point when bounds are too loose for the head to prove it.

        Only reached right after a sync with no floor, so every point is up to date.
        """
        near = self.nearest.numpy().astype(np.float64)
        best_low = float(np.max(near - self.eps))
        return self._exact_argmax(np.flatnonzero(near + self.eps >= best_low))

    def _exact_argmax(self, candidates: NDArray[np.int64]) -> int:
        candidates = np.sort(candidates)
        exact = np.array([self._exact_nearest(int(i)) for i in candidates])
        best = int(np.argmax(exact))
        self.pick_values.append(float(exact[best]))
        return int(candidates[best])

    def _refresh_chunk(self, start: int, end: int, first: int) -> None:
        # Chunks are small: numpy's single-threaded product beats torch's dispatch here.
        points = self.head[start:end]
        with _blas_flags_ignored():
            products = self.work_np[points] @ self.center_rows[first : self.n_centers].T
        products *= -2.0
        products += self.center_offsets[first : self.n_centers]
        near = products.min(axis=1) + self.centered_sq32.numpy()[points]
        np.minimum(self.head_nearest[start:end], near, out=self.head_nearest[start:end])

    def _exact_nearest(self, index: int) -> float:
        """Exact float64 squared distance from point ``index`` to its nearest center."""
        centers = self.center_rows[: self.n_centers]
        with _blas_flags_ignored():
            products = centers @ self.work_np[index]
        approx = self.center_offsets[: self.n_centers] - 2.0 * products
        # The nearest center's float32 distance is within 2 eps of the smallest one.
        close = self.centers[: self.n_centers][approx <= approx.min() + 2.0 * self.eps[index]]
        diff = self.exact[close].astype(np.float64) - self.exact[index].astype(np.float64)
        return float(np.min(np.sum(diff * diff, axis=1)))


def _blas_flags_ignored() -> np.errstate:
    """Ignore the floating-point flags a BLAS product raises on finite inputs.

    Some OpenBLAS kernels leave FE_INVALID set after a product of finite numbers
    (numpy issues 13173 and 24067, OpenBLAS issue 1924: the kernel touches padding
    it never stores), which numpy reports as "invalid value encountered in matmul".
    The pool's embeddings are checked finite before any strategy runs
    (``Pool.__post_init__``), so the flag here carries no information.
    """
    return np.errstate(invalid="ignore", over="ignore", divide="ignore")


def _error_bounds(
    embeddings: _FloatArray, mean: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per point: ``|x - mu|^2`` in float64, and a bound on the float32 distance error.

    The float32 distance to a center ``c`` is ``|x - mu|^2 - 2 x.c' + b(c)`` with
    ``c' = c - mu`` and ``b(c) = |c'|^2 + 2 mu.c'``. A float32 dot product of length
    ``d`` errs by at most ``d u |x| |c'|`` (``u`` the unit roundoff), rounding ``x``,
    ``c'`` and the three-term sum adds a few ``u`` times the terms' sizes, and
    ``|c'| <= S = max_x |x - mu|``. The bound doubles all of that for safety:
    ``(2 d + 16) u (|x| S + |x - mu|^2 + S^2 + 2 |mu| S)``.
    """
    n, d = embeddings.shape
    centered_sq = np.empty(n, dtype=np.float64)
    norms = np.empty(n, dtype=np.float64)
    step = max(1, (1 << 19) // max(1, d * embeddings.itemsize))
    for start in range(0, n, step):
        block = embeddings[start : start + step].astype(np.float64)
        norms[start : start + step] = np.sqrt(np.einsum("ij,ij->i", block, block))
        block -= mean
        centered_sq[start : start + step] = np.einsum("ij,ij->i", block, block)
    spread = float(np.sqrt(centered_sq.max())) if n else 0.0
    mean_norm = float(np.sqrt(mean @ mean))
    scale = norms * spread + centered_sq + spread * spread + 2.0 * mean_norm * spread
    return centered_sq, (2 * d + 16) * _UNIT * scale


def _pairwise_distances(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float64]:
    """``(len(a), len(b))`` Euclidean distances between rows, in float64."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    with _blas_flags_ignored():
        products = a64 @ b64.T
    sq = (a64 * a64).sum(axis=1)[:, None] + (b64 * b64).sum(axis=1)[None, :] - 2.0 * products
    distances: NDArray[np.float64] = np.sqrt(np.maximum(sq, 0.0))
    return distances
