"""Images in and labels out: import, export, and streams of arriving images."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.text import Text

from labelloop.cli._console import ProjectDir, console, err, friendly, progress_bar, styled
from labelloop.loop.export import ExportFormat, export_bytes
from labelloop.loop.workspace import ImportReport, Workspace

if TYPE_CHECKING:
    from labelloop.data.formats import FormatName


@friendly
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
    with Workspace.open(project_dir) as ws:
        before = {i.id for i in ws.store.items(ws.project.id)}
        if fmt is not None:
            _import_detections(ws, fmt, source, images, annotator)
        else:
            _import_folder(ws, source, labels, with_labels=not unlabeled, annotator=annotator)
        if check:
            _check_new_items(ws, before, label=f"import {source.name}")


def _import_folder(
    ws: Workspace, source: Path, labels: Path | None, *, with_labels: bool, annotator: str | None
) -> None:
    total = sum(1 for p in source.rglob("*") if p.is_file()) if source.is_dir() else None
    with progress_bar() as progress:
        task = progress.add_task("importing", total=total)
        report = ws.import_folder(
            source,
            labels,
            with_labels=with_labels,
            annotator=annotator,
            on_file=lambda: progress.advance(task),
        )
    _print_rejected(report)
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
        err.print(styled("[red]error:[/red] no file was imported; the reasons are listed above"))
        raise typer.Exit(1)


def _print_rejected(report: ImportReport) -> None:
    for rejected in report.rejected:
        err.print(styled("[yellow]rejected[/yellow] {}: {}", rejected.path, rejected.reason))


def _check_new_items(ws: Workspace, before: set[int], *, label: str) -> None:
    """Drift and outlier checks on the items an import added, printed as alerts."""
    from labelloop.loop.health import check_batch

    added = [i.id for i in ws.store.items(ws.project.id) if i.id not in before]
    health = check_batch(ws, added, label=label)
    for found in (health.drift, health.outliers):
        if found is not None:
            console.print(_verdict(found.alert, found.summary))


def _verdict(alert: bool, summary: str) -> Text:
    """``alert``/``ok`` in colour where the terminal shows it, then the check's summary."""
    return styled("[bold red]alert[/bold red] {}" if alert else "[green]ok[/green] {}", summary)


def _detection_format(fmt: str) -> FormatName:
    from labelloop.data.formats import DETECTION_FORMATS

    if fmt not in DETECTION_FORMATS:
        names = ", ".join(DETECTION_FORMATS.names())
        raise ValueError(f"--format must be one of {names}, not {fmt!r}")
    return fmt


def _import_detections(
    ws: Workspace, fmt: str, source: Path, images: Path | None, annotator: str | None
) -> None:
    from labelloop.loop.detection_io import import_detections

    with progress_bar() as progress:
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
        err.print(styled("[yellow]problem[/yellow] {}", problem))
    _print_rejected(report)
    s = report.summary()
    console.print(
        f"imported {s['imported']} ({s['labeled']} labeled), duplicate {s['duplicate']}, "
        f"rejected {s['rejected']}, problems {s['problems']}"
    )


@friendly
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
    with Workspace.open(project_dir) as ws:
        detection = ws.config.task == "detection"
        plain = ("csv", "json") if detection else ("csv", "json", "imagefolder")
        if fmt not in plain:
            from labelloop.data.formats import DETECTION_FORMATS

            if not detection or fmt not in DETECTION_FORMATS:
                allowed = ", ".join((*plain, *(DETECTION_FORMATS.names() if detection else ())))
                raise ValueError(
                    f"--format must be one of {allowed} for this {ws.config.task} "
                    f"project, not {fmt!r}"
                )
            _export_detections(ws, _detection_format(fmt), dest or output, snapshot, include_auto)
            return
        data = export_bytes(ws, cast(ExportFormat, fmt), snapshot, include_auto=include_auto)
    target = output or dest
    if target is not None:
        target.write_bytes(data)
        err.print(f"wrote {target}")
    elif fmt == "imagefolder":
        raise ValueError("an ImageFolder export is a zip file: give --output FILE.zip")
    else:
        sys.stdout.write(data.decode())


def _export_detections(
    ws: Workspace, fmt: FormatName, dest: Path | None, snapshot: int | None, include_auto: bool
) -> None:
    from labelloop.loop.detection_io import export_detections

    if dest is None:
        raise ValueError(f"a {fmt} export is written to files: give DEST after the project")
    written = export_detections(ws, fmt, dest, snapshot=snapshot, include_auto=include_auto)
    n_images = sum(1 for path in written[1:] if path.suffix.lower() != ".xml")
    console.print(f"wrote {fmt} annotations to {dest} ({len(written)} files, {n_images} images)")


@friendly
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
    with Workspace.open(project_dir) as ws:
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
    for path, reason in report.rejected:
        err.print(styled("[yellow]rejected[/yellow] {}: {}", path, reason))
    s = report.summary()
    console.print(
        f"seen {s['seen']}, queued {s['queued']}, passed {s['passed']}, rejected {s['rejected']}"
    )


def _check_window(ws: Workspace, paths: list[Path], label: str) -> None:
    from labelloop.loop.health import check_window

    found = check_window(ws, paths, label=label)
    if found is not None:
        err.print(_verdict(found.alert, found.summary))
