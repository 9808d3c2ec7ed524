"""Cold start: choose the first items to label from embeddings alone, before any model."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import numpy as np
from numpy.typing import NDArray

from labelloop.plugins import Constraint, Integer, Seed
from labelloop.strategies._kernels import as_float, d2_seeding, item_blocks, row_sq_norms
from labelloop.strategies._params import make_rng
from labelloop.strategies.base import Pool, QueryStrategy

__all__ = ["ProbCover", "TypiClust"]

_FloatArray = NDArray[np.floating[Any]]

# k-means++ seeds are drawn from a sample of at most this many points.
_SEEDING_SAMPLE = 1 << 14
_KMEANS_ITERATIONS = 20
# Distances computed per block: rows x width of about a million entries.
_BLOCK_ENTRIES = 1 << 20


@dataclass(eq=False, repr=False, kw_only=True)
class TypiClust(QueryStrategy):
    """TypiClust (Hacohen et al. 2022): the most typical item of each uncovered cluster.

    Clusters the embeddings by k-means into ``n_labeled + k`` clusters (at most
    ``max_clusters``). Then, ``k`` times: take the cluster holding the fewest
    labeled or already picked items, preferring clusters of at least
    ``min_cluster_size`` items and then the largest; pick its unlabeled item of
    highest typicality, ``1 / mean`` Euclidean distance to its ``n_neighbors``
    nearest neighbours within the cluster.

    k-means here is Lloyd's algorithm, at most 20 rounds, from greedy k-means++
    seeds (``2 + ln K`` draws per seed, among a sample of at most 16,384 items).
    For clusters larger than ``max_reference`` items, typicality is measured
    against a seeded random sample of ``max_reference`` members, which keeps the
    cost at ``O(size * max_reference * d)``.

    Args:
        n_neighbors: Neighbours that define typicality, an integer >= 1.
        max_clusters: Most k-means clusters, an integer >= 1.
        min_cluster_size: Clusters smaller than this are used last, an integer >= 1.
        max_reference: Most members a typicality is measured against, >= 2.
        random_state: Seed for k-means and sampling; None draws fresh entropy.
    """

    name = "typiclust"
    requires = frozenset({"embeddings"})
    constraints: ClassVar[Mapping[str, Constraint]] = {
        "max_clusters": Integer(low=1),
        "max_reference": Integer(low=2),
        "min_cluster_size": Integer(low=1),
        "n_neighbors": Integer(low=1),
        "random_state": Seed(),
    }

    n_neighbors: int = 20
    max_clusters: int = 500
    min_cluster_size: int = 5
    max_reference: int = 5000
    random_state: int | None = None

    def _select(self, pool: Pool, k: int) -> NDArray[np.int64]:
        params = self.check_params()
        n_neighbors: int = params["n_neighbors"]
        max_clusters: int = params["max_clusters"]
        min_size: int = params["min_cluster_size"]
        max_reference: int = params["max_reference"]
        rng = make_rng(params["random_state"])
        embeddings = as_float(cast(_FloatArray, pool.embeddings))
        n_labeled = int(np.count_nonzero(pool.labeled))
        n_clusters = min(n_labeled + k, max_clusters, embeddings.shape[0])
        labels = kmeans(embeddings, n_clusters, rng)
        covered = np.bincount(labels[pool.labeled], minlength=n_clusters)
        sizes = np.bincount(labels, minlength=n_clusters)
        available = ~pool.labeled
        typicality: dict[int, NDArray[np.float64]] = {}
        picks = np.empty(k, dtype=np.int64)
        for i in range(k):
            open_clusters = np.flatnonzero(np.bincount(labels[available], minlength=n_clusters))
            # lexsort's last key sorts first: fewest covered, big enough, largest, lowest id.
            keys = (open_clusters, -sizes[open_clusters], sizes[open_clusters] < min_size)
            cluster = int(open_clusters[np.lexsort((*keys, covered[open_clusters]))[0]])
            members = np.flatnonzero(labels == cluster)
            if cluster not in typicality:
                typicality[cluster] = _typicality(
                    embeddings, members, n_neighbors, max_reference, rng
                )
            scores = np.where(available[members], typicality[cluster], -np.inf)
            picks[i] = members[np.argmax(scores)]
            available[picks[i]] = False
            covered[cluster] += 1
        return picks


def kmeans(embeddings: _FloatArray, n_clusters: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """Cluster ``(n, d)`` embeddings by Lloyd's k-means from k-means++ seeds.

    Args:
        embeddings: ``(n, d)`` float32 or float64.
        n_clusters: Clusters, ``1 <= n_clusters <= n``.
        rng: Source of the seeding draws.

    Returns:
        ``(n,)`` int64 cluster labels in ``range(n_clusters)``; a cluster may end empty
        when points coincide.
    """
    n = embeddings.shape[0]
    sample = (
        np.arange(n)
        if n <= _SEEDING_SAMPLE
        else np.sort(rng.choice(n, _SEEDING_SAMPLE, replace=False))
    )
    points = embeddings[sample].astype(np.float64)
    sq = row_sq_norms(points)

    def sq_distances_to(i: int) -> NDArray[np.float64]:
        distances: NDArray[np.float64] = np.maximum(sq + sq[i] - 2.0 * (points @ points[i]), 0.0)
        return distances

    first = int(rng.integers(sample.size))
    everyone = np.ones(sample.size, dtype=bool)
    trials = 2 + int(np.log(n_clusters))
    seeds = d2_seeding(first, n_clusters, sq_distances_to, everyone, rng, n_trials=trials)
    centers = points[seeds]
    labels = np.full(n, -1, dtype=np.int64)
    for _ in range(_KMEANS_ITERATIONS):
        new_labels = _nearest_center(embeddings, centers)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        counts = np.bincount(labels, minlength=n_clusters)
        sums = _cluster_sums(embeddings, labels, n_clusters)
        filled = counts > 0
        # An emptied cluster keeps its old center rather than collapsing to the origin.
        centers[filled] = sums[filled] / counts[filled, None]
    return labels


def _cluster_sums(
    embeddings: _FloatArray, labels: NDArray[np.int64], n_clusters: int
) -> NDArray[np.float64]:
    """``(n_clusters, d)`` sum of the rows of each cluster, as float64."""
    from scipy.sparse import csr_matrix

    n = embeddings.shape[0]
    # A 0/1 membership matrix times the embeddings: one pass, no copy, and far
    # faster than np.add.at.
    members = csr_matrix((np.ones(n), (labels, np.arange(n))), shape=(n_clusters, n))
    sums: NDArray[np.float64] = np.asarray(members @ embeddings, dtype=np.float64)
    return sums


def _nearest_center(embeddings: _FloatArray, centers: NDArray[np.float64]) -> NDArray[np.int64]:
    """``(n,)`` index of the nearest of ``(c, d)`` centers for each row; ties to lower."""
    labels = np.empty(embeddings.shape[0], dtype=np.int64)
    typed = centers.astype(embeddings.dtype)
    center_sq = row_sq_norms(centers).astype(embeddings.dtype)
    for rows in item_blocks(embeddings.shape[0], centers.shape[0], _BLOCK_ENTRIES):
        labels[rows] = np.argmin(center_sq - 2 * (embeddings[rows] @ typed.T), axis=1)
    return labels


def _typicality(
    embeddings: _FloatArray,
    members: NDArray[np.int64],
    n_neighbors: int,
    max_reference: int,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """``(len(members),)`` inverse mean distance to the nearest other members."""
    reference = members
    if members.size > max_reference:
        reference = np.sort(rng.choice(members, max_reference, replace=False))
    if reference.size < 2:
        return np.ones(members.size)
    neighbors = min(n_neighbors, reference.size - 1)
    ref = embeddings[reference]
    ref_sq = row_sq_norms(ref).astype(ref.dtype)
    # Where each member sits in the reference sample, to keep it from being its own
    # neighbour; -1 for members left out of the sample.
    position = np.full(members.size, -1)
    position[np.searchsorted(members, reference)] = np.arange(reference.size)
    out = np.empty(members.size, dtype=np.float64)
    for rows in item_blocks(members.size, reference.size, _BLOCK_ENTRIES):
        block = embeddings[members[rows]]
        sq = block @ ref.T
        sq *= -2
        sq += ref_sq
        sq += row_sq_norms(block).astype(ref.dtype)[:, None]
        own = np.flatnonzero(position[rows] >= 0)
        sq[own, position[rows][own]] = np.inf
        nearest = np.partition(sq, neighbors - 1, axis=1)[:, :neighbors]
        distances = np.sqrt(np.maximum(nearest, 0.0), dtype=np.float64)
        out[rows] = 1.0 / (distances.mean(axis=1) + 1e-12)
    return out


@dataclass(eq=False, repr=False, kw_only=True)
class ProbCover(QueryStrategy):
    """ProbCover (Yehuda et al. 2022): cover the embedding space with balls of radius delta.

    The items are L2-normalised and joined to every item within ``delta``
    of them. ``delta`` is chosen from the data: the largest of
    ``delta_grid`` whose balls are at least ``purity`` pure with respect
    to k-means pseudo-labels (``n_clusters`` clusters; a ball is pure when
    every item in it shares its centre's cluster), as the paper suggests.
    Then, ``k`` times, the unlabeled item whose ball covers the most
    items not yet covered (by a labeled or picked item) is picked, and the
    items it covers are marked. Once everything is covered, the remaining
    picks go to the items with the largest balls.

    The graph costs ``O(n^2 d)`` time in row blocks and ``O(edges)``
    memory; pools above ``max_items`` are covered on a seeded random sample
    of that many candidates.

    Args:
        purity: The ball purity delta must keep, in (0, 1].
        n_clusters: k-means clusters for the pseudo-labels (None: 10, or
            the number of labeled items plus ``k`` when larger).
        delta_grid: Candidate radii on the unit sphere.
        max_items: Most items the graph is built on.
        random_state: Seed for k-means and sampling.
    """

    name = "probcover"
    requires = frozenset({"embeddings"})
    constraints: ClassVar[Mapping[str, Constraint]] = {
        "max_items": Integer(low=2),
        "random_state": Seed(),
    }

    purity: float = 0.95
    n_clusters: int | None = None
    delta_grid: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    max_items: int = 20_000
    random_state: int | None = None

    def _select(self, pool: Pool, k: int) -> NDArray[np.int64]:
        params = self.check_params()
        rng = make_rng(params["random_state"])
        max_items: int = params["max_items"]
        embeddings = as_float(cast(_FloatArray, pool.embeddings))
        n = embeddings.shape[0]
        subset = np.arange(n)
        if n > max_items:
            keep = rng.choice(np.flatnonzero(~pool.labeled), size=max_items, replace=False)
            subset = np.union1d(keep, np.flatnonzero(pool.labeled))
        z = embeddings[subset]
        z = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
        labeled = pool.labeled[subset]
        clusters = self.n_clusters or max(10, int(labeled.sum()) + k)
        pseudo = kmeans(z, min(clusters, len(z)), rng)
        delta = self._delta(z, pseudo)
        neighbours = _balls(z, delta)
        covered = np.zeros(len(z), dtype=bool)
        for i in np.flatnonzero(labeled):
            covered[neighbours[i]] = True
        available = ~labeled
        degree = np.array([len(ball) for ball in neighbours], dtype=np.int64)
        picks: list[int] = []
        for _ in range(min(k, int(available.sum()))):
            gain = np.array(
                [np.count_nonzero(~covered[ball]) for ball in neighbours], dtype=np.int64
            )
            score = np.where(available, gain * (len(z) + 1) + degree, -1)
            best = int(np.argmax(score))
            picks.append(best)
            available[best] = False
            covered[neighbours[best]] = True
        return subset[np.asarray(picks, dtype=np.int64)].astype(np.int64)

    def _delta(self, z: NDArray[np.float64], pseudo: NDArray[np.int64]) -> float:
        """The largest grid radius whose balls keep the asked purity."""
        purity = float(self.purity)
        if not 0.0 < purity <= 1.0:
            raise ValueError(f"purity must be in (0, 1], got {purity}")
        best = float(min(self.delta_grid))
        for delta in sorted(self.delta_grid):
            balls = _balls(z, delta)
            pure = np.mean(
                [bool((pseudo[ball] == pseudo[i]).all()) for i, ball in enumerate(balls)]
            )
            if pure < purity:
                break
            best = float(delta)
        return best


def _balls(z: NDArray[np.float64], delta: float, block: int = 1024) -> list[NDArray[np.int64]]:
    """For each row of unit vectors ``z``, the rows within Euclidean distance ``delta``."""
    limit = 1.0 - delta * delta / 2.0  # |a - b|^2 = 2 - 2 a.b on the unit sphere
    out: list[NDArray[np.int64]] = []
    for start in range(0, len(z), block):
        similarity = z[start : start + block] @ z.T
        out.extend(np.flatnonzero(row >= limit).astype(np.int64) for row in similarity)
    return out
