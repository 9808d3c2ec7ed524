"""Labeling from the command line: the next batch, labels from a CSV, an item's history."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from labelloop.cli._console import JsonFlag, ProjectDir, console, err, friendly
from labelloop.loop.workspace import Workspace
from labelloop.store import LabelEvent, LabelInput


@friendly
def query(
    project_dir: ProjectDir,
    as_json: JsonFlag = False,
    limit: Annotated[
        int | None, typer.Option(help="How many to show; default the project's batch size.")
    ] = None,
) -> None:
    """The next batch of the latest ranking, still unlabeled, most informative first."""
    with Workspace.open(project_dir) as ws:
        queue = ws.store.queue(ws.project.id, limit=limit or ws.config.batch_size)
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


@friendly
def label(
    project_dir: ProjectDir,
    labels_csv: Annotated[Path, typer.Argument(help="CSV with columns item,label.")],
    annotator: Annotated[str, typer.Option(help="Who made these labels.")],
) -> None:
    """Record labels from a CSV, all or none, attributed to an annotator."""
    with Workspace.open(project_dir) as ws:
        inputs = _read_label_rows(ws, labels_csv, annotator)
        events = ws.store.record_labels(ws.project.id, inputs)
    console.print(f"recorded {len(events)} labels by {annotator}")


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


@friendly
def history(project_dir: ProjectDir, item: str, as_json: JsonFlag = False) -> None:
    """Every label event of one item (by id, sha256 or imported name)."""
    with Workspace.open(project_dir) as ws:
        found = ws.store.find_items(ws.project.id, item)
        if not found:
            raise LookupError(
                f"no item has the id, sha256 or imported name {item!r}; "
                f"'labelloop query {project_dir}' lists items with their ids"
            )
        if len(found) > 1:
            raise LookupError(f"{len(found)} items match {item!r}; use the item id")
        events = [_event_dict(e) for e in ws.store.history(ws.project.id, found[0].id)]
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
