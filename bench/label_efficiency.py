"""Labels each strategy needs to reach 90% and 95% test accuracy on digits, against random.

Runs the digits simulation for each learner and prints, per strategy, the mean
(± std) labels needed to reach each target over the repeats, how many repeats
reached it, and the ratio to random sampling's mean. Figures, not asserts.

    .venv/bin/python bench/label_efficiency.py --learners logreg,cnn --budget 500 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from labelloop.loop import SimulationSettings, load_dataset, run_simulation
from labelloop.strategies import STRATEGY_NAMES


def _cell(entry: dict[str, object], target: int) -> str:
    mean, std = entry[f"labels_to_{target}"], entry[f"labels_to_{target}_std"]
    reached, repeats = entry[f"labels_to_{target}_reached"], entry["repeats"]
    if mean is None:
        return f"not reached (0/{repeats})"
    return f"{mean:.0f} ± {std:.0f} ({reached}/{repeats})"


def _ratio(entry: dict[str, object], target: int) -> str:
    value = entry.get(f"labels_to_{target}_ratio_to_random")
    return "—" if value is None else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", default="logreg,cnn")
    parser.add_argument("--strategies", default=",".join(STRATEGY_NAMES))
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--seed-size", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("runs/label_efficiency"))
    args = parser.parse_args()

    data = load_dataset("digits")
    for learner in args.learners.split(","):
        settings = SimulationSettings(
            strategies=tuple(args.strategies.split(",")),
            learner=learner,
            seed_size=args.seed_size,
            batch_size=args.batch_size,
            budget=args.budget,
            repeats=args.repeats,
        )
        start = time.perf_counter()
        summary = run_simulation(data, settings, args.out / learner)
        elapsed = time.perf_counter() - start
        print(f"\n## {learner}: budget {args.budget}, {args.repeats} repeats ({elapsed:.0f} s)")
        print(
            f"{'strategy':<18}{'final acc':>16}  {'labels to 90%':<22}{'ratio':>6}  "
            f"{'labels to 95%':<22}{'ratio':>6}"
        )
        strategies = summary["strategies"]
        assert isinstance(strategies, dict)
        for name, entry in strategies.items():
            final = f"{entry['final_accuracy_mean']:.3f}±{entry['final_accuracy_std']:.3f}"
            print(
                f"{name:<18}{final:>16}  {_cell(entry, 90):<22}{_ratio(entry, 90):>6}  "
                f"{_cell(entry, 95):<22}{_ratio(entry, 95):>6}"
            )
        (args.out / learner / "bench.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
