"""ProbCover: balls of radius delta chosen for purity, greedy max coverage."""

import numpy as np
from numpy.typing import NDArray

from labelloop.strategies import Pool, make_strategy
from labelloop.strategies.coldstart import ProbCover, _balls


def blobs() -> tuple[NDArray[np.float64], list[NDArray[np.int64]]]:
    """Four tight clusters of 30, 20, 10 and 5 points around orthogonal directions in 8-D."""
    rng = np.random.default_rng(0)
    parts, members, start = [], [], 0
    for axis, size in enumerate((30, 20, 10, 5)):
        centre = np.zeros(8)
        centre[axis] = 1.0
        parts.append(centre + 0.05 * rng.standard_normal((size, 8)))
        members.append(np.arange(start, start + size))
        start += size
    return np.vstack(parts), members


def _cluster_of(members: list[NDArray[np.int64]], index: int) -> int:
    return next(c for c, m in enumerate(members) if index in m)


def test_one_pick_per_cluster_biggest_first() -> None:
    points, members = blobs()
    pool = Pool(labeled=np.zeros(len(points), dtype=bool), embeddings=points)
    picked = ProbCover(n_clusters=4, random_state=0).select(pool, 4).tolist()
    assert [_cluster_of(members, i) for i in picked] == [0, 1, 2, 3]


def test_covered_clusters_are_left_for_later() -> None:
    points, members = blobs()
    labeled = np.zeros(len(points), dtype=bool)
    labeled[members[0][:3]] = True
    pool = Pool(labeled=labeled, embeddings=points)
    picked = ProbCover(n_clusters=4, random_state=0).select(pool, 3).tolist()
    assert sorted(_cluster_of(members, i) for i in picked) == [1, 2, 3]
    assert not labeled[picked].any()


def test_balls_are_within_delta() -> None:
    z = np.eye(3)
    balls = _balls(z, 1.5)  # orthogonal unit vectors are sqrt(2) ~ 1.41 apart
    assert [b.tolist() for b in balls] == [[0, 1, 2]] * 3
    assert [b.tolist() for b in _balls(z, 1.0)] == [[0], [1], [2]]


def test_registered_for_the_cold_start() -> None:
    assert isinstance(make_strategy("probcover", random_state=1), ProbCover)
