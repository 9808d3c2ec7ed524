"""Time query strategies: uncertainty beside ``np.argpartition``, heavy ones beside peers.

Run from the repository root. The uncertainty table needs only the project's venv:

    .venv/bin/python bench/select_speed.py [--sizes 100000 1000000] [--classes 10]
        [--k 1000] [--repeats 5]

The heavy cases (core-set, BADGE, BALD) compare with other libraries in the same
process, so run them from a venv that also holds the peers (never the project's
own .venv):

    python3 -m venv runs/peers-venv
    runs/peers-venv/bin/pip install -e . scikit-activeml modAL-python baal
    runs/peers-venv/bin/python bench/select_speed.py --heavy [--quick]

A peer that does not import prints "peer unavailable". ``--threads`` sets torch's
thread count, 1 by default: on a 2-core machine shared with other work,
multi-threaded matrix products wait on each other (core-set under such load:
6.7 s with 1 thread, 22 s with 2), while on an idle machine 2 threads gain
nothing here (4.99 s against 4.83 s), so one thread measures the algorithm
rather than the scheduler. ``--threads 0`` keeps torch's default. ``--threads`` sets torch's
thread count, 1 by default: on a 2-core machine shared with other work,
multi-threaded matrix products wait on each other (core-set under such load:
6.7 s with 1 thread, 22 s with 2), while on an idle machine 2 threads gain
nothing here (4.99 s against 4.83 s), so one thread measures the algorithm
rather than the scheduler. ``--threads 0`` keeps torch's default. modAL has no core-set,
BADGE or BALD, so it has no row.

Uncertainty table. For each pool size the probabilities are a seeded Dirichlet
draw (float32) with about 10% of the items labeled. Columns, each the best of
``--repeats`` rounds:

- ``ours``: ``strategy.select(pool, k)``, scoring included.
- ``score``: ``strategy.score(probs)`` alone (random sampling has no scoring step).
- ``argpart``: ``np.argpartition(scores, -k)[-k:]`` of the precomputed scores; it
  neither masks labeled items, nor breaks ties, nor orders the k winners. For
  random sampling the scores are uniform random keys, the usual way to draw k.
- ``ours/argpart`` and ``(ours-score)/argpart``: the ratios of the above.

Its goal: at n = 1,000,000 ``select`` within 1.5x the argpartition baseline and
under 100 ms on a 2-core machine.

Heavy table. Each case runs ours and the peer on the same seeded arrays, best of
``--heavy-repeats`` runs; ``wall`` is elapsed seconds, ``cpu`` the process CPU
seconds (over ``wall`` when threads run in parallel, and the steadier figure on a
shared machine), ``extra MB`` the rise of the process's peak resident memory
during the call over its resident memory before it (read from /proc, so numpy,
torch and BLAS buffers all count). Goals: core-set 1,000 of 1,000,000 x 128 in
under 10 s with O(n) memory; BADGE 100 of 20,000 x 100 classes x 768 faster than
scikit-activeml's and under 100 MB; BALD over 1,000,000 x 20 samples x 10
classes at least 3x faster than baal's. Where a peer cannot run at the goal size
(memory, or tens of minutes), both run at a smaller size in their own rows.
"""

import argparse
import os
import platform
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from labelloop.strategies import (
    BADGE,
    BALD,
    STRATEGY_NAMES,
    CoreSet,
    Pool,
    UncertaintyStrategy,
    make_strategy,
)

_LABELED_FRACTION = 0.1


def _nothing() -> None:
    """Stand-in for the scoring step of strategies that have none."""


def best_ms(fns: Sequence[Callable[[], object]], repeats: int) -> list[float]:
    """Return the fastest of ``repeats`` rounds for each function, in milliseconds.

    The functions take turns within each round, so a burst of load from other
    processes slows all of them alike instead of skewing one column. Each runs
    twice in a row per round, so its second run meets a warm cache, as in a loop.
    """
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            for _ in range(2):
                start = time.perf_counter()
                fn()
                best[i] = min(best[i], time.perf_counter() - start)
    return [seconds * 1e3 for seconds in best]


def bench_size(n: int, n_classes: int, k: int, repeats: int) -> list[str]:
    """Time every strategy that needs at most ``probs`` on one seeded pool of ``n`` items.

    Returns:
        One formatted table row per strategy.
    """
    rng = np.random.default_rng(n)
    probs = rng.dirichlet(np.ones(n_classes), size=n).astype(np.float32)
    labeled = rng.random(n) < _LABELED_FRACTION
    pool = Pool(labeled=labeled, probs=probs)
    rows = []
    for name in STRATEGY_NAMES:
        strategy = make_strategy(name, random_state=0)
        if not strategy.requires <= {"probs"}:
            continue
        if isinstance(strategy, UncertaintyStrategy):
            scores = strategy.score(probs)
            score_only: Callable[[], object] = partial(strategy.score, probs)
        else:
            scores = rng.random(n)
            score_only = _nothing
        ours, scoring, baseline = best_ms(
            [
                partial(strategy.select, pool, k),
                score_only,
                partial(lambda s: np.argpartition(s, -k)[-k:], scores),
            ],
            repeats,
        )
        if score_only is _nothing:
            scoring = 0.0
        score_cell = f"{scoring:9.2f}" if scoring else f"{'-':>9}"
        rows.append(
            f"{name:<17}{n:>9}{ours:>9.2f}{score_cell}{baseline:>9.2f}"
            f"{ours / baseline:>13.2f}{(ours - scoring) / baseline:>21.2f}"
        )
    return rows


# ---------------------------------------------------------------- heavy cases


@dataclass
class Run:
    """One measured call: best wall and CPU seconds, and peak extra resident MB."""

    wall: float
    cpu: float
    extra_mb: float


def _proc_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def measure(fn: Callable[[], object], repeats: int, trace: bool = True) -> Run:
    """Best wall and CPU time of ``repeats`` calls, and the largest peak memory rise.

    Peak memory is the larger of two readings. Writing 5 to /proc/self/clear_refs
    resets the kernel's peak resident size (VmHWM), so VmHWM after a call minus
    VmRSS before it counts everything the call touched (torch and BLAS buffers
    too), but misses memory that an earlier call freed and this one reused. With
    ``trace``, one more untimed call runs under tracemalloc, which sees every
    numpy allocation however it is reused.
    """
    best_wall = best_cpu = float("inf")
    extra = 0.0
    for _ in range(repeats):
        try:
            with open("/proc/self/clear_refs", "w") as clear:
                clear.write("5")
            before = _proc_kb("VmRSS")
        except OSError:
            before = -1
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        if before >= 0:
            extra = max(extra, (_proc_kb("VmHWM") - before) / 1024)
    if trace:
        tracemalloc.start()
        fn()
        extra = max(extra, tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
    return Run(best_wall, best_cpu, extra)


def _row(case: str, size: str, who: str, run: Run | None, note: str = "") -> str:
    if run is None:
        return f"{case:<9}{size:<28}{who:<22}{note}"
    return (
        f"{case:<9}{size:<28}{who:<22}{run.wall:>8.3f}{run.cpu:>8.3f}{run.extra_mb:>10.0f}  {note}"
    )


def _ratio(ours: Run, peer: Run) -> str:
    return f"peer/ours: wall {peer.wall / ours.wall:.1f}x, cpu {peer.cpu / ours.cpu:.1f}x"


def _clustered(n: int, d: int, rng: np.random.Generator) -> NDArray[np.float32]:
    """``(n, d)`` float32 points around 1,000 seeded centres, like image embeddings."""
    centres = rng.normal(scale=3.0, size=(1000, d)).astype(np.float32)
    points = rng.normal(size=(n, d)).astype(np.float32)
    for start in range(0, n, 1 << 16):
        block = slice(start, start + (1 << 16))
        points[block] += centres[rng.integers(0, 1000, size=points[block].shape[0])]
    return points


def bench_coreset(
    size: tuple[int, int, int, int], peer_size: tuple[int, int, int, int], args: argparse.Namespace
) -> list[str]:
    """Core-set: ours at the goal size; both ours and scikit-activeml's at ``peer_size``.

    Each size is ``(n, d, k, n_labeled)``. scikit-activeml's CoreSet keeps a
    ``k x n`` float64 utilities matrix and passes over the pool once per pick, so
    at the goal size it would need 8 GB and tens of minutes.
    """
    rows = []
    for n, d, k, n_labeled in dict.fromkeys([size, peer_size]):
        rng = np.random.default_rng(0)
        points = _clustered(n, d, rng)
        labeled = np.zeros(n, dtype=bool)
        labeled[rng.choice(n, n_labeled, replace=False)] = True
        label = f"{n}x{d} k={k} lab={n_labeled}"
        pool = Pool(labeled=labeled, embeddings=points)
        ours = measure(partial(CoreSet().select, pool, k), args.heavy_repeats)
        rows.append(_row("coreset", label, "labelloop CoreSet", ours))
        if (n, d, k, n_labeled) != peer_size:
            continue
        try:
            from skactiveml.pool import CoreSet as PeerCoreSet
        except ImportError:
            rows.append(_row("coreset", label, "scikit-activeml", None, "peer unavailable"))
            continue
        y = np.where(labeled, 0.0, np.nan)
        peer = measure(
            partial(PeerCoreSet(random_state=0).query, points, y, batch_size=k), 1, False
        )
        rows.append(_row("coreset", label, "scikit-activeml", peer, _ratio(ours, peer)))
    return rows


def _badge_inputs(
    n: int, n_classes: int, d: int
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.full(n_classes, 0.1), size=n).astype(np.float32)
    return probs, _clustered(n, d, rng)


def _skactiveml_badge(
    probs: NDArray[np.float32], features: NDArray[np.float32], k: int
) -> Callable[[], object]:
    """A call of scikit-activeml's Badge on precomputed probabilities and features."""
    from skactiveml.base import SkactivemlClassifier
    from skactiveml.pool import Badge

    class Precomputed(SkactivemlClassifier):  # type: ignore[misc]
        """Returns the arrays it was given; every item is unlabeled."""

        def __init__(self, probas: Any = None, features: Any = None, classes: Any = None) -> None:
            super().__init__(classes=classes)
            self.probas = probas
            self.features = features

        def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "Precomputed":
            return self

        def predict_proba(self, X: Any, embed: bool = False) -> Any:
            return self.probas, self.features

    clf = Precomputed(probs, features, classes=np.arange(probs.shape[1]))
    y = np.full(probs.shape[0], np.nan)
    query = Badge(clf_embedding_flag_name="embed", random_state=0).query
    return partial(query, features, y, clf, fit_clf=False, batch_size=k)


def bench_badge(
    size: tuple[int, int, int, int], peer_size: tuple[int, int, int, int], args: argparse.Namespace
) -> list[str]:
    """BADGE: ours at the goal size; both ours and scikit-activeml's at ``peer_size``.

    Each size is ``(n, n_classes, d, k)``. scikit-activeml's Badge builds the
    ``n x (n_classes * d)`` gradient embedding in float64 (with a temporary as
    large), 25 GB at the goal size, and passes over it once per pick.
    """
    rows = []
    for n, n_classes, d, k in dict.fromkeys([size, peer_size]):
        probs, features = _badge_inputs(n, n_classes, d)
        label = f"{n}x{n_classes}x{d} k={k}"
        pool = Pool(labeled=np.zeros(n, dtype=bool), probs=probs, embeddings=features)
        ours = measure(partial(BADGE(random_state=0).select, pool, k), args.heavy_repeats)
        rows.append(_row("badge", label, "labelloop BADGE", ours))
        if (n, n_classes, d, k) != peer_size:
            continue
        try:
            peer_call = _skactiveml_badge(probs, features, k)
        except ImportError:
            rows.append(_row("badge", label, "scikit-activeml", None, "peer unavailable"))
            continue
        peer = measure(peer_call, 1, False)
        rows.append(_row("badge", label, "scikit-activeml", peer, _ratio(ours, peer)))
    return rows


def bench_bald(
    n: int, n_samples: int, n_classes: int, k: int, args: argparse.Namespace
) -> list[str]:
    """BALD: ours (score, and select) beside baal's BALD heuristic on the same samples.

    baal wants ``(n, n_classes, n_samples)``; the transposed copy is made before
    timing, so its layout costs it nothing.
    """
    rng = np.random.default_rng(2)
    samples = rng.dirichlet(np.ones(n_classes), size=(n_samples, n)).astype(np.float32)
    size = f"{n}x{n_samples}x{n_classes}"
    pool = Pool(labeled=np.zeros(n, dtype=bool), samples=samples)
    ours_score = measure(partial(BALD().score, samples), args.heavy_repeats)
    ours_select = measure(partial(BALD().select, pool, k), args.heavy_repeats)
    rows = [
        _row("bald", size, "labelloop score", ours_score),
        _row("bald", size + f" k={k}", "labelloop select", ours_select),
    ]
    try:
        from baal.active import heuristics
    except ImportError:
        return [*rows, _row("bald", size, "baal", None, "peer unavailable")]
    native = np.ascontiguousarray(samples.transpose(1, 2, 0))
    del samples, pool
    peer_score = measure(
        partial(heuristics.BALD().compute_score, native), args.heavy_repeats, False
    )
    peer_rank = measure(partial(heuristics.BALD(), native), args.heavy_repeats, False)
    return [
        *rows,
        _row("bald", size, "baal compute_score", peer_score, _ratio(ours_score, peer_score)),
        _row(
            "bald",
            size,
            "baal ranking",
            peer_rank,
            "vs labelloop select: " + _ratio(ours_select, peer_rank),
        ),
    ]


def run_heavy(args: argparse.Namespace) -> None:
    """Print the heavy table."""
    quick = args.quick
    print(
        f"torch {torch.__version__} with {torch.get_num_threads()} threads, "
        f"best of {args.heavy_repeats}; times in s" + (" (quick sizes)" if quick else "")
    )
    print(f"{'case':<9}{'size':<28}{'who':<22}{'wall':>8}{'cpu':>8}{'extra MB':>10}  note")
    cases = {
        "coreset": lambda: bench_coreset(
            (100_000, 128, 200, 100) if quick else (1_000_000, 128, 1000, 100),
            (20_000, 128, 50, 100) if quick else (100_000, 128, 200, 100),
            args,
        ),
        "badge": lambda: bench_badge(
            (4000, 100, 768, 100) if quick else (20_000, 100, 768, 100),
            (500, 100, 768, 20) if quick else (2000, 100, 768, 100),
            args,
        ),
        "bald": lambda: bench_bald(
            *((100_000, 20, 10, 1000) if quick else (1_000_000, 20, 10, 1000)), args
        ),
    }
    for name in args.cases:
        for row in cases[name]():
            print(row, flush=True)


def main() -> None:
    """Parse the command line and print the tables."""
    parser = argparse.ArgumentParser(
        description="Time strategy.select against baselines and peers."
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--heavy", action="store_true", help="Run the heavy cases instead.")
    parser.add_argument("--quick", action="store_true", help="Heavy cases at small sizes.")
    parser.add_argument(
        "--cases",
        nargs="+",
        default=["coreset", "badge", "bald"],
        choices=["coreset", "badge", "bald"],
    )
    parser.add_argument("--heavy-repeats", type=int, default=3)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads; 0 keeps torch's default (one per core).",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"numpy {np.__version__}, python {platform.python_version()}, {os.cpu_count()} CPUs")
    if args.heavy:
        run_heavy(args)
        return
    print(f"{args.classes} classes, k={args.k}, best of {args.repeats}, times in ms")
    print(
        f"{'strategy':<17}{'n':>9}{'ours':>9}{'score':>9}{'argpart':>9}"
        f"{'ours/argpart':>13}{'(ours-score)/argpart':>21}"
    )
    for n in args.sizes:
        for row in bench_size(n, args.classes, args.k, args.repeats):
            print(row)


if __name__ == "__main__":
    main()
