"""Models: a training round, simulated active learning, and backbone pretraining."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Column, Table

from labelloop.cli._console import (
    ProjectDir,
    accuracy,
    console,
    err,
    friendly,
    number,
    progress_bar,
    styled,
)
from labelloop.loop.workspace import Workspace

# Training, simulating and pretraining import what they need when they run:
# `labelloop --help` must not load torch (seconds).
if TYPE_CHECKING:
    from labelloop.monitor.curves import CurvePoint


@friendly
def train(project_dir: ProjectDir) -> None:
    """Run one round: snapshot, fit, score the pool, queue the next batch."""
    with Workspace.open(project_dir) as ws, progress_bar() as progress:
        task = progress.add_task("round", total=1.0)
        from labelloop.loop.round import run_round

        result = run_round(
            ws, on_step=lambda name, done: progress.update(task, description=name, completed=done)
        )
    r, metrics = result.round, result.metrics
    console.print(
        f"round {r.number}: {metrics.n_labeled} labels, strategy {r.strategy}, "
        f"queued {len(r.selected)} items (the batch; the ranking behind it holds the rest)"
    )
    val = metrics.validation
    if val is not None and "map50" in val:
        console.print(
            f"validation mAP@0.5 {number(val['map50'])}, mAP@[.5:.95] {number(val['map'])} "
            f"on {val['n_images']} images"
        )
    elif val is not None:
        console.print(
            f"validation accuracy {accuracy(val)}, macro-F1 {val['macro_f1']:.3f}, "
            f"ECE {val['ece']:.3f}"
        )
    health = metrics.model_health
    if health is not None and health.get("collapsed"):
        err.print(styled("[yellow]warning:[/yellow] {}", health["summary"]))


@friendly
def simulate(
    out: Annotated[Path, typer.Option(help="Folder for curves.csv, summary.json, curves.png.")],
    dataset: Annotated[str, typer.Option(help="'digits' or a class-per-subfolder folder.")] = (
        "digits"
    ),
    mode: Annotated[
        str, typer.Option(help="pool (rank the pool each round) or stream (decide per item).")
    ] = "pool",
    strategies: Annotated[
        str | None,
        typer.Option(help="Comma-separated pool strategies or stream selectors; default: all."),
    ] = None,
    learner: Annotated[
        str, typer.Option(help="cnn, cnn_ensemble, logreg, logreg_bagging or resnet18.")
    ] = "cnn",
    seed_size: Annotated[int, typer.Option(help="Labels drawn at random to start.")] = 20,
    batch_size: Annotated[int, typer.Option(help="Pool: labels queried per round.")] = 10,
    budget: Annotated[int, typer.Option(help="Pool: total labels per run.")] = 300,
    budget_fraction: Annotated[
        float, typer.Option(help="Stream: share of arriving items that may be labeled.")
    ] = 0.1,
    retrain_every: Annotated[int, typer.Option(help="Stream: retrain after this many labels.")] = (
        10
    ),
    repeats: Annotated[int, typer.Option(help="Runs per strategy (different seeds).")] = 3,
    seed: Annotated[int, typer.Option(help="Base seed.")] = 0,
    task_type: Annotated[
        str,
        typer.Option(
            "--task",
            help="classification, or detection (curves' accuracy column is then test mAP@0.5).",
        ),
    ] = "classification",
    images: Annotated[
        int, typer.Option(help="Detection: images generated for detection-demo.")
    ] = 400,
    epochs: Annotated[int, typer.Option(help="Detection: detector epochs per round.")] = 5,
    min_steps: Annotated[
        int, typer.Option(help="Detection: fewest optimiser steps per round.")
    ] = 160,
    refit: Annotated[
        bool,
        typer.Option(
            help="Refit each round's model on every label after validating on a fifth "
            "(--no-refit: the validation side never trains it)."
        ),
    ] = True,
) -> None:
    """Simulate active learning with an oracle and compare strategies against random."""
    # Settings every mode shares, then those of the modes that spend a budget in batches.
    shared: dict[str, Any] = {"seed_size": seed_size, "repeats": repeats, "seed": seed}
    batches = {**shared, "batch_size": batch_size, "budget": budget}
    if task_type == "detection":
        detector = "fcos_tiny" if learner == "cnn" else learner
        _simulate_detection(
            out,
            "detection-demo" if dataset == "digits" else dataset,
            strategies,
            images,
            {**batches, "learner": detector, "epochs": epochs, "min_steps": min_steps},
        )
        return
    if task_type != "classification":
        raise ValueError(f"--task must be classification or detection, not {task_type!r}")
    from labelloop.loop.simulate import (
        SimulationSettings,
        load_dataset,
        parse_strategies,
        run_simulation,
    )
    from labelloop.loop.stream_sim import StreamSettings, run_stream_simulation
    from labelloop.strategies import STRATEGY_NAMES
    from labelloop.strategies.stream import STREAM_SELECTOR_NAMES

    if mode not in ("pool", "stream"):
        raise ValueError(f"--mode must be pool or stream, not {mode!r}")
    default = ",".join(STRATEGY_NAMES if mode == "pool" else STREAM_SELECTOR_NAMES)
    names = tuple(parse_strategies(strategies or default))
    data = load_dataset(dataset)
    if mode == "pool":
        settings = SimulationSettings(strategies=names, learner=learner, refit=refit, **batches)
        total = settings.rounds() * len(names) * repeats
        summary = _with_progress(total, repeats, out, partial(run_simulation, data, settings, out))
    else:
        stream_settings = StreamSettings(
            selectors=names,
            learner=learner,
            budget_fraction=budget_fraction,
            retrain_every=retrain_every,
            **shared,
        )
        run = partial(run_stream_simulation, data, stream_settings, out)
        summary = _with_progress(None, repeats, out, run)
    _print_summary(summary)
    console.print(f"wrote {out / 'curves.csv'}, {out / 'summary.json'}, {out / 'curves.png'}")


def _with_progress(
    total: int | None, repeats: int, out: Path, run: Callable[..., dict[str, Any]]
) -> dict[str, Any]:
    """``run(on_round=...)`` under a progress bar; an interrupt exits 130 and says what is kept."""
    with progress_bar() as progress:
        task = progress.add_task("simulating", total=total)

        def advance(point: CurvePoint) -> None:
            progress.update(
                task, advance=1, description=f"{point.strategy} repeat {point.repeat + 1}/{repeats}"
            )

        try:
            return run(on_round=advance)
        except KeyboardInterrupt:
            err.print(f"interrupted: finished rows are in {out / 'curves.csv'}")
            raise typer.Exit(130) from None


_DETECTION_SIM_DEFAULT = "random,entropy_sum,entropy_max,margin_sum"


def _simulate_detection(
    out: Path, dataset: str, strategies: str | None, images: int, options: dict[str, Any]
) -> None:
    from labelloop.loop.detection_sim import (
        DetectionSimulationSettings,
        load_detection_dataset,
        run_detection_simulation,
    )
    from labelloop.loop.simulate import parse_strategies

    names = tuple(parse_strategies(strategies or _DETECTION_SIM_DEFAULT))
    settings = DetectionSimulationSettings(strategies=names, **options)
    data = load_detection_dataset(dataset, n_images=images, seed=settings.seed)
    total = settings.rounds() * len(names) * settings.repeats
    run = partial(run_detection_simulation, data, settings, out)
    summary = _with_progress(total, settings.repeats, out, run)
    table = Table(Column("strategy", no_wrap=True), "final mAP@0.5", "mean mAP@0.5", "labels")
    for name, entry in summary["strategies"].items():
        table.add_row(name, *_accuracy_cells(entry), str(entry["final_n_labeled"]))
    console.print(table)
    console.print(
        f"wrote {out / 'curves.csv'} (accuracy = test mAP@0.5), {out / 'rounds.jsonl'}, "
        f"{out / 'summary.json'}, {out / 'curves.png'}"
    )


def _accuracy_cells(entry: dict[str, Any]) -> tuple[str, str]:
    """A strategy's final accuracy (mean ± std over repeats) and its mean over the curve."""
    final = f"{entry['final_accuracy_mean']:.3f} ± {entry['final_accuracy_std']:.3f}"
    return final, f"{entry['mean_accuracy_over_curve']:.3f}"


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(
        Column("strategy", no_wrap=True),
        "final acc",
        "mean acc",
        "labels to 90%",
        "labels to 95%",
        "ratio to random (95%)",
        "spent",
        title="simulation",
    )

    def fmt(v: Any, spec: str = ".0f") -> str:
        return "—" if v is None else format(v, spec)

    for name, s in summary["strategies"].items():
        table.add_row(
            name,
            *_accuracy_cells(s),
            fmt(s["labels_to_90"]),
            fmt(s["labels_to_95"]),
            ("≤" if s.get("labels_to_95_ratio_is_bound") else "")
            + fmt(s.get("labels_to_95_ratio_to_random"), ".2f"),
            fmt(s.get("spent_share"), ".3f"),
        )
    console.print(table)


@friendly
def pretrain(
    project_dir: ProjectDir,
    epochs: Annotated[int, typer.Option(min=1, max=10_000, help="Passes over the pool.")] = 20,
    backbone: Annotated[
        str,
        typer.Option(help="resnet18, resnet50, efficientnet_b0, convnext_tiny or vit_b_16."),
    ] = "resnet18",
    input_size: Annotated[
        int, typer.Option(min=16, max=1024, help="The side the backbone sees.")
    ] = 64,
    batch_size: Annotated[int, typer.Option(min=2, max=4096, help="Images per step.")] = 64,
    restart: Annotated[
        bool, typer.Option("--restart", help="Start over instead of resuming the checkpoint.")
    ] = False,
    use: Annotated[
        bool, typer.Option(help="Make the result the project's backbone (embed mode).")
    ] = True,
) -> None:
    """Pretrain a backbone on the project's own unlabeled images (SimCLR), resumably.

    Each epoch is checkpointed; running the command again after a stop
    resumes at the next epoch. The finished backbone becomes the project's
    (learner, backbone.weights; embed mode) unless --no-use.
    """
    from labelloop.learners.registry import BACKBONE_LEARNER_NAMES
    from labelloop.loop.pretrain import PretrainSettings, pretrain_project

    if backbone not in BACKBONE_LEARNER_NAMES:
        raise ValueError(
            f"--backbone must be one of {', '.join(BACKBONE_LEARNER_NAMES)}, not {backbone!r}"
        )
    with Workspace.open(project_dir) as ws:
        n = len(ws.store.items(ws.project.id))
        steps = -(-n // max(2, min(batch_size, max(n, 2))))
        settings = PretrainSettings(backbone=backbone, input_size=input_size, epochs=epochs)
        with progress_bar() as progress:
            task = progress.add_task("pretraining", total=epochs * steps)
            done = pretrain_project(
                ws,
                settings,
                batch_size=batch_size,
                restart=restart,
                use=use,
                on_step=lambda epoch, step, loss: progress.update(
                    task,
                    completed=epoch * steps + step + 1,
                    description=f"epoch {epoch + 1}/{epochs} loss {loss:.3f}",
                ),
            )
    result = done.result
    if result.resumed_from:
        console.print(f"resumed after epoch {result.resumed_from}")
    losses = ", ".join(f"{v:.3f}" for v in result.losses[-5:])
    console.print(
        f"pretrained {backbone} on {done.images} images for {result.epochs_done} epochs "
        f"(last losses {losses}); weights: {result.weights_path}"
    )
    for change in done.changes:
        console.print(f"{change.key}: {change.old} -> {change.new}")
