"""Numeric metadata of a project's images: read from a CSV, cleaned, stored beside the originals."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from labelloop.loop.monitoring.errors import MonitorInputError
from labelloop.loop.workspace import Workspace
from labelloop.monitor.metadata import MetadataCleaner, MetadataTable, ValueRule
from labelloop.store import MetadataValue, MonitorReport

__all__ = ["import_metadata"]


def import_metadata(ws: Workspace, csv_path: Path) -> MonitorReport:
    """Read numeric metadata (a CSV: ``filename`` then numeric columns) and clean it.

    Impossible values (the project's ``monitor.metadata_rules``) and missing
    ones are imputed, extreme ones clipped to quantiles of the values already
    stored (of this file, the first time); originals are kept beside the
    cleaned values and every change is in the report.

    Raises:
        MonitorInputError: The file has no ``filename`` column or names unknown files.
    """
    pid, cfg = ws.project.id, ws.config.monitor
    with csv_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "filename" not in rows[0]:
        raise MonitorInputError(f"{csv_path}: the first column must be 'filename'")
    by_name = {i.name: i for i in ws.store.items(pid)}
    unknown = [(n, r["filename"]) for n, r in enumerate(rows, 2) if r["filename"] not in by_name]
    if unknown:
        line, name = unknown[0]
        raise MonitorInputError(
            f"{csv_path}, line {line}: no image named {name!r} in the project "
            f"({len(unknown)} unknown in all); import the images first"
        )
    columns = [c for c in rows[0] if c != "filename"]
    table: MetadataTable = {c: [r[c] or None for r in rows] for c in columns}
    known = ws.store.monitor.metadata(pid)
    reference: MetadataTable = {c: [v.original for v in known if v.column == c] for c in columns}
    if not all(len(v) >= 10 for v in reference.values()):
        reference = table  # first file: it is its own reference
    rules = [ValueRule(c, *cfg.metadata_rules[c]) for c in columns if c in cfg.metadata_rules]
    cleaner = MetadataCleaner(rules=rules, winsorize=cfg.winsorize, impute=cfg.impute)
    result = cleaner.fit(reference).transform(table)
    changes = result.to_records()
    report = ws.store.monitor.add_report(
        pid,
        "metadata",
        body={"file": csv_path.name, "columns": columns, "changes": changes},
        summary=f"{csv_path.name}: {len(rows)} rows, {len(changes)} values cleaned",
        alert=bool(changes),
    )
    reasons = {(c["row"], c["column"]): str(c["reason"]) for c in changes}
    values = [
        MetadataValue(
            by_name[row["filename"]].id,
            column,
            _finite(result.original[column][n]),
            _finite(result.cleaned[column][n]),
            reasons.get((n, column)),
        )
        for n, row in enumerate(rows)
        for column in columns
    ]
    ws.store.monitor.record_metadata(pid, values, report_id=report.id)
    return report


def _finite(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)
