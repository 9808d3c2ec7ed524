"""Hybrid strategies: uncertainty and diversity together, from probabilities and embeddings.

Each strategy here reads ``pool.probs`` ``(n, n_classes)`` and ``pool.embeddings``
``(n, d)``.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, cast

import numpy as np
from numpy.typing import NDArray

from labelloop.plugins import Choice, Constraint, Integer, Number, Seed
from labelloop.strategies._kernels import as_float, d2_seeding, row_sq_norms
from labelloop.strategies._params import make_rng
from labelloop.strategies._topk import top_k
from labelloop.strategies.base import Pool, QueryStrategy
from labelloop.strategies.errors import InvalidParameterError
from labelloop.strategies.uncertainty import (
    EntropySampling,
    LeastConfidence,
    MarginSampling,
    UncertaintyStrategy,
)

__all__ = [
    "BADGE",
    "ClusterMargin",
    "DensityWeighted",
    "UncertaintyName",
    "mean_cosine_similarity",
    "nonnegative_uncertainty",
]

_FloatArray = NDArray[np.floating[Any]]

#: The uncertainty measures hybrid strategies can weigh, as configuration spells them.
UncertaintyName = Literal["entropy", "least_confidence", "margin"]

_UNCERTAINTY: dict[str, type[UncertaintyStrategy]] = {
    "entropy": EntropySampling,
    "least_confidence": LeastConfidence,
    "margin": MarginSampling,
}
_KIND = Choice(tuple(_UNCERTAINTY))


def nonnegative_uncertainty(kind: str, probs: _FloatArray) -> NDArray[np.float64]:
    """Score ``(n, n_classes)`` probabilities with an uncertainty measure that is >= 0.

    Entropy and least confidence are already >= 0; margin becomes ``1 - (p_top1 -
    p_top2)``, in [0, 1]. The order of the items is that of the named strategy.

    Args:
        kind: ``"entropy"``, ``"least_confidence"`` or ``"margin"``.
        probs: ``(n, n_classes)`` class probabilities.

    Returns:
        ``(n,)`` float64 scores, higher meaning less sure.

    Raises:
        InvalidParameterError: If ``kind`` names no measure.
    """
    scorer = _UNCERTAINTY[_KIND.check("uncertainty", kind, InvalidParameterError)]()
    scores = scorer.score(probs)
    if kind == "margin":
        scores += 1.0
    return scores


@dataclass(eq=False, repr=False, kw_only=True)
class BADGE(QueryStrategy):
    """BADGE (Ash et al. 2020): k-means++ seeding on gradient embeddings.

    The gradient embedding of item ``i`` is the gradient of the cross-entropy loss,
    at the model's own prediction ``y_i = argmax p_i``, with respect to a last linear
    layer over the features ``h_i``: ``g_i = (p_i - onehot(y_i)) (x) h_i``, a vector
    of ``n_classes * d`` numbers. It is never built: with ``a_i = p_i - onehot(y_i)``,
    ``|g_i - g_j|^2 = |a_i|^2 |h_i|^2 + |a_j|^2 |h_j|^2 - 2 (a_i . a_j)(h_i . h_j)``, so
    each seeding step costs one pass over the embeddings and one over the
    probabilities, with ``O(n * n_classes)`` extra memory.

    As in the authors' code, the first pick is the unlabeled item with the largest
    gradient norm; each next one is drawn among the unlabeled items with
    probability proportional to its squared gradient distance to the nearest pick
    (k-means++ seeding over the unlabeled pool; labeled items play no part).

    Args:
        random_state: Seed for the draws, an integer >= 0; None draws fresh OS
            entropy on every call.
    """

    name = "badge"
    requires = frozenset({"embeddings", "probs"})
    constraints: ClassVar[Mapping[str, Constraint]] = {"random_state": Seed()}

    random_state: int | None = None

    def _select(self, pool: Pool, k: int) -> NDArray[np.int64]:
        rng = make_rng(self.random_state)
        probs = as_float(cast(_FloatArray, pool.probs))
        features = as_float(cast(_FloatArray, pool.embeddings))
        residual = probs.copy()
        residual[np.arange(probs.shape[0]), probs.argmax(axis=1)] -= 1.0
        residual_sq = row_sq_norms(residual)
        feature_sq = row_sq_norms(features)
        norms_sq = residual_sq * feature_sq
        eligible = ~pool.labeled
        first = int(np.flatnonzero(eligible)[np.argmax(norms_sq[eligible])])
        scratch = np.empty(probs.shape[0], dtype=np.float64)

        def sq_distances_to(i: int) -> NDArray[np.float64]:
            out = scratch
            np.multiply(residual @ residual[i], features @ features[i], out=out)
            out *= -2.0
            out += norms_sq
            out += norms_sq[i]
            # Cancellation can leave tiny negatives where the true distance is 0.
            return np.maximum(out, 0.0, out=out)

        return d2_seeding(first, k, sq_distances_to, eligible, rng)


@dataclass(eq=False, repr=False, kw_only=True)
class ClusterMargin(QueryStrategy):
    """Cluster-Margin (Citovsky et al. 2021): low-margin items, spread over clusters.

    Takes the ``ceil(candidate_factor * k)`` unlabeled items of smallest margin,
    clusters their embeddings by hierarchical agglomerative clustering (average
    linkage, Euclidean) into ``n_clusters`` clusters, and picks round-robin over
    the clusters, smallest cluster first, a random member of each at each turn.

    The paper clusters the whole pool once and reuses the clusters across rounds;
    a strategy here sees one round, so it clusters only the candidates, which
    costs ``O(m^2)`` memory for ``m`` candidates. Past ``max_cluster_items``
    candidates, the ``max_cluster_items`` lowest-margin ones are clustered and every
    other candidate joins the cluster of its nearest clustered candidate.

    Args:
        n_clusters: Clusters among the candidates; None uses ``k`` (one pick per
            cluster when there are enough candidates).
        candidate_factor: Candidates per pick, a number >= 1.
        max_cluster_items: Most candidates clustered directly, an integer >= 2.
        random_state: Seed for the picks within clusters; None draws fresh entropy.
    """

    name = "cluster_margin"
    requires = frozenset({"embeddings", "probs"})
    constraints: ClassVar[Mapping[str, Constraint]] = {
        "candidate_factor": Number(low=1.0),
        "max_cluster_items": Integer(low=2),
        "n_clusters": Integer(low=1, none=True),
        "random_state": Seed(),
    }

    n_clusters: int | None = None
    candidate_factor: float = 10.0
    max_cluster_items: int = 2048
    random_state: int | None = None

    def _select(self, pool: Pool, k: int) -> NDArray[np.int64]:
        params = self.check_params()
        n_clusters: int = params["n_clusters"] or k
        factor: float = params["candidate_factor"]
        max_items: int = params["max_cluster_items"]
        rng = make_rng(params["random_state"])
        n_unlabeled = pool.labeled.size - int(np.count_nonzero(pool.labeled))
        m = min(n_unlabeled, max(k, math.ceil(factor * k)))
        scores = MarginSampling().score(cast(_FloatArray, pool.probs))
        candidates = top_k(scores, m, exclude=pool.labeled)
        features = as_float(cast(_FloatArray, pool.embeddings))[candidates]
        clusters = _cluster_candidates(features, min(n_clusters, m), max_items)
        return candidates[_round_robin(clusters, k, rng)]


def _cluster_candidates(
    features: _FloatArray, n_clusters: int, max_items: int
) -> NDArray[np.int64]:
    """Average-linkage cluster labels of ``(m, d)`` features (the first rows first)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    m = features.shape[0]
    if m == 1:
        return np.zeros(1, dtype=np.int64)
    head = features[:max_items].astype(np.float64)
    sq = row_sq_norms(head)
    distances = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * (head @ head.T), 0.0))
    np.fill_diagonal(distances, 0.0)
    tree = linkage(squareform(distances, checks=False), method="average")
    labels = np.empty(m, dtype=np.int64)
    labels[: head.shape[0]] = fcluster(tree, t=n_clusters, criterion="maxclust")
    for start in range(head.shape[0], m, max_items):
        block = features[start : start + max_items].astype(np.float64)
        nearest = np.argmin(sq[None, :] - 2.0 * (block @ head.T), axis=1)
        labels[start : start + block.shape[0]] = labels[nearest]
    return labels


def _round_robin(labels: NDArray[np.int64], k: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """Pick ``k`` positions round-robin over clusters, smallest first, random within."""
    ids, sizes = np.unique(labels, return_counts=True)
    order = ids[np.argsort(sizes, kind="stable")]
    queues = [rng.permutation(np.flatnonzero(labels == c)) for c in order]
    picks: list[int] = []
    depth = 0
    while len(picks) < k:
        for queue in queues:
            if depth < queue.size and len(picks) < k:
                picks.append(int(queue[depth]))
        depth += 1
    return np.asarray(picks, dtype=np.int64)


@dataclass(eq=False, repr=False, kw_only=True)
class DensityWeighted(QueryStrategy):
    """Information density (Settles and Craven 2008): uncertainty times representativeness.

    Scores ``u(x) * s(x) ** beta``, where ``u`` is a nonnegative uncertainty (see
    :func:`nonnegative_uncertainty`) and ``s(x)`` the mean similarity of ``x`` to the
    unlabeled pool, with similarity ``(1 + cos) / 2`` in [0, 1]. Because the mean of
    cosines is a dot product with the mean of the unit vectors,
    ``s(x) = (1 + x/|x| . mean_u u/|u|) / 2`` is exact in ``O(n d)`` time and
    ``O(d)`` extra memory: no ``n x n`` similarity matrix and no sampling. An all-zero
    embedding counts as similarity 1/2 to everything.

    Args:
        uncertainty: ``"entropy"``, ``"least_confidence"`` or ``"margin"``.
        beta: Weight of the density term, a number >= 0 (0 is plain uncertainty).
    """

    name = "density_weighted"
    requires = frozenset({"embeddings", "probs"})
    constraints: ClassVar[Mapping[str, Constraint]] = {
        "beta": Number(low=0.0),
        "uncertainty": _KIND,
    }

    uncertainty: UncertaintyName = "entropy"
    beta: float = 1.0

    def _select(self, pool: Pool, k: int) -> NDArray[np.int64]:
        beta: float = self.check_params()["beta"]
        scores = nonnegative_uncertainty(self.uncertainty, cast(_FloatArray, pool.probs))
        scores *= mean_cosine_similarity(cast(_FloatArray, pool.embeddings), ~pool.labeled) ** beta
        return top_k(scores, k, exclude=pool.labeled)


def mean_cosine_similarity(
    embeddings: _FloatArray, reference: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """``(n,)`` mean of ``(1 + cos(x, u)) / 2`` over the rows ``u`` marked in ``reference``.

    Args:
        embeddings: ``(n, d)`` feature vectors.
        reference: ``(n,)`` True for the rows to average over (at least one).

    Returns:
        ``(n,)`` float64 values in [0, 1].
    """
    embeddings = as_float(embeddings)
    norms = np.sqrt(row_sq_norms(embeddings))
    inverse = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    # Weights of zero drop the other rows without copying the embeddings.
    weights = np.where(reference, inverse, 0.0).astype(embeddings.dtype)
    mean_unit = (weights @ embeddings) / np.count_nonzero(reference)
    similarity = (embeddings @ mean_unit).astype(np.float64) * inverse
    return np.clip((1.0 + similarity) / 2.0, 0.0, 1.0)
