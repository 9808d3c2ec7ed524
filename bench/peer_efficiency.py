"""labelloop, scikit-activeml and modAL side by side: labels to a target accuracy.

The same pool/test split, the same seed sets (20 labels per repeat), batches
of 20 up to 600 labels, the same learner (logistic regression, C=1, on the
images' pixels), margin, entropy and random sampling. labelloop runs its
own simulation driver (``run_simulation``); the peers run their own loops in
their own venv (they pin other versions of scikit-learn), created on first
use under ``runs/peers-venv``:

    .venv/bin/python bench/peer_efficiency.py [--datasets digits,photolike]
        [--repeats 3] [--no-refit-too]

Prints, per dataset, tool and strategy: labels to the target (from the
mean curve over repeats), the ratio to the same tool's random, and mean test
accuracy at 100, 300 and 600 labels. ``--no-refit-too`` adds labelloop with
``refit=False`` (the validation fifth never trains the model: the behaviour
the issue measured).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labelloop.data.demo import DIGITS_CLASSES, digits_arrays
from labelloop.data.photolike import photo_like_arrays
from labelloop.loop.simulate import (
    Dataset,
    SimulationSettings,
    run_simulation,
    split_pool_test,
)

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "runs" / "peers-venv"
TARGETS = {"digits": 0.95, "photolike": None}  # None: 90% of the best final accuracy
SEED, SEED_SIZE, BATCH, BUDGET = 0, 20, 20, 600


def _dataset(name: str) -> Dataset:
    if name == "digits":
        X, y = digits_arrays()
    else:  # digits drawn large on textured colour backgrounds, 32x32 for the pixel learner
        X, y = photo_like_arrays(1797, size=32, seed=0)
    return Dataset(X, y, DIGITS_CLASSES)


def _ensure_peers() -> Path:
    python = PEERS / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
        subprocess.run(
            [str(PEERS / "bin" / "pip"), "install", "-q", "scikit-activeml", "modAL-python"],
            check=True,
        )
    return python


def _labelloop(data: Dataset, repeats: int, refit: bool) -> list[dict[str, object]]:
    settings = SimulationSettings(
        strategies=("margin", "entropy", "random"),
        learner="logreg",
        seed_size=SEED_SIZE,
        batch_size=BATCH,
        budget=BUDGET,
        repeats=repeats,
        seed=SEED,
        refit=refit,
    )
    curves: dict[tuple[str, int], list[tuple[int, float]]] = {}
    with tempfile.TemporaryDirectory() as out:
        run_simulation(
            data,
            settings,
            Path(out),
            on_round=lambda p: curves.setdefault((p.strategy, p.repeat), []).append(
                (p.n_labeled, p.accuracy)
            ),
        )
    tool = "labelloop" if refit else "labelloop (no refit)"
    return [{"tool": tool, "strategy": s, "repeat": r, "curve": c} for (s, r), c in curves.items()]


def _peers(data: Dataset, repeats: int, python: Path) -> list[dict[str, object]]:
    # The splits labelloop's simulation uses: pool/test by the base seed, and
    # repeat r's seed set drawn by default_rng(seed + r) over the pool.
    pool, test = split_pool_test(data, 0.2, SEED)
    inits = [
        np.random.default_rng(SEED + r).choice(len(pool), size=SEED_SIZE, replace=False)
        for r in range(repeats)
    ]
    flat = data.X.reshape(len(data.X), -1)
    with tempfile.TemporaryDirectory() as tmp:
        splits, out = Path(tmp) / "splits.npz", Path(tmp) / "peers.json"
        np.savez(
            splits,
            X_pool=flat[pool],
            y_pool=data.y[pool],
            X_test=flat[test],
            y_test=data.y[test],
            inits=np.stack(inits),
            seeds=np.array([SEED + r for r in range(repeats)]),
            n_classes=len(data.classes),
        )
        subprocess.run(
            [str(python), str(ROOT / "bench" / "_peer_loops.py"), str(splits), str(out)],
            check=True,
        )
        results: list[dict[str, object]] = json.loads(out.read_text())
        return results


def _mean_curve(runs: list[dict[str, object]]) -> dict[int, float]:
    by_n: dict[int, list[float]] = {}
    for run in runs:
        for n, acc in run["curve"]:  # type: ignore[attr-defined]
            by_n.setdefault(int(n), []).append(float(acc))
    return {n: float(np.mean(v)) for n, v in sorted(by_n.items())}


def _to_target(curve: dict[int, float], target: float) -> int | None:
    return next((n for n, acc in curve.items() if acc >= target), None)


def _report(name: str, results: list[dict[str, object]]) -> None:
    groups: dict[tuple[str, str], list[dict[str, object]]] = {}
    for run in results:
        groups.setdefault((str(run["tool"]), str(run["strategy"])), []).append(run)
    curves = {key: _mean_curve(runs) for key, runs in groups.items()}
    target = TARGETS[name]
    if target is None:
        target = round(0.9 * max(c[max(c)] for c in curves.values()), 3)
    print(f"\n{name}: labels to {target:.3f} test accuracy (mean curve of the repeats)")
    print(
        f"{'tool':24} {'strategy':9} {'labels':>7} {'ratio':>6} {'@100':>6} {'@300':>6} {'@600':>6}"
    )
    for (tool, strategy), curve in sorted(curves.items()):
        need = _to_target(curve, target)
        base = _to_target(curves[(tool, "random")], target)
        ratio = f"{need / base:.2f}" if need and base else "-"
        at = [curve.get(n) for n in (100, 300, 600)]
        cells = " ".join(f"{a:6.3f}" if a is not None else "     -" for a in at)
        print(f"{tool:24} {strategy:9} {need or '>600':>7} {ratio:>6} {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="digits,photolike")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-refit-too", action="store_true")
    args = parser.parse_args()
    python = _ensure_peers()
    for name in args.datasets.split(","):
        data = _dataset(name)
        started = time.perf_counter()
        results = _labelloop(data, args.repeats, refit=True)
        if args.no_refit_too:
            results += _labelloop(data, args.repeats, refit=False)
        results += _peers(data, args.repeats, python)
        _report(name, results)
        print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
