"""Learning curves: the rows a simulation writes, their summary, and their plot."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from labelloop.monitor.projection import LearningCurveFit

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "CURVE_COLUMNS",
    "CurvePoint",
    "labels_to_reach",
    "plot_curves",
    "plot_projection",
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


def _by_count(by_repeat: dict[int, list[CurvePoint]]) -> dict[int, list[float]]:
    """Accuracies of every repeat at each label count, counts in ascending order."""
    table: dict[int, list[float]] = defaultdict(list)
    for run in by_repeat.values():
        for p in run:
            table[p.n_labeled].append(p.accuracy)
    return {n: table[n] for n in sorted(table)}


def _mean_curve(by_repeat: dict[int, list[CurvePoint]]) -> list[CurvePoint]:
    table = _by_count(by_repeat)
    return [CurvePoint("mean", -1, n, float(np.mean(accs))) for n, accs in table.items()]


def summarize_curves(
    points: Sequence[CurvePoint],
    targets: Sequence[float] = (0.9, 0.95),
    baseline: str = "random",
) -> dict[str, dict[str, object]]:
    """Per strategy: final accuracy, mean accuracy over the curve, labels to reach each target.

    For each target, ``labels_to_T`` is where the mean curve over repeats
    first reaches it (None if it never does); ``labels_to_T_runs`` is the mean
    ± std over the repeats that reached it, and ``..._reached`` how many did.
    ``labels_to_T_ratio_to_random`` divides by the baseline's ``labels_to_T``.
    When the baseline never reached the target within the budget, its need is
    known only to exceed the budget, so the ratio is an upper bound and
    ``labels_to_T_ratio_is_bound`` says so.
    """
    runs = _runs(points)
    summary: dict[str, dict[str, object]] = {}
    for strategy, by_repeat in sorted(runs.items()):
        finals = [run[-1].accuracy for run in by_repeat.values()]
        mean_curve = _mean_curve(by_repeat)
        entry: dict[str, object] = {
            "repeats": len(by_repeat),
            "final_n_labeled": mean_curve[-1].n_labeled,
            "final_accuracy_mean": float(np.mean(finals)),
            "final_accuracy_std": float(np.std(finals)),
            "mean_accuracy_over_curve": float(np.mean([p.accuracy for p in mean_curve])),
        }
        for target in targets:
            key = f"labels_to_{round(target * 100)}"
            hits = [r for r in (labels_to_reach(run, target) for run in by_repeat.values()) if r]
            entry[key] = labels_to_reach(mean_curve, target)
            entry[f"{key}_runs_mean"] = float(np.mean(hits)) if hits else None
            entry[f"{key}_runs_std"] = float(np.std(hits)) if hits else None
            entry[f"{key}_reached"] = len(hits)
        summary[strategy] = entry
    if baseline in summary:
        base = summary[baseline]
        for entry in summary.values():
            for target in targets:
                key = f"labels_to_{round(target * 100)}"
                ours, theirs = entry[key], base[key]
                bound = theirs is None
                if bound:
                    theirs = base["final_n_labeled"]
                ratio = ours / theirs if isinstance(ours, int) and isinstance(theirs, int) else None
                entry[f"{key}_ratio_to_{baseline}"] = ratio
                entry[f"{key}_ratio_is_bound"] = bound and ratio is not None
    return summary


def plot_curves(points: Sequence[CurvePoint], path: Path, *, title: str = "") -> Path:
    """Plot mean ± std test accuracy against labels, one line per strategy, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for strategy, by_repeat in sorted(_runs(points).items()):
        table = _by_count(by_repeat)
        xs = np.array(list(table))
        mean = np.array([np.mean(accs) for accs in table.values()])
        std = np.array([np.std(accs) for accs in table.values()])
        ax.plot(xs, mean, label=strategy, linewidth=1.6)
        ax.fill_between(xs, mean - std, mean + std, alpha=0.2)
    ax.set_xlabel("labeled images")
    ax.set_ylabel("test accuracy")
    ax.set_title(title or "Learning curves (mean ± std over repeats)")
    return _save(fig, ax, path)


def plot_projection(
    curve: LearningCurveFit,
    path: Path,
    *,
    extra: int = 1000,
    level: float = 0.9,
    title: str = "",
) -> Path:
    """Plot measured points, the fitted curve out to ``extra`` more labels, and its band.

    Args:
        curve: a fit from :func:`~labelloop.monitor.projection.fit_learning_curve`.
        path: where to write the PNG (folders created).
        extra: how far past the last measured label count to draw the curve.
        level: coverage of the shaded band (see ``LearningCurveFit.predict_band``).
        title: the plot's title; a default names the projected gain.

    Returns:
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    last = float(curve.n.max())
    xs = np.linspace(float(curve.n.min()), last + extra, 200)
    low, high = curve.predict_band(xs, level=level)
    gain = curve.project_gain(extra, level=level)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    ax.plot(curve.n, curve.accuracy, "o", markersize=3, label="measured")
    ax.plot(xs, curve.predict(xs), linewidth=1.6, label="fitted a - b n^-c")
    ax.fill_between(xs, low, high, alpha=0.2, label=f"{round(100 * level)}% band")
    ax.axvline(last, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("labeled images")
    ax.set_ylabel("accuracy")
    ax.set_title(
        title
        or f"+{extra} labels: {100 * gain.gain:+.1f} pts "
        f"({100 * gain.low:+.1f} to {100 * gain.high:+.1f})"
    )
    return _save(fig, ax, path)


def _save(fig: Figure, ax: Axes, path: Path) -> Path:
    """Grid, legend and layout shared by every plot, then write ``fig`` to ``path`` and close it."""
    import matplotlib.pyplot as plt

    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
