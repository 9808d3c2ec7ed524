"""The ``labelloop`` command."""

from __future__ import annotations

import csv
import functools
import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import typer
from pydantic import ValidationError
from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table
from rich.text import Text

from labelloop.config import ProjectConfig
from labelloop.errors import LabelloopError, storage_problem
from labelloop.loop.export import ExportFormat, export_bytes
from labelloop.loop.workspace import Workspace
from labelloop.store import FLAG_KINDS, REPORT_KINDS, LabelEvent, LabelInput

# Commands that train, score or simulate import what they need when they run:
# `labelloop --help`, `status` or `config` must not load torch (seconds).
if TYPE_CHECKING:
    from labelloop.data.formats import FormatName
    from labelloop.monitor.curves import CurvePoint

app = typer.Typer(
    help="Active learning for computer-vision labeling.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

PIPE_WIDTH = 10_000
"""Columns assumed when output is not a terminal: nothing printed for a script wraps."""


class _Console(Console):
    """A rich console that wraps lines only on a terminal.

    Piped or redirected, rich would assume 80 columns (or ``$COLUMNS``) and
    fold long lines and table cells, so a script reading the output would see
    words split across lines. Off a terminal this console is as wide as any
    line it prints and never soft-wraps.
    """

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self.is_terminal:
            return size
        return ConsoleDimensions(PIPE_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


# Markup is off: file names, class names and messages are printed as they are (a
# label "[/x]" would otherwise crash the printing); styled lines ask for it (_styled).
console = _Console(soft_wrap=True, markup=False)
err = _Console(stderr=True, soft_wrap=True, markup=False)


def _styled(markup: str, *values: object) -> Text:
    """``markup`` with each ``{}`` filled by a value printed literally."""
    return Text.from_markup(markup.format(*(escape(str(v)) for v in values)))


F = TypeVar("F", bound=Callable[..., Any])
ProjectDir = Annotated[Path, typer.Argument(help="The project folder.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _friendly(func: F) -> F:
    """Turn labelloop's own errors into a one-line message and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            for e in exc.errors():
                where = ".".join(str(p) for p in e["loc"]) or "configuration"
                err.print(_styled("[red]error:[/red] {}: {}", where, e["msg"]))
            raise typer.Exit(1) from None
        except (LabelloopError, ValueError, LookupError, FileNotFoundError) as exc:
            err.print(_styled("[red]error:[/red] {}", exc))
            raise typer.Exit(1) from None
        except Exception as exc:
            problem = storage_problem(exc)
            if problem is None:
                raise
            err.print(
                _styled(
                    "[red]error:[/red] {}: free some space (or make it writable) and run the "
                    "command again; everything finished before it is kept",
                    problem,
                )
            )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
    )


def _event_dict(event: LabelEvent) -> dict[str, Any]:
    return {
        "event": event.id,
        "item": event.item_id,
        "seq": event.seq,
        "value": event.value,
        "source": event.source,
        "action": event.action,
        "annotator": event.annotator,
        "model_version": event.model_version,
        "confidence": event.confidence,
        "supersedes": event.supersedes_id,
        "created_at": event.created_at.isoformat(),
    }


@app.command()
@_friendly
def init(
    project_dir: ProjectDir,
    name: Annotated[str | None, typer.Option(help="Project name.")] = None,
    classes: Annotated[str | None, typer.Option(help="Comma-separated class names.")] = None,
    config: Annotated[Path | None, typer.Option(help="A YAML configuration file.")] = None,
    strategy: Annotated[
        str | None,
        typer.Option(help="Query strategy; default margin (detection: entropy_sum)."),
    ] = None,
    learner: Annotated[
        str | None,
        typer.Option(
            help="Learner: cnn (default), cnn_ensemble, logreg, logreg_bagging, resnet18; "
            "detection: fcos_tiny (default), fcos_resnet50_fpn."
        ),
    ] = None,
    task_type: Annotated[
        str, typer.Option("--task", help="classification or detection.")
    ] = "classification",
    batch_size: Annotated[int, typer.Option(help="Items queued per round.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of every random choice.")] = 0,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL; default a SQLite file in the folder.")
    ] = None,
) -> None:
    """Create a project folder and its database."""
    if config is not None:
        cfg = ProjectConfig.from_yaml(config.read_text())
    else:
        if not classes:
            raise ValueError("give --classes a,b,c (or --config FILE.yaml)")
        chosen = {"strategy": strategy, "learner": learner}
        cfg = ProjectConfig.model_validate(
            {
                "name": name or project_dir.resolve().name,
                "task": task_type,
                "classes": tuple(c.strip() for c in classes.split(",")),
                "batch_size": batch_size,
                "seed": seed,
                **{key: value for key, value in chosen.items() if value is not None},
            }
        )
    ws = Workspace.init(project_dir, cfg, database_url=database_url)
    console.print(_styled("Created project [bold]{}[/bold] in {}", cfg.name, project_dir))
    console.print(cfg.to_yaml().rstrip())
    ws.close()


@app.command("import")
@_friendly
def import_(
    project_dir: ProjectDir,
    source: Annotated[
        Path,
        typer.Argument(
            help="Folder of images; with --format, the annotation file (COCO, Label Studio) "
            "or dataset folder (YOLO, VOC)."
        ),
    ],
    labels: Annotated[Path | None, typer.Option(help="CSV of filename,label.")] = None,
    unlabeled: Annotated[
        bool, typer.Option("--unlabeled", help="Ignore labels the folder layout carries.")
    ] = False,
    annotator: Annotated[str | None, typer.Option(help="Who made the imported labels.")] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="Detection annotations: coco, yolo, voc or labelstudio."),
    ] = None,
    images: Annotated[
        Path | None,
        typer.Option(help="With --format: the folder image names are relative to."),
    ] = None,
    check: Annotated[
        bool, typer.Option(help="Test the new images for data drift and outliers.")
    ] = True,
) -> None:
    """Import images: a folder (class subfolders, flat, or flat + CSV), or a detection dataset.

    New images are then tested for data drift against the images the model
    learned from, and scored for outliers (``--no-check`` skips both).
    """
    ws = Workspace.open(project_dir)
    before = {i.id for i in ws.store.items(ws.project.id)}
    if fmt is not None:
        _import_detections(ws, fmt, source, images, annotator)
        if check:
            _check_new_items(ws, before, label=f"import {source.name}")
        ws.close()
        return
    total = sum(1 for p in source.rglob("*") if p.is_file()) if source.is_dir() else None
    with _progress() as progress:
        task = progress.add_task("importing", total=total)
        report = ws.import_folder(
            source,
            labels,
            with_labels=not unlabeled,
            annotator=annotator,
            on_file=lambda: progress.advance(task),
        )
    for rejected in report.rejected:
        err.print(_styled("[yellow]rejected[/yellow] {}: {}", rejected.path, rejected.reason))
    s = report.summary()
    console.print(
        f"imported {s['imported']} ({s['labeled']} labeled), "
        f"duplicate {s['duplicate']}, rejected {s['rejected']}"
    )
    for key, _old, new in report.decided:
        if key == "backbone":
            console.print(
                f"decided from the images: backbone {new['mode']} mode with ImageNet weights "
                "(found in the torch cache); change with labelloop config --set"
            )
        else:
            console.print(f"decided from the images: {key} = {new}")
    if s["rejected"] and not s["imported"] and not s["duplicate"]:
        ws.close()
        err.print(_styled("[red]error:[/red] no file was imported; the reasons are listed above"))
        raise typer.Exit(1)
    if check:
        _check_new_items(ws, before, label=f"import {source.name}")
    ws.close()


def _check_new_items(ws: Workspace, before: set[int], *, label: str) -> None:
    """Drift and outlier checks on the items an import added, printed as alerts."""
    from labelloop.loop.health import check_batch

    added = [i.id for i in ws.store.items(ws.project.id) if i.id not in before]
    health = check_batch(ws, added, label=label)
    for found in (health.drift, health.outliers):
        if found is not None:
            style = "bold red" if found.alert else "green"
            console.print(f"[{style}]{'alert' if found.alert else 'ok'}[/{style}] {found.summary}")


def _detection_format(fmt: str) -> FormatName:
    from labelloop.data.formats import FORMAT_NAMES

    if fmt not in FORMAT_NAMES:
        raise ValueError(f"--format must be one of {', '.join(FORMAT_NAMES)}, not {fmt!r}")
    return fmt


def _import_detections(
    ws: Workspace, fmt: str, source: Path, images: Path | None, annotator: str | None
) -> None:
    from labelloop.loop.detection_io import import_detections

    with _progress() as progress:
        task = progress.add_task("importing", total=None)
        report = import_detections(
            ws,
            _detection_format(fmt),
            source,
            image_root=images,
            annotator=annotator,
            on_file=lambda: progress.advance(task),
        )
    for problem in report.problems:
        err.print(_styled("[yellow]problem[/yellow] {}", problem))
    for rejected in report.rejected:
        err.print(_styled("[yellow]rejected[/yellow] {}: {}", rejected.path, rejected.reason))
    s = report.summary()
    console.print(
        f"imported {s['imported']} ({s['labeled']} labeled), duplicate {s['duplicate']}, "
        f"rejected {s['rejected']}, problems {s['problems']}"
    )


@app.command()
@_friendly
def status(project_dir: ProjectDir, as_json: JsonFlag = False) -> None:
    """Counts by label source, rounds, and the latest metrics."""
    ws = Workspace.open(project_dir)
    pid = ws.project.id
    n_items = len(ws.store.items(pid))
    sources = ws.store.source_counts(pid)
    rounds = ws.store.rounds(pid)
    report = {
        "project": ws.project.name,
        "items": n_items,
        "labeled": sum(sources.values()),
        "unlabeled": n_items - sum(sources.values()),
        "labels_by_source": sources,
        "rounds": len(rounds),
        "queued": len(ws.store.queue(pid)),
        "latest_metrics": rounds[-1].metrics if rounds else None,
    }
    stopping = ws.store.monitor.latest(pid, "stopping")
    report["decision"] = "continue" if stopping is None else stopping.body.get("decision")
    report["decision_evidence"] = None if stopping is None else stopping.summary
    ws.close()
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    table = Table(title=f"project {report['project']}", show_header=False)
    for key in ("items", "labeled", "unlabeled", "rounds"):
        table.add_row(key, str(report[key]))
    # The whole ranking waits to be labeled; a round's batch is only its head.
    batch = ws.config.batch_size
    table.add_row("ranked to label", f"{report['queued']} (the next batch is the first {batch})")
    for source, count in sorted(sources.items()):
        table.add_row(f"labels from {source}", str(count))
    latest = report["latest_metrics"]
    val = latest.get("validation") if isinstance(latest, dict) else None
    if isinstance(val, dict) and "map50" in val:
        table.add_row("validation mAP@0.5", _number(val["map50"]))
        table.add_row("validation mAP@[.5:.95]", _number(val["map"]))
    elif isinstance(latest, dict) and "validation" in latest:
        val = latest["validation"]
        table.add_row("validation accuracy", _accuracy(val))
        table.add_row("validation macro-F1", f"{val['macro_f1']:.3f}")
        table.add_row("validation ECE", f"{val['ece']:.3f}")
    health = latest.get("model_health") if isinstance(latest, dict) else None
    if isinstance(health, dict):
        state = "collapsed: " if health.get("collapsed") else ""
        table.add_row("model", state + str(health.get("summary", "")))
    decision = "returns are diminishing" if report["decision"] == "diminishing" else "continue"
    table.add_row("labeling", decision)
    if report["decision_evidence"]:
        table.add_row("because", str(report["decision_evidence"]))
    console.print(table)


@app.command()
@_friendly
def monitor(
    project_dir: ProjectDir,
    as_json: JsonFlag = False,
    label_errors: Annotated[
        bool, typer.Option("--label-errors", help="Look for likely wrong labels now.")
    ] = False,
    concept_drift: Annotated[
        bool,
        typer.Option("--concept-drift", help="Replay the model's errors for concept drift now."),
    ] = False,
    metadata: Annotated[
        Path | None,
        typer.Option(help="CSV of filename plus numeric columns to import and clean."),
    ] = None,
) -> None:
    """Data health: keep labeling or stop, data and concept drift, outliers, label errors."""
    from labelloop.loop.health import (
        check_concept_drift,
        check_label_errors,
        import_metadata,
        monitor_overview,
    )

    ws = Workspace.open(project_dir)
    if metadata is not None:
        err.print(import_metadata(ws, metadata).summary)
    if label_errors:
        err.print(check_label_errors(ws).summary)
    if concept_drift:
        found = check_concept_drift(ws)
        err.print(
            "no label has a prediction to compare with yet" if found is None else found.summary
        )
    overview = monitor_overview(ws)
    flags = {
        kind: [
            {"item": f.item_id, "name": f.item_name, "score": f.score, "detail": f.detail}
            for f in ws.store.monitor.flags(ws.project.id, kind, limit=10)
        ]
        for kind in FLAG_KINDS
    }
    ws.close()
    if as_json:
        typer.echo(json.dumps(overview | {"top_flags": flags}, indent=2, default=str))
        return
    decision = overview["decision"]
    style = "bold yellow" if decision == "diminishing" else "bold green"
    words = "returns are diminishing" if decision == "diminishing" else "continue labeling"
    console.print(f"[{style}]{words}[/{style}]")
    stopping = overview["latest"]["stopping"]
    if stopping is not None:
        console.print(stopping["summary"])
        rules = Table("rule", "value", "threshold", "fired")
        for verdict in stopping["body"]["verdicts"]:
            value = verdict["value"]
            rules.add_row(
                verdict["rule"],
                "n/a" if value is None else f"{value:.4f}",
                f"{verdict['threshold']:g}",
                "yes" if verdict["fired"] else "no",
            )
        console.print(rules)
    checks = Table("check", "alert", "latest finding")
    for kind in (k for k in REPORT_KINDS if k != "stopping"):  # stopping is shown above
        found = overview["latest"][kind]
        checks.add_row(
            kind,
            "" if found is None else (Text("yes", style="bold red") if found["alert"] else "no"),
            "not run yet" if found is None else found["summary"],
        )
    console.print(checks)
    open_flags = Table("flag", "open", "top items")
    for kind, count in overview["open_flags"].items():
        names = ", ".join(str(f["name"]) for f in flags[kind][:5])
        open_flags.add_row(kind, str(count), names)
    console.print(open_flags)


@app.command()
@_friendly
def query(
    project_dir: ProjectDir,
    as_json: JsonFlag = False,
    limit: Annotated[
        int | None, typer.Option(help="How many to show; default the project's batch size.")
    ] = None,
) -> None:
    """The next batch of the latest ranking, still unlabeled, most informative first."""
    ws = Workspace.open(project_dir)
    queue = ws.store.queue(ws.project.id, limit=limit or ws.config.batch_size)
    ws.close()
    rows = [
        {"item": item.id, "name": item.name, "sha256": item.sha256, "score": score}
        for item, score in queue
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        err.print("the queue is empty: run `labelloop train PROJECT_DIR` to choose a batch")
        return
    table = Table("rank", "item", "name", "score")
    for rank, row in enumerate(rows, 1):
        score = "" if row["score"] is None else f"{row['score']:.4f}"
        table.add_row(str(rank), str(row["item"]), str(row["name"]), score)
    console.print(table)


def _read_label_rows(ws: Workspace, path: Path, annotator: str) -> list[LabelInput]:
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        fields = set(reader.fieldnames or ())
        if not {"item", "label"} <= fields:
            raise ValueError(
                f"{path}: needs a header with columns item,label (item = id, sha256 or "
                f"imported file name); found {sorted(fields)}"
            )
        schema = ws.config.label_schema()
        problems: list[str] = []
        inputs: list[LabelInput] = []
        for line, row in enumerate(reader, start=2):
            key, value = (row["item"] or "").strip(), (row["label"] or "").strip()
            found = ws.store.find_items(ws.project.id, key)
            if len(found) != 1:
                what = "no item" if not found else f"{len(found)} items"
                problems.append(f"line {line}: {what} matches {key!r}")
                continue
            try:
                schema.validate_value(value)
            except ValueError as exc:
                problems.append(f"line {line}: {exc}")
                continue
            inputs.append(LabelInput(found[0].id, value, source="human", annotator=annotator))
    if problems:
        raise ValueError(f"{path}: nothing recorded, fix these rows:\n  " + "\n  ".join(problems))
    return inputs


@app.command()
@_friendly
def label(
    project_dir: ProjectDir,
    labels_csv: Annotated[Path, typer.Argument(help="CSV with columns item,label.")],
    annotator: Annotated[str, typer.Option(help="Who made these labels.")],
) -> None:
    """Record labels from a CSV, all or none, attributed to an annotator."""
    ws = Workspace.open(project_dir)
    events = ws.store.record_labels(ws.project.id, _read_label_rows(ws, labels_csv, annotator))
    ws.close()
    console.print(f"recorded {len(events)} labels by {annotator}")


@app.command()
@_friendly
def train(project_dir: ProjectDir) -> None:
    """Run one round: snapshot, fit, score the pool, queue the next batch."""
    ws = Workspace.open(project_dir)
    with _progress() as progress:
        task = progress.add_task("round", total=1.0)
        from labelloop.loop.round import run_round

        result = run_round(
            ws, on_step=lambda name, done: progress.update(task, description=name, completed=done)
        )
    ws.close()
    r = result.round
    console.print(
        f"round {r.number}: {result.metrics['n_labeled']} labels, strategy {r.strategy}, "
        f"queued {len(r.selected)} items (the batch; the ranking behind it holds the rest)"
    )
    val = result.metrics.get("validation")
    if isinstance(val, dict) and "map50" in val:
        console.print(
            f"validation mAP@0.5 {_number(val['map50'])}, mAP@[.5:.95] {_number(val['map'])} "
            f"on {val['n_images']} images"
        )
    elif "validation" in result.metrics:
        val = result.metrics["validation"]
        console.print(
            f"validation accuracy {_accuracy(val)}, macro-F1 {val['macro_f1']:.3f}, "
            f"ECE {val['ece']:.3f}"
        )
    health = result.metrics.get("model_health")
    if isinstance(health, dict) and health.get("collapsed"):
        err.print(_styled("[yellow]warning:[/yellow] {}", health["summary"]))


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


@app.command()
@_friendly
def history(project_dir: ProjectDir, item: str, as_json: JsonFlag = False) -> None:
    """Every label event of one item (by id, sha256 or imported name)."""
    ws = Workspace.open(project_dir)
    found = ws.store.find_items(ws.project.id, item)
    if not found:
        ws.close()
        raise LookupError(
            f"no item has the id, sha256 or imported name {item!r}; "
            f"'labelloop query {project_dir}' lists items with their ids"
        )
    if len(found) > 1:
        ws.close()
        raise LookupError(f"{len(found)} items match {item!r}; use the item id")
    events = [_event_dict(e) for e in ws.store.history(ws.project.id, found[0].id)]
    ws.close()
    if as_json:
        typer.echo(json.dumps(events, indent=2))
        return
    table = Table("seq", "event", "action", "value", "source", "annotator", "supersedes", "when")
    for e in events:
        table.add_row(
            str(e["seq"]),
            str(e["event"]),
            e["action"],
            json.dumps(e["value"]),
            e["source"],
            e["annotator"] or "",
            str(e["supersedes"] or ""),
            e["created_at"],
        )
    console.print(table)


@app.command()
@_friendly
def export(
    project_dir: ProjectDir,
    dest: Annotated[
        Path | None,
        typer.Argument(
            help="Detection formats: the JSON file (coco, labelstudio) or folder (yolo, voc)."
        ),
    ] = None,
    snapshot: Annotated[
        int | None, typer.Option(min=1, max=2**63 - 1, help="Snapshot id; default current.")
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help="csv, json, imagefolder; for detection coco, yolo, voc, labelstudio."
        ),
    ] = "csv",
    output: Annotated[Path | None, typer.Option(help="File to write; default stdout.")] = None,
    include_auto: Annotated[
        bool,
        typer.Option(help="Also export auto labels no person has checked (left out by default)."),
    ] = False,
) -> None:
    """Export labels, current or at a snapshot: CSV, JSON, ImageFolder zip, or detection formats."""
    ws = Workspace.open(project_dir)
    try:
        detection = ws.config.task == "detection"
        plain = ("csv", "json") if detection else ("csv", "json", "imagefolder")
        if fmt not in plain:
            from labelloop.data.formats import FORMAT_NAMES

            if not detection or fmt not in FORMAT_NAMES:
                allowed = ", ".join((*plain, *(FORMAT_NAMES if detection else ())))
                raise ValueError(
                    f"--format must be one of {allowed} for this {ws.config.task} "
                    f"project, not {fmt!r}"
                )
            _export_detections(ws, _detection_format(fmt), dest or output, snapshot, include_auto)
            return
        data = export_bytes(ws, cast(ExportFormat, fmt), snapshot, include_auto=include_auto)
    finally:
        ws.close()
    target = output or dest
    if target is not None:
        target.write_bytes(data)
        err.print(f"wrote {target}")
    elif fmt == "imagefolder":
        raise ValueError("an ImageFolder export is a zip file: give --output FILE.zip")
    else:
        sys.stdout.write(data.decode())


@app.command()
@_friendly
def instructions(
    project_dir: ProjectDir,
    markdown: Annotated[
        Path | None,
        typer.Argument(help="A Markdown file to show on the label and review pages."),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the instructions.")] = False,
) -> None:
    """Show, set (from a Markdown file) or clear the project's labeling instructions."""
    from labelloop.loop.settings import apply_settings

    with Workspace.open(project_dir) as ws:
        if markdown is None and not clear:
            typer.echo(ws.config.instructions or "(no instructions)")
            return
        text = "" if clear else markdown.read_text(encoding="utf-8")  # type: ignore[union-attr]
        apply_settings(ws, {"instructions": text}, who=getpass.getuser(), note="instructions")
    console.print("instructions cleared" if clear else f"instructions set ({len(text)} characters)")


@app.command()
@_friendly
def snapshots(project_dir: ProjectDir, as_json: JsonFlag = False) -> None:
    """Every snapshot of the labels (rounds take one each): id, labels, when, note."""
    with Workspace.open(project_dir) as ws:
        found = ws.store.snapshots(ws.project.id)
    rows = [
        {
            "id": snap.id,
            "labels": snap.n_labels,
            "created": snap.created_at.isoformat(timespec="seconds"),
            "note": snap.note,
        }
        for snap in found
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("id", "labels", "created", "note")
    for row in rows:
        table.add_row(*(str(row[k] or "") for k in ("id", "labels", "created", "note")))
    console.print(table if rows else "no snapshots yet (each training round takes one)")


def _export_detections(
    ws: Workspace, fmt: FormatName, dest: Path | None, snapshot: int | None, include_auto: bool
) -> None:
    from labelloop.loop.detection_io import export_detections

    if dest is None:
        raise ValueError(f"a {fmt} export is written to files: give DEST after the project")
    written = export_detections(ws, fmt, dest, snapshot=snapshot, include_auto=include_auto)
    n_images = sum(1 for path in written[1:] if path.suffix.lower() != ".xml")
    console.print(f"wrote {fmt} annotations to {dest} ({len(written)} files, {n_images} images)")


@app.command()
@_friendly
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
    if task_type == "detection":
        _simulate_detection(
            out,
            "detection-demo" if dataset == "digits" else dataset,
            strategies,
            "fcos_tiny" if learner == "cnn" else learner,
            (seed_size, batch_size, budget, repeats, seed),
            images,
            (epochs, min_steps),
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
    settings: SimulationSettings | StreamSettings
    total: int | None = None
    if mode == "pool":
        pool_settings = SimulationSettings(
            strategies=names,
            learner=learner,
            seed_size=seed_size,
            batch_size=batch_size,
            budget=budget,
            repeats=repeats,
            seed=seed,
            refit=refit,
        )
        total = pool_settings.rounds() * len(names) * repeats
        settings = pool_settings
    else:
        settings = StreamSettings(
            selectors=names,
            learner=learner,
            seed_size=seed_size,
            budget_fraction=budget_fraction,
            retrain_every=retrain_every,
            repeats=repeats,
            seed=seed,
        )
    with _progress() as progress:
        task = progress.add_task("simulating", total=total)

        def advance(point: CurvePoint) -> None:
            progress.update(
                task, advance=1, description=f"{point.strategy} repeat {point.repeat + 1}/{repeats}"
            )

        try:
            if isinstance(settings, SimulationSettings):
                summary = run_simulation(data, settings, out, on_round=advance)
            else:
                summary = run_stream_simulation(data, settings, out, on_round=advance)
        except KeyboardInterrupt:
            err.print(f"interrupted: finished rows are in {out / 'curves.csv'}")
            raise typer.Exit(130) from None
    _print_summary(summary)
    console.print(f"wrote {out / 'curves.csv'}, {out / 'summary.json'}, {out / 'curves.png'}")


_DETECTION_SIM_DEFAULT = "random,entropy_sum,entropy_max,margin_sum"


def _simulate_detection(
    out: Path,
    dataset: str,
    strategies: str | None,
    learner: str,
    sizes: tuple[int, int, int, int, int],
    images: int,
    training: tuple[int, int],
) -> None:
    from labelloop.loop.detection_sim import (
        DetectionSimulationSettings,
        load_detection_dataset,
        run_detection_simulation,
    )
    from labelloop.loop.simulate import parse_strategies

    seed_size, batch_size, budget, repeats, seed = sizes
    settings = DetectionSimulationSettings(
        strategies=tuple(parse_strategies(strategies or _DETECTION_SIM_DEFAULT)),
        learner=learner,
        seed_size=seed_size,
        batch_size=batch_size,
        budget=budget,
        repeats=repeats,
        seed=seed,
        epochs=training[0],
        min_steps=training[1],
    )
    data = load_detection_dataset(dataset, n_images=images, seed=seed)
    total = settings.rounds() * len(settings.strategies) * repeats
    with _progress() as progress:
        task = progress.add_task("simulating", total=total)

        def advance(point: CurvePoint) -> None:
            progress.update(
                task, advance=1, description=f"{point.strategy} repeat {point.repeat + 1}/{repeats}"
            )

        try:
            summary = run_detection_simulation(data, settings, out, on_round=advance)
        except KeyboardInterrupt:
            err.print(f"interrupted: finished rows are in {out / 'curves.csv'}")
            raise typer.Exit(130) from None
    table = Table(Column("strategy", no_wrap=True), "final mAP@0.5", "mean mAP@0.5", "labels")
    for name, entry in summary["strategies"].items():  # type: ignore[attr-defined]
        table.add_row(
            name,
            f"{entry['final_accuracy_mean']:.3f} ± {entry['final_accuracy_std']:.3f}",
            f"{entry['mean_accuracy_over_curve']:.3f}",
            str(entry["final_n_labeled"]),
        )
    console.print(table)
    console.print(
        f"wrote {out / 'curves.csv'} (accuracy = test mAP@0.5), {out / 'rounds.jsonl'}, "
        f"{out / 'summary.json'}, {out / 'curves.png'}"
    )


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
            f"{s['final_accuracy_mean']:.3f} ± {s['final_accuracy_std']:.3f}",
            f"{s['mean_accuracy_over_curve']:.3f}",
            fmt(s["labels_to_90"]),
            fmt(s["labels_to_95"]),
            ("≤" if s.get("labels_to_95_ratio_is_bound") else "")
            + fmt(s.get("labels_to_95_ratio_to_random"), ".2f"),
            fmt(s.get("spent_share"), ".3f"),
        )
    console.print(table)


@app.command()
@_friendly
def stream(
    project_dir: ProjectDir,
    source: Annotated[
        Path, typer.Argument(help="A folder images arrive in, or a text file listing image paths.")
    ],
    selector: Annotated[str, typer.Option(help="Stream selector.")] = "variable_uncertainty",
    budget: Annotated[float, typer.Option(help="Share of arriving images to label.")] = 0.1,
    watch: Annotated[bool, typer.Option(help="Keep watching the folder for new files.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between looks at the folder.")] = 2.0,
    seconds: Annotated[
        float | None, typer.Option(help="With --watch, stop after this many seconds.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of randomized selectors.")] = 0,
    drift_window: Annotated[
        int, typer.Option(help="Test every this many arrivals for data drift; 0 never.")
    ] = 200,
) -> None:
    """Decide on arriving images one by one; import and queue only those worth labeling.

    Every ``--drift-window`` arrivals (picked or not) are tested for data drift
    against the images the model learned from.
    """
    import time

    from labelloop.loop.streaming import iter_arrivals, stream_images
    from labelloop.strategies.stream import make_stream_selector

    chooser = make_stream_selector(selector, budget=budget, random_state=seed)
    ws = Workspace.open(project_dir)
    if source.is_dir():
        until = None if seconds is None else time.monotonic() + seconds
        arrivals = iter_arrivals(source, watch=watch, interval=interval, until=until)
    elif source.is_file():
        lines = [line.strip() for line in source.read_text().splitlines() if line.strip()]
        arrivals = iter_arrivals(
            [Path(line) for line in lines], watch=False, interval=0, until=None
        )
    else:
        raise FileNotFoundError(f"{source} is neither a folder nor a file listing images")

    window: list[Path] = []
    windows = 0

    def tell(path: Path, picked: bool) -> None:
        nonlocal windows
        err.print(f"{'queued' if picked else 'passed'} {path.name}")
        window.append(path)
        if drift_window and len(window) >= drift_window:
            windows += 1
            _check_window(ws, window, f"stream window {windows}")
            window.clear()

    report = stream_images(ws, arrivals, chooser, on_decision=tell)
    if drift_window and len(window) >= max(10, drift_window // 2):
        _check_window(ws, window, f"stream window {windows + 1}")
    ws.close()
    for path, reason in report.rejected:
        err.print(_styled("[yellow]rejected[/yellow] {}: {}", path, reason))
    s = report.summary()
    console.print(
        f"seen {s['seen']}, queued {s['queued']}, passed {s['passed']}, rejected {s['rejected']}"
    )


def _check_window(ws: Workspace, paths: list[Path], label: str) -> None:
    from labelloop.loop.health import check_window

    found = check_window(ws, paths, label=label)
    if found is not None:
        style = "bold red" if found.alert else "green"
        err.print(f"[{style}]{'alert' if found.alert else 'ok'}[/{style}] {found.summary}")


user_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("add")
@_friendly
def user_add(
    project_dir: ProjectDir,
    username: str,
    role: Annotated[str, typer.Option(help="admin, reviewer or annotator.")] = "annotator",
    password: Annotated[
        str | None, typer.Option(help="Password; default: generate one and print it.")
    ] = None,
) -> None:
    """Add an account to the project's database."""
    import secrets

    from labelloop.server.security import hash_password

    ws = Workspace.open(project_dir)
    secret = password or secrets.token_urlsafe(12)
    if len(secret) < 8:
        raise ValueError("a password needs at least 8 characters")
    user = ws.store.people.create_user(username, hash_password(secret), role)  # type: ignore[arg-type]
    ws.close()
    console.print(f"added {user.username} ({user.role})" + ("" if password else f": {secret}"))


@user_app.command("list")
@_friendly
def user_list(project_dir: ProjectDir, as_json: JsonFlag = False) -> None:
    """Every account: name, role, whether it may sign in."""
    with Workspace.open(project_dir) as ws:
        users = ws.store.people.users()
    rows = [{"username": u.username, "role": u.role, "active": u.active} for u in users]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("user", "role", "active")
    for row in rows:
        table.add_row(str(row["username"]), str(row["role"]), "yes" if row["active"] else "no")
    console.print(table if rows else f"no accounts yet: labelloop user add {project_dir} NAME")


def _set_active(project_dir: Path, username: str, active: bool) -> None:
    with Workspace.open(project_dir) as ws:
        ws.store.people.update_user(username, active=active)
    console.print(f"{'enabled' if active else 'disabled'} {username}")


@user_app.command("disable")
@_friendly
def user_disable(project_dir: ProjectDir, username: str) -> None:
    """Stop an account from signing in; its sessions and tokens end now."""
    _set_active(project_dir, username, False)


@user_app.command("enable")
@_friendly
def user_enable(project_dir: ProjectDir, username: str) -> None:
    """Let a disabled account sign in again."""
    _set_active(project_dir, username, True)


@user_app.command("passwd")
@_friendly
def user_passwd(
    project_dir: ProjectDir,
    username: str,
    password: Annotated[
        str | None, typer.Option(help="New password; default: generate one and print it.")
    ] = None,
) -> None:
    """Set a new password; the account's sessions and tokens end now."""
    import secrets

    from labelloop.server.security import hash_password

    secret = password or secrets.token_urlsafe(12)
    if len(secret) < 8:
        raise ValueError("a password needs at least 8 characters")
    with Workspace.open(project_dir) as ws:
        ws.store.people.update_user(username, password_hash=hash_password(secret))
    console.print(f"new password for {username}" + ("" if password else f": {secret}"))


@user_app.command("tokens")
@_friendly
def user_tokens(
    project_dir: ProjectDir,
    username: str,
    revoke: Annotated[
        int | None, typer.Option(min=1, max=2**63 - 1, help="Withdraw the token with this id.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """An account's API tokens (names and dates, never secrets); --revoke ID withdraws one."""
    with Workspace.open(project_dir) as ws:
        people = ws.store.people
        owner = people.user(username)
        if revoke is not None:
            people.revoke_token(owner.id, revoke)
            console.print(f"withdrew token {revoke} of {username}")
            return
        tokens = people.tokens(owner.id)
    rows = [
        {
            "id": t.id,
            "name": t.name,
            "created": t.created_at.isoformat(timespec="seconds"),
            "expires": None if t.expires_at is None else t.expires_at.isoformat(timespec="seconds"),
            "revoked": None if t.revoked_at is None else t.revoked_at.isoformat(timespec="seconds"),
        }
        for t in tokens
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("id", "name", "created", "expires", "revoked")
    for row in rows:
        table.add_row(*(str(row[k] or "") for k in ("id", "name", "created", "expires", "revoked")))
    console.print(table if rows else f"{username} has no API tokens")


def _accuracy(val: dict[str, Any]) -> str:
    """``0.800 (95% CI 0.49-0.94, 10 images)``: a score on few images says how sure it is."""
    low, high = val.get("accuracy_interval") or (None, None)
    interval = "" if low is None else f"95% CI {low:.2f}-{high:.2f}, "
    return f"{val['accuracy']:.3f} ({interval}{val['n']} images)"


def _check_port(host: str, port: int) -> None:
    """Fail now, before any work, when the address cannot be listened on."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ValueError(f"--host {host!r} is not an address this machine has ({exc})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ValueError(
                f"cannot listen on {host}:{port} ({exc.strerror}); another program (or "
                "another labelloop) is using it: pick a free one with --port"
            ) from None


def _serve(
    project_dir: Path,
    host: str,
    port: int,
    secure_cookies: bool,
    *,
    workers: int = 1,
    external_training: bool = False,
    label_studio: Any = None,
) -> None:
    import uvicorn

    if workers > 1:
        # Each server process builds its own app from the environment.
        os.environ["LABELLOOP_PROJECT"] = str(project_dir.resolve())
        os.environ["LABELLOOP_SECURE_COOKIES"] = "1" if secure_cookies else "0"
        os.environ["LABELLOOP_EXTERNAL_TRAINING"] = "1" if external_training else "0"
        if label_studio is not None:
            os.environ["LABELLOOP_LS_PREFIX"] = label_studio.prefix
            if label_studio.files_root is not None:
                os.environ["LABELLOOP_LS_FILES_ROOT"] = str(label_studio.files_root)
        uvicorn.run(
            "labelloop.server.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
        )
        return
    from labelloop.server.app import create_app

    app_ = create_app(
        project_dir,
        secure_cookies=secure_cookies,
        external_training=external_training,
        label_studio=label_studio,
    )
    uvicorn.run(app_, host=host, port=port, log_level="warning")


@app.command()
@_friendly
def serve(
    project_dir: ProjectDir,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    secure_cookies: Annotated[
        bool, typer.Option(help="Mark session cookies Secure (when served over HTTPS).")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes (more than 1 needs PostgreSQL; training then runs in "
            "'labelloop worker' processes).",
        ),
    ] = 1,
    training: Annotated[
        str,
        typer.Option(
            help="'inline': this process trains in the background; 'worker': queue runs for "
            "'labelloop worker PROJECT' (the only choice with --workers above 1).",
        ),
    ] = "",
    label_studio: Annotated[
        bool,
        typer.Option(
            "--label-studio",
            help="Also serve Label Studio's ML-backend endpoints (health, setup, predict, "
            "webhook, train) under --label-studio-prefix; the shared secret comes from "
            "the LABELLOOP_LS_SECRET environment variable.",
        ),
    ] = False,
    label_studio_prefix: Annotated[
        str, typer.Option(help="Path of the Label Studio endpoints ('' for the root).")
    ] = "/ls",
    label_studio_files: Annotated[
        Path | None,
        typer.Option(
            help="Label Studio's LOCAL_FILES_DOCUMENT_ROOT: local-files images are read "
            "there instead of fetched."
        ),
    ] = None,
) -> None:
    """Run the labeling server: API, annotator UI, dashboard, background retraining."""
    _check_port(host, port)
    ls_options = None
    if label_studio:
        from labelloop.server.routes_labelstudio import LabelStudioOptions

        prefix = label_studio_prefix.rstrip("/")
        if prefix and not prefix.startswith("/"):
            raise ValueError(f"--label-studio-prefix must start with '/', got {prefix!r}")
        secret = os.environ.get("LABELLOOP_LS_SECRET") or None
        ls_options = LabelStudioOptions(prefix=prefix, secret=secret, files_root=label_studio_files)
        if secret is None:
            err.print(
                "warning: the Label Studio endpoints run without a shared secret: anyone "
                "who reaches this port can write labels through them; set LABELLOOP_LS_SECRET"
            )
    mode = training or ("worker" if workers > 1 else "inline")
    if mode not in ("inline", "worker"):
        raise ValueError(f"--training must be inline or worker, not {training!r}")
    with Workspace.open(project_dir) as ws:
        on_sqlite = ws.store.url.startswith("sqlite")
        has_accounts = bool(ws.store.people.users())
    if not has_accounts:
        err.print(
            _styled(
                "[yellow]warning:[/yellow] nobody can sign in yet: add an account with "
                "'labelloop user add {} NAME --role admin'",
                project_dir,
            )
        )
    if workers > 1 and on_sqlite:
        raise ValueError(
            "--workers above 1 needs a PostgreSQL database (SQLite takes one writer at a "
            "time); create the project with 'labelloop init --database-url postgresql+psycopg://…'"
        )
    if workers > 1 and mode == "inline":
        raise ValueError("with --workers above 1, web processes never train: use --training worker")
    console.print(
        f"labelloop serving {project_dir} at http://{host}:{port}/"
        + (f" with {workers} processes" if workers > 1 else "")
    )
    if mode == "worker":
        console.print(f"training runs in: labelloop worker {project_dir}")
    if ls_options is not None:
        console.print(f"Label Studio ML backend at http://{host}:{port}{ls_options.prefix}")
    _serve(
        project_dir,
        host,
        port,
        secure_cookies,
        workers=workers,
        external_training=mode == "worker",
        label_studio=ls_options,
    )


@app.command()
@_friendly
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
    from labelloop.loop.pretrain import PretrainSettings, pretrain_project
    from labelloop.names import BACKBONE_LEARNERS

    if backbone not in BACKBONE_LEARNERS:
        raise ValueError(
            f"--backbone must be one of {', '.join(BACKBONE_LEARNERS)}, not {backbone!r}"
        )
    with Workspace.open(project_dir) as ws:
        n = len(ws.store.items(ws.project.id))
        steps = -(-n // max(2, min(batch_size, max(n, 2))))
        settings = PretrainSettings(backbone=backbone, input_size=input_size, epochs=epochs)
        with _progress() as progress:
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


@app.command("ls-connect")
@_friendly
def ls_connect(
    project_dir: ProjectDir,
    url: Annotated[str, typer.Option(help="Label Studio's base URL, e.g. http://localhost:8080.")],
    ls_project: Annotated[int, typer.Option(min=1, help="The Label Studio project id.")],
    backend_url: Annotated[
        str,
        typer.Option(
            help="Where Label Studio reaches 'labelloop serve --label-studio' "
            "(e.g. http://localhost:8000/ls)."
        ),
    ],
    token_env: Annotated[
        str, typer.Option(help="Environment variable holding a Label Studio API token.")
    ] = "LABEL_STUDIO_TOKEN",
    files_root: Annotated[
        Path | None,
        typer.Option(help="Label Studio's LOCAL_FILES_DOCUMENT_ROOT, to read local files."),
    ] = None,
) -> None:
    """Connect a Label Studio project: labelloop becomes its ML backend and orders its queue.

    Checks the label config against this project, links every task to a pool
    image (importing new ones), adds the running 'labelloop serve
    --label-studio' as the project's ML backend (with LABELLOOP_LS_SECRET as
    basic auth, also on its webhook), sets uncertainty sampling, and starts
    a round whose ranking Label Studio then serves. Safe to run again (to
    link tasks added since).
    """
    from labelloop.loop.labelstudio import LabelStudioClient, connect

    token = os.environ.get(token_env)
    if not token:
        raise ValueError(
            f"set {token_env} to a Label Studio API token (Account & Settings, or the "
            "LABEL_STUDIO_USER_TOKEN it was started with)"
        )
    secret = os.environ.get("LABELLOOP_LS_SECRET") or None
    with Workspace.open(project_dir) as ws, _progress() as progress:
        task = progress.add_task("linking tasks", total=None)
        report = connect(
            ws,
            LabelStudioClient(url, token),
            ls_project,
            backend_url,
            secret=secret,
            files_root=files_root,
            on_task=lambda: progress.advance(task),
        )
    console.print(f"linked {report.linked} Label Studio tasks to pool images")
    for problem in report.failed[:20]:
        err.print(f"  skipped {problem}")
    console.print(
        f"ML backend {report.backend_id} set; sampling: uncertainty; "
        f"{report.webhooks_secured} webhook(s) carry the shared secret"
    )
    console.print(f"training: {report.training}")
    if secret is None:
        err.print("warning: no LABELLOOP_LS_SECRET: the backend accepts anyone who reaches it")


@app.command()
@_friendly
def worker(
    project_dir: ProjectDir,
    once: Annotated[
        bool, typer.Option("--once", help="Run the queued training run, if any, and exit.")
    ] = False,
    poll: Annotated[
        float, typer.Option(min=0.05, max=600, help="Seconds between looks for a queued run.")
    ] = 1.0,
) -> None:
    """Run queued training runs for a server started with --training worker (or --workers N)."""
    import signal
    import threading

    from labelloop.loop.worker import run_worker, worker_name

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    console.print(f"labelloop worker {worker_name()} on {project_dir}; waiting for training runs")

    def report(run_id: int, status: str) -> None:
        console.print(f"training run {run_id}: {status}")

    ran = run_worker(project_dir, poll_seconds=poll, once=once, stop=stop, on_run=report)
    console.print(f"worker stopped after {ran} run(s)")


@app.command()
@_friendly
def demo(
    project_dir: Annotated[Path, typer.Argument(help="Demo project folder.")] = Path(
        "demo-project"
    ),
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    task_type: Annotated[
        str,
        typer.Option("--task", help="classification (digits) or detection (digits on canvases)."),
    ] = "classification",
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Build the project and exit without serving.")
    ] = False,
) -> None:
    """Build a bundled demo project (once) and serve it."""
    from labelloop.loop.demo import build_demo_project, build_detection_demo_project
    from labelloop.server.security import hash_password

    if task_type not in ("classification", "detection"):
        raise ValueError(f"--task must be classification or detection, not {task_type!r}")
    if not no_serve:
        _check_port(host, port)
    build = build_detection_demo_project if task_type == "detection" else build_demo_project
    ws, user, password = build(project_dir, hash_password)
    progress = ws.store.stats.progress(ws.project.id)
    ws.close()
    what = "images with digits to box" if task_type == "detection" else "digits"
    console.print(
        f"demo project {project_dir}: {progress['items']} {what}, {progress['labeled']} labeled"
    )
    if no_serve:
        return
    console.print(
        _styled("open http://{}:{}/ and log in as [bold]{}[/bold] / {}", host, port, user, password)
    )
    _serve(project_dir, host, port, False)


@app.command()
@_friendly
def migrate(project_dir: ProjectDir) -> None:
    """Upgrade the project's database schema to this version of labelloop."""
    import yaml

    from labelloop.store import Store, sqlite_url

    manifest = project_dir / "labelloop.yaml"
    if not manifest.is_file():
        raise FileNotFoundError(f"{project_dir} is not a labelloop project (no labelloop.yaml)")
    url = (yaml.safe_load(manifest.read_text()) or {}).get("database_url") or sqlite_url(
        project_dir / "labelloop.db"
    )
    Store(str(url), create=True).close()
    console.print(f"{project_dir}: schema is up to date")


@app.command("config")
@_friendly
def config_(
    project_dir: ProjectDir,
    assignments: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="key=value (dotted keys for groups: monitor.drift_alpha=0.01; values as YAML: "
            "image_size=[224,224], auto_label_threshold=null); repeatable.",
        ),
    ] = None,
    show_history: Annotated[
        bool, typer.Option("--history", help="List every recorded settings change.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Print the settings as YAML, change them (--set), or list their changes (--history)."""
    from labelloop.loop.settings import apply_settings, parse_assignments

    with Workspace.open(project_dir) as ws:
        if assignments:
            who = f"cli:{getpass.getuser()}"
            changes = apply_settings(ws, parse_assignments(assignments), who=who)
            if as_json:
                typer.echo(json.dumps([c.to_dict() for c in changes], indent=2))
                return
            if not changes:
                console.print("nothing changed: every value was already set")
            for change in changes:
                console.print(
                    f"{change.key}: {json.dumps(change.old)} -> "
                    f"{json.dumps(change.new)} (takes effect {change.effect})"
                )
            return
        if show_history:
            history = ws.store.config_history(ws.project.id)
            rows = [
                {
                    "at": c.created_at.isoformat(timespec="seconds"),
                    "who": c.who,
                    "key": c.key,
                    "old": c.old,
                    "new": c.new,
                    "note": c.note,
                }
                for c in history
            ]
            if as_json:
                typer.echo(json.dumps(rows, indent=2))
                return
            table = Table("when", "who", "setting", "old", "new", "note")
            for row in rows:
                table.add_row(
                    *(str(row[k]) for k in ("at", "who", "key")),
                    json.dumps(row["old"]),
                    json.dumps(row["new"]),
                    str(row["note"]),
                )
            console.print(table if rows else "no settings changed since the project was created")
            return
        if as_json:
            typer.echo(json.dumps(ws.config.to_dict(), indent=2))
            return
        typer.echo(ws.config.to_yaml())


if __name__ == "__main__":
    app()
