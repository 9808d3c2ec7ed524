"""When do the stopping rules fire on digits, and what would stopping there have cost?

Runs the offline simulation (:func:`labelloop.loop.run_simulation`, oracle
labels, digits) and reads each round's stopping report from ``rounds.jsonl``.
For every rule, and for the combined decision ("diminishing"), it prints the
round at which the rule first fires in each run, the labels spent then, the
test accuracy then, and the gap to the test accuracy at the full budget.

It also checks the learning-curve projection, which is fitted to validation
accuracy: at the round where the decision first says "diminishing", the
projected gain of +100 and +1000 labels against the test-accuracy gain that
actually followed (n/a when that lies beyond the budget); and over every round
of every run, how far projected +100 gains are from what happened and how
often the 90% band held it. The band covers the uncertainty of the fitted
curve, not the noise of one future measurement, so a low hit rate on single
runs is expected. Figures, not asserts.

    .venv/bin/python bench/stopping.py --learner logreg --budget 500 --batch 10 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from labelloop.loop import SimulationSettings, load_dataset, run_simulation
from labelloop.monitor.projection import fit_learning_curve

RULES = ("stabilizing_predictions", "validation_plateau", "pool_uncertainty_below")
DECISION = "decision=diminishing"
Run = list[dict[str, Any]]


def read_runs(path: Path) -> dict[tuple[str, int], Run]:
    """The rounds of each (strategy, repeat), in order."""
    runs: dict[tuple[str, int], Run] = defaultdict(list)
    for line in path.read_text().splitlines():
        record = json.loads(line)
        runs[(record["strategy"], record["repeat"])].append(record)
    return dict(runs)


def fired(record: dict[str, Any], rule: str) -> bool:
    """Whether ``rule`` (or the decision) holds in this round's stopping report."""
    report = record["stopping"]
    if rule == DECISION:
        return bool(report["decision"] == "diminishing")
    return rule in report["fired"]


def first_firing(run: Run, rule: str) -> int | None:
    """Index of the first round at which ``rule`` fires; a team would stop there."""
    return next((i for i, r in enumerate(run) if fired(r, rule)), None)


def accuracy_at(run: Run, n: int) -> float | None:
    """Test accuracy at exactly ``n`` labels, if the run has that round."""
    return next((r["accuracy"] for r in run if r["n_labeled"] == n), None)


def fmt(value: float | None, spec: str = ".3f") -> str:
    return "n/a" if value is None else format(value, spec)


def print_firings(runs: dict[tuple[str, int], Run], strategies: tuple[str, ...]) -> None:
    print(
        f"{'strategy':9} {'rule':24} {'fired':>5} {'labels':>12} {'acc then':>14} "
        f"{'final acc':>9} {'gap to final':>14}"
    )
    for strategy in strategies:
        mine = [run for (s, _), run in sorted(runs.items()) if s == strategy]
        final = [run[-1]["accuracy"] for run in mine]
        for rule in (*RULES, DECISION):
            labels, then, gaps = [], [], []
            for run in mine:
                i = first_firing(run, rule)
                if i is not None:
                    labels.append(run[i]["n_labeled"])
                    then.append(run[i]["accuracy"])
                    gaps.append(run[-1]["accuracy"] - run[i]["accuracy"])

            def ms(xs: list[float], spec: str) -> str:
                if not xs:
                    return "never"
                return f"{np.mean(xs):{spec}}±{np.std(xs):{spec}}"

            print(
                f"{strategy:9} {rule:24} {len(labels)}/{len(mine):<3} {ms(labels, '.0f'):>12} "
                f"{ms(then, '.3f'):>14} {np.mean(final):9.3f} {ms(gaps, '.3f'):>14}"
            )


def print_projection_at_stop(runs: dict[tuple[str, int], Run]) -> None:
    print("\nProjection made where the decision first says 'diminishing' (gain in points):")
    print(
        f"{'run':12} {'labels':>6}  {'+100 projected [90% band]':>28} {'actual':>7}  "
        f"{'+1000 projected [90% band]':>29} {'actual':>7}"
    )
    for (strategy, repeat), run in sorted(runs.items()):
        i = first_firing(run, DECISION)
        if i is None:
            print(f"{strategy}/{repeat:<5} never")
            continue
        n, acc = run[i]["n_labeled"], run[i]["accuracy"]
        cells = []
        for p in run[i]["stopping"]["projections"]:
            later = accuracy_at(run, n + p["extra"])
            actual = None if later is None else 100 * (later - acc)
            band = f"{100 * p['gain']:+.1f} [{100 * p['low']:+.1f},{100 * p['high']:+.1f}]"
            cells.append(f"{band:>28} {fmt(actual, '+.1f'):>7}")
        print(f"{strategy}/{repeat:<5} {n:>6}  " + "  ".join(cells or ["no projection"]))


def projection_errors(runs: dict[tuple[str, int], Run], source: str) -> list[tuple[float, ...]]:
    """(projected, low, high, actual) test gain of +100 labels at every checkable round.

    ``source`` is ``"validation"`` (the projection the stopping report made) or
    ``"test"`` (the same fit on the test-accuracy curve up to that round, which
    separates the method's error from the validation split's noise and bias).
    """
    rows: list[tuple[float, ...]] = []
    for run in runs.values():
        for i, record in enumerate(run):
            later = accuracy_at(run, record["n_labeled"] + 100)
            if later is None:
                continue
            if source == "validation":
                made = [p for p in record["stopping"]["projections"] if p["extra"] == 100]
                if not made:
                    continue
                gain, low, high = made[0]["gain"], made[0]["low"], made[0]["high"]
            else:
                curve = fit_learning_curve(
                    [r["n_labeled"] for r in run[: i + 1]], [r["accuracy"] for r in run[: i + 1]]
                )
                if curve is None:
                    continue
                p = curve.project_gain(100)
                gain, low, high = p.gain, p.low, p.high
            rows.append((gain, low, high, later - record["accuracy"]))
    return rows


def print_projection_quality(runs: dict[tuple[str, int], Run]) -> None:
    for source in ("validation", "test"):
        rows = np.array(projection_errors(runs, source))
        if not len(rows):
            print(f"\nNo +100 projection from {source} accuracy could be checked.")
            continue
        gain, low, high, actual = rows.T
        print(
            f"\n+100 projections fitted to {source} accuracy, {len(rows)} rounds with a round "
            f"100 labels later: mean projected {100 * gain.mean():+.2f} pts, mean actual test "
            f"gain {100 * actual.mean():+.2f} pts, mean |error| "
            f"{100 * np.abs(gain - actual).mean():.2f} pts, 90% band held the actual gain in "
            f"{100 * np.mean((low <= actual) & (actual <= high)):.0f}%"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learner", default="logreg", help="logreg (default) or cnn")
    parser.add_argument("--strategies", default="margin,random")
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--seed-size", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="keep the simulation files here")
    args = parser.parse_args()
    strategies = tuple(s.strip() for s in args.strategies.split(",") if s.strip())
    settings = SimulationSettings(
        strategies=strategies,
        learner=args.learner,
        seed_size=args.seed_size,
        batch_size=args.batch,
        budget=args.budget,
        repeats=args.repeats,
        seed=args.seed,
    )
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        start = time.perf_counter()
        run_simulation(load_dataset("digits"), settings, out)
        elapsed = time.perf_counter() - start
        runs = read_runs(out / "rounds.jsonl")
    print(
        f"digits, learner {args.learner}, budget {args.budget}, batch {args.batch}, "
        f"seed {args.seed_size}, {args.repeats} repeats ({elapsed:.0f} s). "
        "Rules at defaults: kappa >= 0.99 over 3 pairs on a 500-image stop set; "
        "val gain < 0.005 per 100 labels over 3 rounds; pool uncertainty < 0.05.\n"
    )
    print_firings(runs, strategies)
    print_projection_at_stop(runs)
    print_projection_quality(runs)


if __name__ == "__main__":
    main()
