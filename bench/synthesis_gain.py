"""Does membership-query synthesis beat margin sampling at equal human labels? Digits, oracle.

Three arms share each repeat's pool/test split, seed set and model initialisation:

* ``margin``: every round, the batch is the pool items of smallest margin.
* ``margin+synth``: ``--synth`` of each batch are synthesized queries chosen by
  the model (:func:`~labelloop.synthesis.select_queries`, ``--mode``) among
  augmented variants of every labeled image and a sample of unlabeled ones; the
  rest of the batch is margin sampling.
* ``margin+augment``: the same share of random variants of random sources, not
  chosen by the model: the control for "any extra augmented data helps".

The oracle labels a variant with its source's true label, and every synthesized
query costs one human label, from either kind of source, inside the same budget.
Real items go through the stratified train/validation split; synthesized ones
always train, so validation (early stopping for the CNN) stays on real images.
Prints test accuracy, mean ± std over repeats, at equal human labels, and the
paired difference to ``margin``. Figures, not asserts.

    .venv/bin/python bench/synthesis_gain.py --learners logreg,cnn --repeats 5 --budget 200
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sklearn.model_selection import train_test_split

from labelloop.data import StratifiedSplitter, digits_arrays
from labelloop.learners import Learner, evaluate, make_learner
from labelloop.loop.engine import fit_learner
from labelloop.strategies import Pool, make_strategy
from labelloop.synthesis import (
    SynthesisConfig,
    generate_variants,
    prediction_flips,
    select_queries,
    source_rows,
)

ARMS = ("margin", "margin+synth", "margin+augment")


@dataclass(frozen=True)
class Settings:
    """What every run shares."""

    budget: int
    batch: int
    synth: int
    seed_size: int
    seed: int
    synthesis: SynthesisConfig


@dataclass
class Run:
    """One arm of one repeat: what has been labeled, and notes on the synthesized queries."""

    X_pool: NDArray[np.float32]
    y_pool: NDArray[np.int64]
    real: list[int]
    synth_images: list[NDArray[np.float32]] = field(default_factory=list)
    synth_y: list[int] = field(default_factory=list)
    notes: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.splitter = StratifiedSplitter(val_fraction=0.2)
        self.sides = [self.splitter.assign(str(self.y_pool[i])) for i in self.real]

    @property
    def human_labels(self) -> int:
        return len(self.real) + len(self.synth_y)

    def labeled_mask(self) -> NDArray[np.bool_]:
        mask = np.zeros(len(self.y_pool), dtype=bool)
        mask[self.real] = True
        return mask

    def add_real(self, chosen: NDArray[np.int64]) -> None:
        self.real.extend(chosen.tolist())
        self.sides.extend(self.splitter.assign(str(self.y_pool[i])) for i in chosen)

    def fit(self, learner: Learner) -> None:
        real = np.array(self.real, dtype=np.int64)
        X = np.concatenate([self.X_pool[real], *(x[None] for x in self.synth_images)])
        y = np.concatenate([self.y_pool[real], np.array(self.synth_y, dtype=np.int64)])
        is_val = np.array([s == "val" for s in self.sides] + [False] * len(self.synth_y))
        fit_learner(learner, X, y, np.flatnonzero(~is_val), np.flatnonzero(is_val))


def _sources(run: Run, rng: np.random.Generator, max_sources: int) -> NDArray[np.int64]:
    """Every labeled pool item, then unlabeled ones at random, up to ``max_sources``."""
    labeled = np.array(run.real, dtype=np.int64)
    unlabeled = np.flatnonzero(~run.labeled_mask())
    room = max(0, min(len(unlabeled), max_sources - len(labeled)))
    return np.concatenate([labeled, rng.choice(unlabeled, size=room, replace=False)])


def _synthesize(
    arm: str, run: Run, learner: Learner, k: int, config: SynthesisConfig, rng: np.random.Generator
) -> None:
    """Queue ``k`` synthesized queries and let the oracle label them with their source's label."""
    sources = _sources(run, rng, config.max_sources)
    if arm == "margin+augment":
        sources = rng.choice(sources, size=k, replace=False)
    X_variants, provenance = generate_variants(
        run.X_pool[sources],
        sources.tolist(),
        per_image=1 if arm == "margin+augment" else config.per_image,
        transforms=config.transforms,
        random_state=rng,
        ranges=config.ranges,
    )
    rows = source_rows(provenance, sources.tolist())
    probs_variants = learner.predict_proba(X_variants)
    probs_sources = learner.predict_proba(run.X_pool[sources])
    if arm == "margin+augment":
        chosen = np.arange(len(provenance), dtype=np.int64)
    else:
        chosen = select_queries(
            probs_variants,
            probs_sources,
            rows,
            k=k,
            mode=config.mode,
            strategy=config.strategy,
            max_per_source=config.max_per_source,
        )
    flips = prediction_flips(probs_variants, probs_sources, rows)
    labeled = set(run.real)
    for i in chosen.tolist():
        source = provenance[i].source_item
        run.synth_images.append(X_variants[i])
        run.synth_y.append(int(run.y_pool[source]))
        run.notes[f"transform:{provenance[i].transform}"] += 1
        run.notes["flip"] += int(flips[i])
        run.notes["labeled source"] += int(source in labeled)
        run.notes["model wrong"] += int(probs_variants[i].argmax() != run.y_pool[source])
        run.notes["queries"] += 1


def run_arm(
    arm: str,
    learner_name: str,
    split: tuple[NDArray[np.int64], NDArray[np.int64]],
    repeat: int,
    settings: Settings,
) -> tuple[dict[int, float], Counter[str]]:
    """Rounds until the human budget is spent; test accuracy at each labeled-set size."""
    X, y = digits_arrays()
    pool, test = split
    seed = settings.seed + repeat
    seed_set = np.random.default_rng(seed).choice(len(pool), settings.seed_size, replace=False)
    run = Run(X[pool], y[pool], seed_set.tolist())
    learner = make_learner(learner_name, n_classes=10, input_shape=(1, 8, 8), random_state=seed)
    strategy = make_strategy("margin", random_state=seed)
    rng = np.random.default_rng([seed, ARMS.index(arm)])
    curve: dict[int, float] = {}
    while True:
        run.fit(learner)
        curve[run.human_labels] = evaluate(learner.predict_proba(X[test]), y[test], 10).accuracy
        room = min(settings.batch, settings.budget - run.human_labels)
        if room <= 0:
            return curve, run.notes
        k = 0 if arm == "margin" else min(settings.synth, room)
        probs = learner.predict_proba(run.X_pool)
        run.add_real(strategy.select(Pool(labeled=run.labeled_mask(), probs=probs), room - k))
        if k:
            _synthesize(arm, run, learner, k, settings.synthesis, rng)


def _cell(values: list[float]) -> str:
    return f"{np.mean(values):.3f}±{np.std(values):.3f}"


def _delta(values: list[float], base: list[float]) -> str:
    diff = np.array(values) - np.array(base)
    return f"{diff.mean():+.3f}±{diff.std():.3f}"


def report(
    learner: str, curves: dict[str, list[dict[int, float]]], points: list[int], elapsed: float
) -> None:
    """Print one learner's table: accuracy per arm, and the paired difference to margin."""
    repeats = len(curves["margin"])
    print(f"\n## {learner}: {repeats} repeats ({elapsed:.0f} s)")
    print(f"{'arm':<16}" + "".join(f"{f'acc @ {p}':>16}" for p in points))
    for arm, runs in curves.items():
        print(f"{arm:<16}" + "".join(f"{_cell([c[p] for c in runs]):>16}" for p in points))
    base = curves["margin"]
    for arm, runs in curves.items():
        if arm != "margin":
            cells = [_delta([c[p] for c in runs], [c[p] for c in base]) for p in points]
            print(f"{'Δ ' + arm:<16}" + "".join(f"{cell:>16}" for cell in cells))


def describe(notes: Counter[str]) -> str:
    """One line about the synthesized queries an arm made."""
    n = max(1, notes["queries"])
    transforms = {k.split(":")[1]: v for k, v in notes.items() if k.startswith("transform:")}
    mix = ", ".join(f"{t} {v / n:.0%}" for t, v in sorted(transforms.items(), key=lambda x: -x[1]))
    return (
        f"{notes['queries']} queries: {notes['flip'] / n:.0%} flips, "
        f"{notes['labeled source'] / n:.0%} from labeled sources, "
        f"model wrong on {notes['model wrong'] / n:.0%}; {mix}"
    )


def time_generation(n_variants: int = 10_000, per_image: int = 4) -> str:
    """How long :func:`generate_variants` takes for ``n_variants`` 8x8 digit variants."""
    X, _ = digits_arrays()
    sources = np.resize(np.arange(len(X)), n_variants // per_image)
    start = time.perf_counter()
    generate_variants(X[sources], range(len(sources)), per_image=per_image, random_state=0)
    elapsed = time.perf_counter() - start
    return f"generate_variants: {n_variants} variants of 8x8 digits in {elapsed:.2f} s"


def main() -> None:
    """Parse the command line, run every learner and arm, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", default="logreg,cnn")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--synth", type=int, default=3, help="synthesized queries per batch")
    parser.add_argument("--seed-size", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mode", default="both", choices=("both", "flip", "uncertain"))
    parser.add_argument("--per-image", type=int, default=4)
    parser.add_argument("--max-sources", type=int, default=500)
    parser.add_argument("--out", type=Path, default=Path("runs/synthesis_gain"))
    args = parser.parse_args()
    config = SynthesisConfig(
        enabled=True,
        per_image=args.per_image,
        k=args.synth,
        mode=args.mode,
        max_sources=args.max_sources,
    )
    settings = Settings(args.budget, args.batch, args.synth, args.seed_size, args.seed, config)
    points = [p for p in (50, 100, 150, 200) if p <= args.budget]
    if args.budget not in points:
        points.append(args.budget)
    print(time_generation())
    _, y = digits_arrays()
    results: dict[str, object] = {"settings": vars(args) | {"out": str(args.out)}}
    for learner in args.learners.split(","):
        start = time.perf_counter()
        curves: dict[str, list[dict[int, float]]] = {arm: [] for arm in ARMS}
        notes: dict[str, Counter[str]] = {arm: Counter() for arm in ARMS}
        for repeat in range(args.repeats):
            split = train_test_split(
                np.arange(len(y)), test_size=0.2, stratify=y, random_state=args.seed + repeat
            )
            for arm in ARMS:
                curve, arm_notes = run_arm(arm, learner, (split[0], split[1]), repeat, settings)
                curves[arm].append(curve)
                notes[arm].update(arm_notes)
        report(learner, curves, points, time.perf_counter() - start)
        for arm in ARMS[1:]:
            print(f"  {arm}: {describe(notes[arm])}")
        results[learner] = {"curves": curves, "notes": {a: dict(n) for a, n in notes.items()}}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
