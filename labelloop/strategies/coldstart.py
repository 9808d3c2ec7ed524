"""Cold start: choose the first items to label from embeddings alone, before any model."""

from collections.abc import Iterator
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from labelloop.strategies._kernels import as_float, d2_seeding, row_sq_norms
from labelloop.strategies._params import check_int, make_rng
from labelloop.strategies.base import Pool, QueryStrategy

__all__ = ["TypiClust"]

_FloatArray = NDArray[np.floating[Any]]

# k-means++ seeds are drawn from a sample of at most this many points.
_SEEDING_SAMPLE = 1 << 14
_KMEANS_ITERATIONS = 20


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

    def __init__(
        self,
        n_neighbors: int = 20,
        max_clusters: int = 500,
        min_cluster_size: int = 5,
        max_reference: int = 5000,
        random_state: int | None = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.max_clusters = max_clusters
        self.min_cluster_size = min_cluster_size
        self.max_reference = max_reference
        self.random_state = random_state

    def _select(self, pool: Pool, k: int) -> NDArray[np.int64]:
        n_neighbors = cast(int, check_int("n_neighbors", self.n_neighbors, low=1))
        max_clusters = cast(int, check_int("max_clusters", self.max_clusters, low=1))
        min_size = cast(int, check_int("min_cluster_size", self.min_cluster_size, low=1))
        max_reference = cast(int, check_int("max_reference", self.max_reference, low=2))
        rng = make_rng(self.random_state)
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
    for rows in _row_blocks(embeddings.shape[0], centers.shape[0]):
        labels[rows] = np.argmin(center_sq - 2 * (embeddings[rows] @ typed.T), axis=1)
    return labels


def _row_blocks(n: int, width: int) -> Iterator[slice]:
    """Row slices whose ``(rows, width)`` products hold about a million entries."""
    step = max(1, (1 << 20) // max(1, width))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


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
    for rows in _row_blocks(members.size, reference.size):
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
