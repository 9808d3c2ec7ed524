"""TypiClust: one typical item per uncovered cluster, largest clusters first."""

import numpy as np
import pytest
from numpy.typing import NDArray

from labelloop.strategies import InvalidParameterError, Pool, TypiClust
from labelloop.strategies.coldstart import kmeans


def blobs() -> tuple[NDArray[np.float64], list[NDArray[np.int64]]]:
    """Three separated blobs of 40, 25 and 10 points; each blob's first point is its centre.

    Around the centre sit four points at distance 0.5 (a cross) and the rest on a
    circle of radius 3. With 4 neighbours, the centre's mean neighbour distance is
    0.5; a cross point's is (0.5 + 0.71 + 0.71 + 1) / 4 = 0.73, and a circle point's
    is larger still: the centre is the most typical point of its blob.
    """
    cross = 0.5 * np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    parts, members, start = [], [], 0
    for centre, size in (((0.0, 0.0), 40), ((20.0, 0.0), 25), ((0.0, 20.0), 10)):
        angles = np.linspace(0.0, 2 * np.pi, size - 5, endpoint=False) + 0.1
        circle = 3.0 * np.column_stack([np.cos(angles), np.sin(angles)])
        parts.append(np.asarray(centre) + np.vstack([[0.0, 0.0], cross, circle]))
        members.append(np.arange(start, start + size))
        start += size
    return np.vstack(parts), members


def test_picks_the_centre_of_each_blob_largest_first() -> None:
    points, members = blobs()
    pool = Pool(labeled=np.zeros(len(points), dtype=bool), embeddings=points)
    picked = TypiClust(n_neighbors=4, random_state=0).select(pool, 3).tolist()
    assert picked == [members[0][0], members[1][0], members[2][0]]


def test_covered_clusters_are_skipped() -> None:
    points, members = blobs()
    labeled = np.zeros(len(points), dtype=bool)
    labeled[members[0][5]] = True  # the largest blob already has a label
    pool = Pool(labeled=labeled, embeddings=points)
    picked = TypiClust(n_neighbors=4, max_clusters=3, random_state=0).select(pool, 2).tolist()
    assert picked == [members[1][0], members[2][0]]


def test_typicality_uses_a_sample_for_large_clusters() -> None:
    points, members = blobs()
    pool = Pool(labeled=np.zeros(len(points), dtype=bool), embeddings=points)
    picked = TypiClust(n_neighbors=4, max_reference=30, random_state=0).select(pool, 3).tolist()
    assert [p in m for p, m in zip(picked, members, strict=True)] == [True, True, True]


def test_kmeans_recovers_separated_blobs() -> None:
    points, members = blobs()
    labels = kmeans(points, 3, np.random.default_rng(1))
    for group in members:
        assert len(set(labels[group].tolist())) == 1
    assert len(set(labels.tolist())) == 3


def test_bad_parameter_is_refused_when_selecting() -> None:
    points, _ = blobs()
    pool = Pool(labeled=np.zeros(len(points), dtype=bool), embeddings=points)
    with pytest.raises(InvalidParameterError, match="n_neighbors"):
        TypiClust(n_neighbors=0).select(pool, 1)
