"""Project commands: create one, see where it stands, its settings, schema and instructions."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from labelloop.cli._console import (
    JsonFlag,
    ProjectDir,
    accuracy,
    console,
    friendly,
    number,
    styled,
)
from labelloop.config import ProjectConfig
from labelloop.learners.registry import DETECTION_LEARNERS, LEARNERS
from labelloop.loop.workspace import Workspace
from labelloop.strategies.registry import DETECTION_STRATEGIES, STRATEGIES


@friendly
def init(
    project_dir: ProjectDir,
    name: Annotated[str | None, typer.Option(help="Project name.")] = None,
    classes: Annotated[str | None, typer.Option(help="Comma-separated class names.")] = None,
    config: Annotated[Path | None, typer.Option(help="A YAML configuration file.")] = None,
    strategy: Annotated[
        str | None,
        typer.Option(
            help=f"Query strategy: {', '.join(STRATEGIES.names())}; default margin. "
            f"Detection: {', '.join(DETECTION_STRATEGIES.names())}; default entropy_sum."
        ),
    ] = None,
    learner: Annotated[
        str | None,
        typer.Option(
            help=f"Learner: {', '.join(LEARNERS.names())}; default cnn. "
            f"Detection: {', '.join(DETECTION_LEARNERS.names())}; default fcos_tiny."
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
    with Workspace.init(project_dir, cfg, database_url=database_url):
        console.print(styled("Created project [bold]{}[/bold] in {}", cfg.name, project_dir))
        console.print(cfg.to_yaml().rstrip())


@friendly
def status(project_dir: ProjectDir, as_json: JsonFlag = False) -> None:
    """Counts by label source, rounds, and the latest metrics."""
    with Workspace.open(project_dir) as ws:
        report = _status_report(ws)
        batch = ws.config.batch_size
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    table = Table(title=f"project {report['project']}", show_header=False)
    for key in ("items", "labeled", "unlabeled", "rounds"):
        table.add_row(key, str(report[key]))
    # The whole ranking waits to be labeled; a round's batch is only its head.
    table.add_row("ranked to label", f"{report['queued']} (the next batch is the first {batch})")
    for source, count in sorted(report["labels_by_source"].items()):
        table.add_row(f"labels from {source}", str(count))
    latest = report["latest_metrics"]
    val = latest.get("validation") if isinstance(latest, dict) else None
    if isinstance(val, dict) and "map50" in val:
        table.add_row("validation mAP@0.5", number(val["map50"]))
        table.add_row("validation mAP@[.5:.95]", number(val["map"]))
    elif isinstance(latest, dict) and "validation" in latest:
        val = latest["validation"]
        table.add_row("validation accuracy", accuracy(val))
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


def _status_report(ws: Workspace) -> dict[str, Any]:
    pid = ws.project.id
    n_items = len(ws.store.items(pid))
    sources = ws.store.source_counts(pid)
    rounds = ws.store.rounds(pid)
    stopping = ws.store.monitor.latest(pid, "stopping")
    return {
        "project": ws.project.name,
        "items": n_items,
        "labeled": sum(sources.values()),
        "unlabeled": n_items - sum(sources.values()),
        "labels_by_source": sources,
        "rounds": len(rounds),
        "queued": len(ws.store.queue(pid)),
        "latest_metrics": rounds[-1].metrics if rounds else None,
        "decision": "continue" if stopping is None else stopping.body.get("decision"),
        "decision_evidence": None if stopping is None else stopping.summary,
    }


@friendly
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


@friendly
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


@friendly
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


@friendly
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
    with Workspace.open(project_dir) as ws:
        if assignments:
            _set_config(ws, assignments, as_json)
        elif show_history:
            _print_config_history(ws, as_json)
        elif as_json:
            typer.echo(json.dumps(ws.config.to_dict(), indent=2))
        else:
            typer.echo(ws.config.to_yaml())


def _set_config(ws: Workspace, assignments: list[str], as_json: bool) -> None:
    from labelloop.loop.settings import apply_settings, parse_assignments

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


def _print_config_history(ws: Workspace, as_json: bool) -> None:
    rows = [
        {
            "at": c.created_at.isoformat(timespec="seconds"),
            "who": c.who,
            "key": c.key,
            "old": c.old,
            "new": c.new,
            "note": c.note,
        }
        for c in ws.store.config_history(ws.project.id)
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
