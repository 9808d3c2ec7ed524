"""Learning curves: the rows a simulation writes, their summary, and their plot."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "CURVE_COLUMNS",
    "CurvePoint",
    "labels_to_reach",
    "plot_curves",
    "read_curves",
    "summarize_curves",
]

CURVE_COLUMNS = ("strategy", "repeat", "n_labeled", "accuracy")


@dataclass(frozen=True)
class CurvePoint:
    """Test accuracy of one strategy's model in one repeat after ``n_labeled`` labels."""

    strategy: str
    repeat: int
    n_labeled: int
    accuracy: float


def read_curves(path: Path) -> list[CurvePoint]:
    """Read a ``curves.csv`` written by a simulation."""
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != CURVE_COLUMNS:
            raise ValueError(
                f"{path} has columns {reader.fieldnames}; a curves file has exactly {CURVE_COLUMNS}"
            )
        return [
            CurvePoint(r["strategy"], int(r["repeat"]), int(r["n_labeled"]), float(r["accuracy"]))
            for r in reader
        ]


def _runs(points: Iterable[CurvePoint]) -> dict[str, dict[int, list[CurvePoint]]]:
    runs: dict[str, dict[int, list[CurvePoint]]] = defaultdict(lambda: defaultdict(list))
    for p in points:
        runs[p.strategy][p.repeat].append(p)
    for by_repeat in runs.values():
        for run in by_repeat.values():
            run.sort(key=lambda p: p.n_labeled)
    return runs


def labels_to_reach(run: Sequence[CurvePoint], target: float) -> int | None:
    """The fewest labels at which one run's accuracy first reached ``target``."""
    for p in run:
        if p.accuracy >= target:
            return p.n_labeled
    return None


def summarize_curves(
    points: Sequence[CurvePoint],
    targets: Sequence[float] = (0.9, 0.95),
    baseline: str = "random",
) -> dict[str, dict[str, object]]:
    """Per strategy: final accuracy, area under the curve, labels to reach each target.

    Labels to reach a target are averaged over the repeats that reached it;
    ``reached`` says how many did. The ratio divides by the baseline's mean,
    and is left out when either did not reach the target in every repeat.
    """
    runs = _runs(points)
    summary: dict[str, dict[str, object]] = {}
    for strategy, by_repeat in sorted(runs.items()):
        finals = [run[-1].accuracy for run in by_repeat.values()]
        areas = [
            float(np.mean([p.accuracy for p in run])) for run in by_repeat.values() if len(run)
        ]
        entry: dict[str, object] = {
            "repeats": len(by_repeat),
            "final_n_labeled": int(np.mean([run[-1].n_labeled for run in by_repeat.values()])),
            "final_accuracy_mean": float(np.mean(finals)),
            "final_accuracy_std": float(np.std(finals)),
            "mean_accuracy_over_curve": float(np.mean(areas)),
        }
        for target in targets:
            reached = [labels_to_reach(run, target) for run in by_repeat.values()]
            hits = [r for r in reached if r is not None]
            key = f"labels_to_{round(target * 100)}"
            entry[key] = float(np.mean(hits)) if hits else None
            entry[f"{key}_std"] = float(np.std(hits)) if hits else None
            entry[f"{key}_reached"] = len(hits)
        summary[strategy] = entry
    if baseline in summary:
        base = summary[baseline]
        for entry in summary.values():
            for target in targets:
                key = f"labels_to_{round(target * 100)}"
                ours, theirs = entry[key], base[key]
                complete = (
                    entry[f"{key}_reached"] == entry["repeats"]
                    and base[f"{key}_reached"] == base["repeats"]
                )
                ok = isinstance(ours, float) and isinstance(theirs, float) and complete
                entry[f"{key}_ratio_to_{baseline}"] = ours / theirs if ok else None  # type: ignore[operator]
    return summary


def plot_curves(points: Sequence[CurvePoint], path: Path, *, title: str = "") -> Path:
    """Plot mean ± std test accuracy against labels, one line per strategy, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for strategy, by_repeat in sorted(_runs(points).items()):
        table: dict[int, list[float]] = defaultdict(list)
        for run in by_repeat.values():
            for p in run:
                table[p.n_labeled].append(p.accuracy)
        xs = np.array(sorted(table))
        mean = np.array([np.mean(table[x]) for x in xs])
        std = np.array([np.std(table[x]) for x in xs])
        ax.plot(xs, mean, label=strategy, linewidth=1.6)
        ax.fill_between(xs, mean - std, mean + std, alpha=0.2)
    ax.set_xlabel("labeled images")
    ax.set_ylabel("test accuracy")
    ax.set_title(title or "Learning curves (mean ± std over repeats)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
