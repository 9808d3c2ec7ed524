"""Labels each strategy needs to reach 90% and 95% test accuracy on digits, against random.

Runs the digits simulation for each learner and prints, per strategy, where the
mean learning curve over the repeats first reaches each target, in brackets the
mean ± std over the single runs that reached it and how many did, and the
ratio to random sampling (an upper bound, "≤", when random's mean curve never
reached the target within the budget). Figures, not asserts.

    .venv/bin/python bench/label_efficiency.py --learners logreg,cnn --budget 500 --repeats 3

Backbone learners take ``--weights``, ``--mode`` and ``--backbone-size``, and
``--dataset photolike`` runs the photo-like set (64x64 RGB), e.g. the frozen
SimCLR backbone of ``bench/pretrain.py --save``:

    .venv/bin/python bench/label_efficiency.py --learners resnet18 --mode embed \
        --weights runs/ssl-digits.pt --backbone-size 32 \
        --strategies margin,badge,typiclust,probcover,random --budget 200

``--first-labels`` instead measures the first rounds, where active learning
decides the most: test accuracy and the number of distinct classes predicted
after 20, 40 and 60 random labels (split 80/20 into training and validation
as a project splits them), per learner, on digits at 8x8, digits at 28x28 and
a photo-like set (digits drawn large on textured colour backgrounds, 64x64 RGB):

    .venv/bin/python bench/label_efficiency.py --first-labels --learners logreg,cnn --repeats 3
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from labelloop.data.demo import DIGITS_CLASSES, digits_arrays
from labelloop.data.photolike import photo_like_arrays
from labelloop.data.split import StratifiedSplitter
from labelloop.learners import make_learner
from labelloop.loop import Dataset, SimulationSettings, load_dataset, run_simulation
from labelloop.loop.engine import fit_learner
from labelloop.loop.stream_sim import StreamSettings, run_stream_simulation
from labelloop.strategies import STRATEGY_NAMES
from labelloop.strategies.stream import STREAM_SELECTOR_NAMES


def _cell(entry: dict[str, Any], target: int) -> str:
    key = f"labels_to_{target}"
    on_mean, reached, repeats = entry[key], entry[f"{key}_reached"], entry["repeats"]
    if on_mean is None:
        return f"> budget ({reached}/{repeats} runs)"
    runs = entry[f"{key}_runs_mean"], entry[f"{key}_runs_std"]
    return f"{on_mean} [{runs[0]:.0f}±{runs[1]:.0f}, {reached}/{repeats}]"


def _ratio(entry: dict[str, Any], target: int) -> str:
    value = entry.get(f"labels_to_{target}_ratio_to_random")
    if value is None:
        return "—"
    return f"≤{value:.2f}" if entry[f"labels_to_{target}_ratio_is_bound"] else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", default="logreg,cnn")
    parser.add_argument("--strategies", default=",".join(STRATEGY_NAMES))
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--seed-size", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("runs/label_efficiency"))
    parser.add_argument(
        "--stream-budget",
        type=float,
        default=0.1,
        help="also run every stream selector at this labeling budget (0 to skip)",
    )
    parser.add_argument("--dataset", choices=["digits", "photolike"], default="digits")
    parser.add_argument("--weights", default="none", help="backbone learners: none|imagenet|PATH")
    parser.add_argument("--mode", choices=["finetune", "embed"], default="finetune")
    parser.add_argument("--backbone-size", type=int, default=224)
    parser.add_argument(
        "--first-labels",
        action="store_true",
        help="accuracy after 20, 40, 60 labels on digits, digits at 28x28 and photo-like images",
    )
    args = parser.parse_args()
    if args.first_labels:
        _first_labels(args.learners.split(","), args.repeats)
        return

    if args.dataset == "digits":
        data = load_dataset("digits")
    else:  # digits drawn large on textured colour backgrounds, 64x64 RGB
        X, y = photo_like_arrays(1797, size=64, seed=0)
        data = Dataset(X, y, DIGITS_CLASSES)
    for learner in args.learners.split(","):
        settings = SimulationSettings(
            strategies=tuple(args.strategies.split(",")),
            learner=learner,
            seed_size=args.seed_size,
            batch_size=args.batch_size,
            budget=args.budget,
            repeats=args.repeats,
            weights=args.weights,
            mode=args.mode,
            backbone_size=args.backbone_size,
            cache_root=str(args.out / "embedding-cache"),
        )
        start = time.perf_counter()
        summary = run_simulation(data, settings, args.out / learner)
        elapsed = time.perf_counter() - start
        print(f"\n## {learner}: budget {args.budget}, {args.repeats} repeats ({elapsed:.0f} s)")
        print(
            f"{'strategy':<18}{'final acc':>14}  {'labels to 90%':<24}{'ratio':>7}  "
            f"{'labels to 95%':<24}{'ratio':>7}"
        )
        strategies = summary["strategies"]
        assert isinstance(strategies, dict)
        for name, entry in strategies.items():
            final = f"{entry['final_accuracy_mean']:.3f}±{entry['final_accuracy_std']:.3f}"
            print(
                f"{name:<18}{final:>14}  {_cell(entry, 90):<24}{_ratio(entry, 90):>7}  "
                f"{_cell(entry, 95):<24}{_ratio(entry, 95):>7}"
            )
        (args.out / learner / "bench.json").write_text(json.dumps(summary, indent=2))
        if args.stream_budget > 0:
            _stream(data, learner, args)


def _first_label_sets() -> dict[str, tuple[NDArray[np.float32], NDArray[np.int64]]]:
    X, y = digits_arrays()
    X28 = torch.nn.functional.interpolate(
        torch.from_numpy(X), size=(28, 28), mode="bilinear", align_corners=False
    ).numpy()
    return {
        "digits 8x8": (X, y),
        "digits 28x28": (np.ascontiguousarray(X28, dtype=np.float32), y),
        "photo-like 64x64 RGB": photo_like_arrays(1797, size=64, seed=0),
    }


def _first_labels(learners: list[str], repeats: int) -> None:
    counts = (20, 40, 60)
    print(f"test accuracy [distinct classes predicted] after n random labels, {repeats} repeats")
    print(f"{'dataset':<22}{'learner':<10}" + "".join(f"{n:>22}" for n in counts) + f"{'fit s':>8}")
    for name, (X, y) in _first_label_sets().items():
        order = np.random.default_rng(0).permutation(len(y))
        test, pool = order[:500], order[500:]
        for learner_name in learners:
            acc = np.zeros((repeats, len(counts)))
            distinct = np.zeros((repeats, len(counts)), dtype=int)
            seconds = 0.0
            for repeat in range(repeats):
                drawn = np.random.default_rng(100 + repeat).permutation(pool)
                for k, n in enumerate(counts):
                    idx = drawn[:n]
                    splitter = StratifiedSplitter(val_fraction=0.2)
                    sides = np.array([splitter.assign(str(c)) for c in y[idx]])
                    learner = make_learner(
                        learner_name, n_classes=10, input_shape=X.shape[1:], random_state=repeat
                    )
                    start = time.perf_counter()
                    fit_learner(
                        learner,
                        X[idx],
                        y[idx],
                        np.flatnonzero(sides == "train"),
                        np.flatnonzero(sides == "val"),
                    )
                    seconds += time.perf_counter() - start
                    predicted = learner.predict_proba(X[test]).argmax(axis=1)
                    acc[repeat, k] = (predicted == y[test]).mean()
                    distinct[repeat, k] = len(np.unique(predicted))
            cells = "".join(
                f"{acc[:, k].mean():>9.3f}±{acc[:, k].std():.3f} [{distinct[:, k].min():>2}]"
                for k in range(len(counts))
            )
            fit_s = seconds / (repeats * len(counts))
            print(f"{name:<22}{learner_name:<10}{cells}{fit_s:>8.1f}", flush=True)


def _stream(data: Any, learner: str, args: argparse.Namespace) -> None:
    settings = StreamSettings(
        selectors=STREAM_SELECTOR_NAMES,
        learner=learner,
        seed_size=args.seed_size,
        budget_fraction=args.stream_budget,
        retrain_every=args.batch_size,
        repeats=args.repeats,
    )
    start = time.perf_counter()
    summary = run_stream_simulation(data, settings, args.out / f"{learner}-stream")
    elapsed = time.perf_counter() - start
    print(f"\n## {learner}, stream, budget {args.stream_budget} ({elapsed:.0f} s)")
    print(f"{'selector':<34}{'final acc':>14}{'labels':>8}{'spent share':>13}")
    strategies = summary["strategies"]
    assert isinstance(strategies, dict)
    for name, entry in strategies.items():
        final = f"{entry['final_accuracy_mean']:.3f}±{entry['final_accuracy_std']:.3f}"
        print(f"{name:<34}{final:>14}{entry['final_n_labeled']:>8}{entry['spent_share']:>13.3f}")


if __name__ == "__main__":
    main()
