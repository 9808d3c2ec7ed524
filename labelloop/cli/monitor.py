"""The ``monitor`` command: whether to keep labeling, drift, outliers and label errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from labelloop.cli._console import JsonFlag, ProjectDir, console, err, friendly
from labelloop.loop.workspace import Workspace
from labelloop.store import FLAG_KINDS, REPORT_KINDS


@friendly
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

    with Workspace.open(project_dir) as ws:
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
        flags: dict[str, list[dict[str, Any]]] = {
            kind: [
                {"item": f.item_id, "name": f.item_name, "score": f.score, "detail": f.detail}
                for f in ws.store.monitor.flags(ws.project.id, kind, limit=10)
            ]
            for kind in FLAG_KINDS
        }
    if as_json:
        typer.echo(json.dumps(overview | {"top_flags": flags}, indent=2, default=str))
        return
    _print_overview(overview, flags)


def _print_overview(overview: dict[str, Any], flags: dict[str, list[dict[str, Any]]]) -> None:
    decision = overview["decision"]
    style = "bold yellow" if decision == "diminishing" else "bold green"
    words = "returns are diminishing" if decision == "diminishing" else "continue labeling"
    console.print(Text(words, style=style))
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
