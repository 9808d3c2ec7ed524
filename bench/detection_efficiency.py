"""Images each detection strategy needs to reach a test mAP@0.5, against random.

Runs the detection simulation (:mod:`labelloop.loop.detection_sim`) on the
generated detection demo (digits on cluttered 64x64 canvases) and prints, per
strategy and target mAP@0.5, where the mean learning curve over the repeats
first reaches the target, in brackets the mean ± std over the single runs that
reached it and how many did, and the ratio to random sampling (an upper bound,
"≤", when random's mean curve never reached the target within the budget).
Figures, not asserts; everything runs on the CPU.

    .venv/bin/python bench/detection_efficiency.py --repeats 3   # about 14 min on 2 busy cores
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from labelloop.loop.detection_sim import (
    DetectionSimulationSettings,
    load_detection_dataset,
    run_detection_simulation,
)
from labelloop.loop.simulate import parse_strategies

DEFAULT_STRATEGIES = "random,entropy_sum,entropy_mean,entropy_max,margin_sum,margin_mean"


def _cell(entry: dict[str, Any], key: str) -> str:
    on_mean, reached, repeats = entry[key], entry[f"{key}_reached"], entry["repeats"]
    if on_mean is None:
        return f"> budget ({reached}/{repeats})"
    runs = entry[f"{key}_runs_mean"], entry[f"{key}_runs_std"]
    return f"{on_mean} [{runs[0]:.0f}±{runs[1]:.0f}, {reached}/{repeats}]"


def _ratio(entry: dict[str, Any], key: str) -> str:
    value = entry.get(f"{key}_ratio_to_random")
    if value is None:
        return "—"
    return f"≤{value:.2f}" if entry[f"{key}_ratio_is_bound"] else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="detection-demo:0,1,2")
    parser.add_argument("--images", type=int, default=360, help="images generated (pool + test)")
    parser.add_argument("--strategies", default=DEFAULT_STRATEGIES)
    parser.add_argument("--seed-size", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=30)
    parser.add_argument("--budget", type=int, default=140)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--targets", default="0.15,0.2,0.25")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/detection_efficiency"))
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    targets = tuple(float(t) for t in args.targets.split(","))
    settings = DetectionSimulationSettings(
        strategies=tuple(parse_strategies(args.strategies)),
        seed_size=args.seed_size,
        batch_size=args.batch_size,
        budget=args.budget,
        repeats=args.repeats,
        epochs=args.epochs,
        targets=targets,
    )
    data = load_detection_dataset(args.dataset, n_images=args.images)
    start = time.perf_counter()
    summary = run_detection_simulation(data, settings, args.out)
    elapsed = time.perf_counter() - start
    print(
        f"\n{args.dataset}, {args.images} images (pool {summary['pool_size']}, test "
        f"{summary['test_size']}), fcos_tiny {args.epochs} epochs/round, seed "
        f"{args.seed_size}, batch {args.batch_size}, budget {args.budget}, "
        f"{args.repeats} repeats, {elapsed / 60:.1f} min"
    )
    strategies: dict[str, dict[str, Any]] = summary["strategies"]  # type: ignore[assignment]
    header = ["strategy", "final mAP@0.5", "mean over curve"]
    for target in targets:
        header += [f"images to {target:g}", f"ratio ({target:g})"]
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for name, entry in strategies.items():
        row = [
            name,
            f"{entry['final_accuracy_mean']:.3f} ± {entry['final_accuracy_std']:.3f}",
            f"{entry['mean_accuracy_over_curve']:.3f}",
        ]
        for target in targets:
            key = f"labels_to_{round(target * 100)}"
            row += [_cell(entry, key), _ratio(entry, key)]
        print(" | ".join(row))
    (args.out / "table.json").write_text(json.dumps(strategies, indent=2))


if __name__ == "__main__":
    main()
