"""Pool-based classification simulation: the loop with an oracle in place of a person.

The ``pool`` mode of :func:`labelloop.loop.simulation.simulate`. Every
strategy starts each repeat from the same seed set and the same model
initialisation, so differences between curves come from the strategies alone.
Rows are appended to ``curves.csv`` and flushed as each round finishes, so an
interrupted run leaves every finished row behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from pydantic import Field
from sklearn.model_selection import train_test_split

from labelloop.data.arrays import load_images
from labelloop.data.demo import DIGITS_CLASSES, digits_arrays
from labelloop.data.geometry import decide_channels, decide_image_size
from labelloop.data.images import scan_folder
from labelloop.learners import Learner, evaluate, make_learner
from labelloop.learners.registry import LEARNERS
from labelloop.loop.engine import calibration_report, score_pool, select_batch
from labelloop.loop.oracle import LabeledSet, Oracle
from labelloop.loop.simulation import (
    BatchSettingsBase,
    Emit,
    SimulationMode,
    SimulationSettingsBase,
    simulate,
)
from labelloop.monitor.curves import CurvePoint
from labelloop.monitor.stopping import (
    RoundObservation,
    StabilizingPredictions,
    evaluate_stopping,
)
from labelloop.strategies import make_strategy
from labelloop.strategies.registry import STRATEGIES

__all__ = [
    "ClassificationMode",
    "Dataset",
    "Emit",
    "PoolMode",
    "SimulationSettings",
    "draw_stop_set",
    "load_dataset",
    "parse_strategies",
    "run_simulation",
    "split_pool_test",
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

    def new_learner(self, name: str, seed: int, **options: Any) -> Learner:
        """An unfitted ``name`` classifier for these images, seeded with ``seed``.

        ``options`` go to :func:`~labelloop.learners.make_learner` (a backbone's weights, ...).
        """
        return make_learner(
            name,
            n_classes=len(self.classes),
            input_shape=tuple(self.X.shape[1:]),
            random_state=seed,
            **options,
        )


class SimulationSettings(BatchSettingsBase):
    """How a pool simulation runs (see ``labelloop simulate --help``).

    Attributes:
        strategies: pool strategy names (:data:`~labelloop.strategies.registry.STRATEGIES`).
        learner: the classifier (:data:`~labelloop.learners.registry.LEARNERS`).
        batch_size: labels queried per round.
        budget: total labels per run, at least ``seed_size``.
        n_samples: MC-dropout or ensemble samples for the strategies that read them.
        stop_set_size: pool images the stop-set kappa is measured on.
        refit: refit each round's model on every label after validating on a fifth.
        weights, mode, backbone_size, cache_root: the backbone learners' settings.
    """

    strategy_registry = STRATEGIES
    learner_registry = LEARNERS

    learner: str = "cnn"
    budget: int = 300
    n_samples: int = 20
    stop_set_size: int = Field(500, ge=1)
    refit: bool = True
    weights: str = "none"
    mode: str = "finetune"
    backbone_size: int = 224
    cache_root: str | None = None


def load_dataset(spec: str, *, image_size: tuple[int, int] | None = None) -> Dataset:
    """``digits`` (scikit-learn's bundled digits) or a class-per-subfolder image folder.

    A folder's images are brought to one model input as a project's first
    import decides it (:mod:`labelloop.data.geometry`): RGB when any image is
    in colour, and ``image_size`` or, by default, their common size when they
    share a small one, else a square of the default side (centre crop).
    """
    if spec == "digits":
        X, y = digits_arrays()
        return Dataset(X, y, DIGITS_CLASSES)
    scan = scan_folder(Path(spec))
    if scan.layout != "class_folders":
        raise ValueError(f"{spec}: simulation needs a class-per-subfolder folder of images")
    classes = tuple(sorted({img.label for img in scan.images if img.label is not None}))
    if len(classes) < 2:
        raise ValueError(f"{spec}: found {len(classes)} class folder(s); need at least 2")
    infos = [img.info for img in scan.images]
    size = image_size or decide_image_size((info.height, info.width) for info in infos)
    channels = decide_channels(info.mode for info in infos)
    X = load_images([info.path for info in infos], size=size, channels=3 if channels == 3 else 1)
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


SettingsT = TypeVar("SettingsT", bound=SimulationSettingsBase)


class ClassificationMode(SimulationMode[Dataset, SettingsT]):
    """The classification modes: a :class:`Dataset` split into pool and test by class."""

    def split(
        self, data: Dataset, settings: SettingsT
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        return split_pool_test(data, settings.test_fraction, settings.seed)


class PoolMode(ClassificationMode[SimulationSettings]):
    """Pool-based classification: each round the strategy ranks the unlabeled pool.

    Each record in ``rounds.jsonl`` holds the round's full metrics on the
    test set and on the validation split (accuracy, macro-F1, per-class
    recall, ECE) and what the stopping rules read: ``predicted_change``
    (share of the still-unlabeled pool whose predicted class changed since
    the previous round), ``stop_kappa`` (Cohen's kappa with the previous
    round on a fixed stop set of up to ``stop_set_size`` pool images drawn by
    the seed), ``pool_uncertainty`` (mean ``1 - max prob`` over the unlabeled
    pool), and ``stopping``, the stopping report after this round (see
    :func:`labelloop.monitor.stopping.evaluate_stopping`). The first round's
    change and kappa are None.
    """

    def run_one(
        self,
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
        rng = np.random.default_rng(seed)
        bought = LabeledSet(Oracle(data.y[pool]), data.classes)
        bought.add(rng.choice(len(pool), size=settings.seed_size, replace=False))
        learner = data.new_learner(
            settings.learner,
            seed,
            weights=settings.weights,
            mode=settings.mode,
            backbone_size=settings.backbone_size,
            cache_root=None if settings.cache_root is None else Path(settings.cache_root),
        )
        strategy = make_strategy(strategy_name, random_state=seed)
        labeled = np.zeros(len(pool), dtype=bool)
        labeled[bought.indices] = True
        monitor = _RoundMonitor(draw_stop_set(labeled, settings.stop_set_size, seed))
        while True:
            validation = bought.fit(learner, X_pool, refit=settings.refit)
            tested = evaluate(learner.predict_proba(X_test), y_test, len(data.classes))
            pool_probs = learner.predict_proba(X_pool)
            watched = monitor.observe(
                len(bought),
                None if validation is None else validation.accuracy,
                pool_probs,
                labeled,
            )
            emit(
                CurvePoint(strategy_name, repeat, len(bought), tested.accuracy),
                {
                    "test": tested.to_dict(),
                    "validation": None if validation is None else validation.to_dict(),
                    "calibration": calibration_report(learner),
                    **watched,
                },
            )
            room = settings.budget - len(bought)
            if room <= 0 or labeled.all():
                return
            pool_view = score_pool(
                strategy, learner, X_pool, labeled, n_samples=settings.n_samples, probs=pool_probs
            )
            chosen = select_batch(strategy, pool_view, min(settings.batch_size, room)).indices
            labeled[chosen] = True
            bought.add(chosen)

    def title(self, settings: SimulationSettings) -> str:
        return f"Active learning ({settings.learner})"


run_simulation = partial(simulate, PoolMode())
"""``run_simulation(data, settings, out, *, on_round=None)``: every strategy, every repeat.

:func:`~labelloop.loop.simulation.simulate` in the :class:`PoolMode`, which
describes the round records; returns the summary written to ``summary.json``.
"""


def parse_strategies(text: str) -> Sequence[str]:
    """Split a comma-separated strategy list, dropping blanks."""
    return tuple(s.strip() for s in text.split(",") if s.strip())
