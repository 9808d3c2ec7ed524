"""Simulated active learning: the loop with an oracle in place of a person.

Every strategy starts each repeat from the same seed set and the same model
initialisation, so differences between curves come from the strategies alone.
Rows are appended to ``curves.csv`` and flushed as each round finishes, so an
interrupted run leaves every finished row behind.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sklearn.model_selection import train_test_split

from labelloop.data.arrays import load_images
from labelloop.data.demo import DIGITS_CLASSES, digits_arrays
from labelloop.data.images import scan_folder
from labelloop.data.split import StratifiedSplitter
from labelloop.learners import evaluate, make_learner
from labelloop.loop.engine import calibration_report, fit_learner, score_pool, select_batch
from labelloop.loop.oracle import Oracle
from labelloop.monitor.curves import (
    CURVE_COLUMNS,
    CurvePoint,
    plot_curves,
    read_curves,
    summarize_curves,
)
from labelloop.monitor.stopping import (
    RoundObservation,
    StabilizingPredictions,
    evaluate_stopping,
)
from labelloop.strategies import make_strategy

__all__ = [
    "Dataset",
    "Emit",
    "SimulationSettings",
    "draw_stop_set",
    "load_dataset",
    "run_simulation",
    "write_run",
]


@dataclass(frozen=True)
class Dataset:
    """Images with their true labels.

    Attributes:
        X: ``(n, C, H, W)`` float32 images in [0, 1].
        y: ``(n,)`` int64 class indices.
        classes: class names, indexed by ``y``.
    """

    X: NDArray[np.float32]
    y: NDArray[np.int64]
    classes: tuple[str, ...]


@dataclass(frozen=True)
class SimulationSettings:
    """How a simulation runs (see ``labelloop simulate --help``)."""

    strategies: tuple[str, ...]
    learner: str = "cnn"
    seed_size: int = 20
    batch_size: int = 10
    budget: int = 300
    repeats: int = 3
    seed: int = 0
    test_fraction: float = 0.2
    n_samples: int = 20
    stop_set_size: int = 500
    refit: bool = True
    weights: str = "none"
    mode: str = "finetune"
    backbone_size: int = 224
    cache_root: str | None = None

    def __post_init__(self) -> None:
        if not self.strategies:
            raise ValueError("name at least one strategy, e.g. --strategies random,margin")
        if min(self.seed_size, self.batch_size, self.repeats, self.stop_set_size) < 1:
            raise ValueError(
                "seed size, batch size, repeats and stop-set size must each be at least 1"
            )
        if self.budget < self.seed_size:
            raise ValueError(
                f"budget ({self.budget}) must be at least the seed size ({self.seed_size})"
            )
        for name in self.strategies:
            make_strategy(name)

    def rounds(self) -> int:
        """Evaluation points per run: the seed set, then one per batch."""
        return 1 + -(-(self.budget - self.seed_size) // self.batch_size)


def load_dataset(spec: str, *, image_size: tuple[int, int] | None = None) -> Dataset:
    """``digits`` (scikit-learn's bundled digits) or a class-per-subfolder image folder."""
    if spec == "digits":
        X, y = digits_arrays()
        return Dataset(X, y, DIGITS_CLASSES)
    scan = scan_folder(Path(spec))
    if scan.layout != "class_folders":
        raise ValueError(f"{spec}: simulation needs a class-per-subfolder folder of images")
    classes = tuple(sorted({img.label for img in scan.images if img.label is not None}))
    if len(classes) < 2:
        raise ValueError(f"{spec}: found {len(classes)} class folder(s); need at least 2")
    gray = all(img.info.mode in ("L", "1", "I;16") for img in scan.images)
    X = load_images(
        [img.info.path for img in scan.images], size=image_size, channels=1 if gray else 3
    )
    y = np.array([classes.index(str(img.label)) for img in scan.images], dtype=np.int64)
    return Dataset(X, y, classes)


def split_pool_test(
    data: Dataset, test_fraction: float, seed: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Indices of the pool and of the held-out test set, stratified by class."""
    pool, test = train_test_split(
        np.arange(len(data.y)), test_size=test_fraction, stratify=data.y, random_state=seed
    )
    return np.asarray(pool, dtype=np.int64), np.asarray(test, dtype=np.int64)


RoundCallback = Callable[[CurvePoint], None]
Emit = Callable[[CurvePoint, dict[str, object]], None]
"""Reports one round: its curve point and its full metrics."""


def _run_one(
    data: Dataset,
    pool: NDArray[np.int64],
    test: NDArray[np.int64],
    strategy_name: str,
    repeat: int,
    settings: SimulationSettings,
    emit: Emit,
) -> None:
    """One strategy, one repeat: rounds until the budget is spent."""
    seed = settings.seed + repeat
    X_pool, X_test, y_test = data.X[pool], data.X[test], data.y[test]
    oracle = Oracle(data.y[pool])
    rng = np.random.default_rng(seed)
    order = list(rng.choice(len(pool), size=settings.seed_size, replace=False))
    labels = list(oracle.label(np.array(order, dtype=np.int64)))
    splitter = StratifiedSplitter(val_fraction=0.2)
    sides = [splitter.assign(data.classes[c]) for c in labels]
    learner = make_learner(
        settings.learner,
        n_classes=len(data.classes),
        input_shape=tuple(data.X.shape[1:]),
        random_state=seed,
        weights=settings.weights,
        mode=settings.mode,
        backbone_size=settings.backbone_size,
        cache_root=None if settings.cache_root is None else Path(settings.cache_root),
    )
    strategy = make_strategy(strategy_name, random_state=seed)
    labeled = np.zeros(len(pool), dtype=bool)
    labeled[order] = True
    monitor = _RoundMonitor(draw_stop_set(labeled, settings.stop_set_size, seed))
    while True:
        idx = np.array(order, dtype=np.int64)
        y_lab = np.array(labels, dtype=np.int64)
        is_val = np.array([s == "val" for s in sides])
        train, val = np.flatnonzero(~is_val), np.flatnonzero(is_val)
        validation = fit_learner(learner, X_pool[idx], y_lab, train, val, refit=settings.refit)
        tested = evaluate(learner.predict_proba(X_test), y_test, len(data.classes))
        pool_probs = learner.predict_proba(X_pool)
        watched = monitor.observe(
            len(order), None if validation is None else validation.accuracy, pool_probs, labeled
        )
        emit(
            CurvePoint(strategy_name, repeat, len(order), tested.accuracy),
            {
                "test": tested.to_dict(),
                "validation": None if validation is None else validation.to_dict(),
                "calibration": calibration_report(learner),
                **watched,
            },
        )
        room = settings.budget - len(order)
        if room <= 0 or labeled.all():
            return
        pool_view = score_pool(
            strategy, learner, X_pool, labeled, n_samples=settings.n_samples, probs=pool_probs
        )
        chosen = select_batch(strategy, pool_view, min(settings.batch_size, room)).indices
        labeled[chosen] = True
        new = oracle.label(chosen)
        order.extend(chosen.tolist())
        labels.extend(new.tolist())
        sides.extend(splitter.assign(data.classes[c]) for c in new)


def draw_stop_set(labeled: NDArray[np.bool_], size: int, seed: int) -> NDArray[np.int64]:
    """The stop set: up to ``size`` pool indices drawn from the unlabeled ones, sorted.

    Unlabeled only, as the project's monitor draws it: the seed set's
    predictions barely change and would flatter the kappa.
    """
    unlabeled = np.flatnonzero(~labeled)
    rng = np.random.default_rng([seed, _STOP_SET_STREAM])
    drawn = rng.choice(unlabeled, size=min(size, len(unlabeled)), replace=False)
    return np.sort(drawn).astype(np.int64)


# Second seed word for the stop set's generator, so drawing it leaves the
# seed-set draw (and so every existing curve) unchanged.
_STOP_SET_STREAM = 1

_STABILIZING = StabilizingPredictions.name


class _RoundMonitor:
    """What the stopping rules read, gathered round by round in one simulated run.

    ``predicted_change`` is measured on the remaining pool (items still
    unlabeled at this round), ``stop_kappa`` on the fixed stop set, and
    ``pool_uncertainty`` is the mean ``1 - max prob`` over the remaining pool.
    """

    def __init__(self, stop_set: NDArray[np.int64]) -> None:
        self.stop_set = stop_set
        self.rounds: list[RoundObservation] = []
        self.previous: NDArray[np.int64] | None = None

    def observe(
        self,
        n_labeled: int,
        val_accuracy: float | None,
        probs: NDArray[np.float64],
        labeled: NDArray[np.bool_],
    ) -> dict[str, object]:
        """Record one round; return the record's monitoring fields."""
        preds = np.asarray(probs.argmax(axis=1), dtype=np.int64)
        remaining = ~labeled
        change = uncertainty = None
        if remaining.any():
            uncertainty = float(np.mean(1.0 - probs[remaining].max(axis=1)))
        if self.previous is not None and remaining.any():
            change = float(np.mean(self.previous[remaining] != preds[remaining]))
        self.previous = preds
        self.rounds.append(
            RoundObservation(n_labeled, val_accuracy, preds[self.stop_set], uncertainty, change)
        )
        report = evaluate_stopping(self.rounds)
        # The stabilizing-predictions rule has just computed this round's kappa
        # against the previous round's; take it rather than computing it again.
        kappa = None
        for verdict in report.verdicts:
            kappas = verdict.evidence.get("kappas") if verdict.rule == _STABILIZING else None
            if kappas:
                kappa = float(kappas[-1])
        return {
            "predicted_change": change,
            "stop_kappa": kappa,
            "pool_uncertainty": uncertainty,
            "stopping": report.to_dict(),
        }


def run_simulation(
    data: Dataset,
    settings: SimulationSettings,
    out: Path,
    *,
    on_round: RoundCallback | None = None,
) -> dict[str, object]:
    """Run every strategy for every repeat; write curves.csv, summary.json, curves.png.

    ``rounds.jsonl`` beside them holds each round's full metrics on the test
    set and on the validation split (accuracy, macro-F1, per-class recall,
    ECE) and what the stopping rules read: ``predicted_change`` (share of the
    still-unlabeled pool whose predicted class changed since the previous
    round), ``stop_kappa`` (Cohen's kappa with the previous round on a fixed
    stop set of up to ``stop_set_size`` pool images drawn by the seed),
    ``pool_uncertainty`` (mean ``1 - max prob`` over the unlabeled pool), and
    ``stopping``, the stopping report after this round (see
    :func:`labelloop.monitor.stopping.evaluate_stopping`). The first round's
    change and kappa are None.

    Args:
        data: the images and their true labels.
        settings: strategies, learner, sizes and repeats.
        out: folder for the outputs (created).
        on_round: called after each round with its curve point (progress bars).

    Returns:
        The summary that was written to ``summary.json``.
    """
    pool, test = split_pool_test(data, settings.test_fraction, settings.seed)

    def run(emit: Emit) -> None:
        for repeat in range(settings.repeats):
            for name in settings.strategies:
                _run_one(data, pool, test, name, repeat, settings, emit)

    return write_run(
        out,
        run,
        header={"settings": asdict(settings), "pool_size": len(pool), "test_size": len(test)},
        title=f"Active learning ({settings.learner})",
        on_round=on_round,
    )


def write_run(
    out: Path,
    run: Callable[[Emit], None],
    *,
    header: dict[str, object],
    title: str,
    targets: Sequence[float] | None = None,
    on_round: Callable[[CurvePoint], None] | None = None,
) -> dict[str, object]:
    """Write a simulation's outputs as it runs, and its summary when it stops.

    ``run`` calls the ``emit`` it is given once per round; each call appends a
    row to ``curves.csv`` and a record to ``rounds.jsonl``, flushed at once.
    However ``run`` ends (finished, interrupted, failed), ``summary.json`` and
    ``curves.png`` are then written from the rows so far.

    Args:
        out: folder for the outputs (created).
        run: does the rounds, reporting each through ``emit``.
        header: the summary's leading fields (settings, sizes, metric).
        title: the plot's title.
        targets: accuracy levels for "labels to reach"; the default of
            :func:`~labelloop.monitor.curves.summarize_curves` when None.
        on_round: called after each round with its curve point (progress bars).

    Returns:
        The summary that was written to ``summary.json``.
    """
    out.mkdir(parents=True, exist_ok=True)
    try:
        with (
            (out / "curves.csv").open("w", newline="") as f,
            (out / "rounds.jsonl").open("w") as details,
        ):
            writer = csv.writer(f)
            writer.writerow(CURVE_COLUMNS)
            f.flush()

            def emit(point: CurvePoint, metrics: dict[str, object]) -> None:
                writer.writerow([point.strategy, point.repeat, point.n_labeled, point.accuracy])
                f.flush()
                details.write(json.dumps({**asdict(point), **metrics}) + "\n")
                details.flush()
                if on_round is not None:
                    on_round(point)

            run(emit)
    finally:
        points = read_curves(out / "curves.csv")
        strategies = (
            summarize_curves(points) if targets is None else summarize_curves(points, targets)
        )
        summary: dict[str, object] = {**header, "strategies": strategies}
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        if points:
            plot_curves(points, out / "curves.png", title=title)
    return summary


def parse_strategies(text: str) -> Sequence[str]:
    """Split a comma-separated strategy list, dropping blanks."""
    return tuple(s.strip() for s in text.split(",") if s.strip())
