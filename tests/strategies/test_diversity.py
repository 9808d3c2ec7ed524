"""Core-set selection: hand-computed k-center picks, and the fast path against plain greedy."""

from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from labelloop.strategies import CoreSet, Pool, _kcenter


def naive_k_center(
    embeddings: NDArray[np.floating[Any]], labeled: NDArray[np.bool_], k: int
) -> list[int]:
    """Plain farthest-first traversal in float64: one pass over the pool per pick."""
    points = embeddings.astype(np.float64)
    nearest = np.full(len(points), np.inf)
    centers = [int(i) for i in np.flatnonzero(labeled)]
    picks: list[int] = []
    if not centers:
        to_mean = ((points - points.mean(axis=0)) ** 2).sum(axis=1)
        picks = centers = [int(np.argmin(to_mean))]
    for c in centers:
        np.minimum(nearest, ((points - points[c]) ** 2).sum(axis=1), out=nearest)
    nearest[labeled] = -np.inf
    nearest[picks] = -np.inf
    while len(picks) < k:
        c = int(np.argmax(nearest))
        picks.append(c)
        np.minimum(nearest, ((points - points[c]) ** 2).sum(axis=1), out=nearest)
        nearest[c] = -np.inf
    return picks


def select(embeddings: NDArray[np.floating[Any]], labeled: list[int], k: int) -> list[int]:
    mask = np.zeros(len(embeddings), dtype=bool)
    mask[labeled] = True
    picked: list[int] = CoreSet().select(Pool(labeled=mask, embeddings=embeddings), k).tolist()
    return picked


def test_points_on_a_line_by_hand() -> None:
    # Positions 0, 1, 2, 4, 7, 8, 15 with 0 labeled. Farthest from {0} is 15 (index 6);
    # from {0, 15}: 7 is 7 from 0 and 8 from 15, 8 is 7 from 15: index 4 (7) at 7.
    # From {0, 7, 15}: 4 is 3 from 7 -> index 3 at 3 (2 is 2 away, 8 is 1 away).
    # From {0, 4, 7, 15}: 2 is 2 from 0 and 4 -> index 2 at 2 (ties go to the lower index).
    line = np.array([[0.0], [1.0], [2.0], [4.0], [7.0], [8.0], [15.0]])
    assert select(line, [0], 4) == [6, 4, 3, 2]


def test_no_labels_starts_nearest_the_mean() -> None:
    # The mean is 6, so 7 (index 3) comes first. From {7}: 15 is 8 away and 0 is 7
    # away, so 15 (index 5); from {7, 15}: 0 (index 0), 7 from 7.
    line = np.array([[0.0], [1.0], [2.0], [7.0], [9.0], [15.0], [8.0]])
    assert line.mean() == pytest.approx(6.0)
    assert select(line, [], 3) == [3, 5, 0]


def test_tie_goes_to_the_lower_index() -> None:
    # -2 and 2 are both 2 from the labeled 0: index 1 (-2) wins over index 2 (2).
    line = np.array([[0.0], [-2.0], [2.0]])
    assert select(line, [0], 1) == [1]


@pytest.mark.parametrize("seed", range(8))
def test_fast_path_equals_plain_greedy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(100, 2500)), int(rng.integers(1, 40))
    k = int(rng.integers(1, min(n // 2, 200)))
    values = rng.normal(size=(n, d))
    if seed % 4 == 1:
        values += 100  # a large offset: float32 cancellation must not change picks
    if seed % 3 == 0:
        values = np.round(values, 1)  # many exact ties
    embeddings = values.astype(np.float32) if seed % 2 else values
    labeled = rng.random(n) < [0.0, 0.01, 0.2][seed % 3]
    picked = CoreSet().select(Pool(labeled=labeled, embeddings=embeddings), k)
    assert picked.tolist() == naive_k_center(embeddings, labeled, k)


def test_fast_path_equals_plain_greedy_when_the_head_runs_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A short head and few centers per pass force every fallback: head exhausted,
    # early passes over the pool, and the whole-pool check on a grid full of ties.
    monkeypatch.setattr(_kcenter, "_HEAD_SIZE", 16)
    monkeypatch.setattr(_kcenter, "_CHUNK", 4)
    monkeypatch.setattr(_kcenter, "_SYNC_CENTERS", 3)
    monkeypatch.setattr(_kcenter, "_SYNC_ROWS", 50)
    calls = {"scan_all": 0}
    scan_all = _kcenter._Traversal._scan_all

    def counting_scan_all(self: Any) -> int:
        calls["scan_all"] += 1
        return scan_all(self)

    monkeypatch.setattr(_kcenter._Traversal, "_scan_all", counting_scan_all)
    rng = np.random.default_rng(5)
    grid = rng.integers(0, 4, size=(600, 3)).astype(np.float32)
    labeled = np.zeros(600, dtype=bool)
    labeled[:3] = True
    picked = CoreSet().select(Pool(labeled=labeled, embeddings=grid), 40)
    assert picked.tolist() == naive_k_center(grid, labeled, 40)
    assert calls["scan_all"] > 0
    gauss = rng.normal(size=(700, 5))
    picked = CoreSet().select(Pool(labeled=np.zeros(700, dtype=bool), embeddings=gauss), 60)
    assert picked.tolist() == naive_k_center(gauss, np.zeros(700, dtype=bool), 60)


def test_fast_path_equals_plain_greedy_when_points_sleep_and_wake(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Tight clusters make the farthest distance drop sharply once every cluster
    # has a center, so points left asleep must wake and catch up on many centers.
    monkeypatch.setattr(_kcenter, "_HEAD_SIZE", 64)
    monkeypatch.setattr(_kcenter, "_SYNC_CENTERS", 8)
    floors: list[float] = []
    sync = _kcenter._Traversal._sync

    def recording_sync(self: Any, floor: float) -> None:
        floors.append(floor)
        sync(self, floor)

    monkeypatch.setattr(_kcenter._Traversal, "_sync", recording_sync)
    rng = np.random.default_rng(11)
    centres = rng.normal(scale=20.0, size=(30, 16))
    points = (centres[rng.integers(0, 30, size=3000)] + rng.normal(size=(3000, 16))).astype(
        np.float32
    )
    labeled = np.zeros(3000, dtype=bool)
    labeled[:5] = True
    picked = CoreSet().select(Pool(labeled=labeled, embeddings=points), 80)
    assert picked.tolist() == naive_k_center(points, labeled, 80)
    assert any(np.isfinite(floors))  # some passes left points asleep


def test_duplicates_of_centers_are_picked_last() -> None:
    # Three copies of the labeled point are at distance 0: they come after the rest.
    points = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 4.0], [0.0, 0.0], [0.0, 0.0]])
    assert select(points, [0], 4) == [2, 1, 3, 4]
