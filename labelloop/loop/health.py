"""The monitor run on a project: stopping after each round, drift and outliers on
each import batch, concept drift on the model's errors, label errors on demand.

The checks themselves are array code in :mod:`labelloop.monitor`; this module
feeds them a project's images, embeddings and events, and keeps what they find
as reports and flags in the store, where the CLI, the API and the dashboard
read them.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelloop.errors import LabelloopError
from labelloop.learners import Learner, make_learner
from labelloop.loop.models import latest_learner, project_learner
from labelloop.loop.workspace import Workspace
from labelloop.monitor.concept import detect_concept_drift
from labelloop.monitor.drift import DriftResult, make_drift_test
from labelloop.monitor.label_errors import (
    activelab_scores,
    find_label_errors,
    out_of_sample_probs,
)
from labelloop.monitor.metadata import MetadataCleaner, MetadataTable, ValueRule
from labelloop.monitor.outliers import detect_outliers
from labelloop.monitor.stopping import (
    PoolUncertaintyBelow,
    RoundObservation,
    StabilizingPredictions,
    StoppingReport,
    ValidationPlateau,
    evaluate_stopping,
)
from labelloop.scale import LocalScorer, ScoreRequest
from labelloop.store import (
    FLAG_KINDS,
    REPORT_KINDS,
    FlagInput,
    Item,
    LabelEvent,
    MetadataValue,
    MonitorReport,
)

__all__ = [
    "BatchHealth",
    "MonitorInputError",
    "check_batch",
    "check_concept_drift",
    "check_label_errors",
    "check_window",
    "import_metadata",
    "monitor_overview",
    "observe_round",
    "record_stopping",
]

# Reference images drawn for drift and outlier checks: enough for the tests'
# power, few enough that embedding them stays quick on a CPU.
_MAX_REFERENCE = 2000
# Shifted images flagged per drifted batch.
_FLAG_TOP = 50


class MonitorInputError(LabelloopError, ValueError):
    """The monitor was given something it cannot check (no labels, a bad metadata file)."""


@dataclass(frozen=True)
class BatchHealth:
    """What the monitor found in one batch of new images."""

    drift: MonitorReport | None
    outliers: MonitorReport | None


def _features(ws: Workspace, items: Sequence[Item]) -> NDArray[np.float64]:
    """Embeddings of the latest model, or the images' pixels before there is one."""
    return _features_of(ws, [ws.image_path(item) for item in items])


def _features_of(ws: Workspace, paths: Sequence[Path]) -> NDArray[np.float64]:
    """Embeddings of the latest model (small pixel thumbnails before there is one) of image files.

    Streamed through the pool scorer a chunk at a time, so an import of
    100,000 images is checked without holding them; an image that cannot be
    read gets the mean of the others' features.
    """
    channels, size = ws.input_geometry()
    if size is None:  # detection projects at native size: pixels of same-size images
        return _embed(ws, ws.load_paths(list(paths)))
    shape = (channels, *size)
    learner = _embedder(ws, shape)
    request = ScoreRequest(
        paths=list(paths),
        channels=channels,
        size=size,
        policy=ws.config.resize,
        needs=frozenset({"embeddings"} if learner is not None else {"pixels"}),
    )
    scores = LocalScorer().score(learner, request)
    found = scores.embeddings if learner is not None else scores.pixels
    assert found is not None
    features = np.asarray(found, dtype=np.float64)
    if len(scores.failed) and scores.ok.any():
        features[scores.failed] = features[scores.ok].mean(axis=0)
    return features


def _embedder(ws: Workspace, shape: tuple[int, int, int]) -> Learner | None:
    """What drift and outlier checks embed with: the latest model; in ``embed`` mode,
    before any model, the project's frozen backbone (its embeddings are cached)."""
    if ws.config.task != "classification":
        return None
    learner = latest_learner(ws, shape)
    if learner is None and ws.config.backbone.mode == "embed":
        learner = project_learner(ws, shape)
    return learner


def _embed(ws: Workspace, X: NDArray[np.float32]) -> NDArray[np.float64]:
    shape = (int(X.shape[1]), int(X.shape[2]), int(X.shape[3]))
    learner = _embedder(ws, shape)
    if learner is not None and hasattr(learner, "embed"):
        return np.asarray(learner.embed(X), dtype=np.float64)
    return X.reshape(len(X), -1).astype(np.float64)


def _reference(ws: Workspace, exclude: set[int]) -> list[Item]:
    """The images the current model learned from: people's training labels.

    Before any label exists the reference is the rest of the pool.
    """
    pid = ws.project.id
    labels = ws.store.current_labels(pid)
    items = [i for i in ws.store.items(pid) if i.id not in exclude]
    trained = [
        i for i in items if i.id in labels and labels[i.id].source != "auto" and i.split != "val"
    ]
    chosen = trained if len(trained) >= 20 else items
    if len(chosen) > _MAX_REFERENCE:
        rng = np.random.default_rng(ws.config.seed)
        keep = np.sort(rng.choice(len(chosen), _MAX_REFERENCE, replace=False))
        chosen = [chosen[i] for i in keep]
    return chosen


def check_batch(ws: Workspace, item_ids: Sequence[int], *, label: str = "import") -> BatchHealth:
    """Test a batch of new images for data drift and outliers, and record both.

    Drift compares the batch's embeddings with those of the images the model
    was trained on (:attr:`MonitorConfig.drift_test`); a drifted batch flags its
    most shifted images. Outliers are scored against the same reference; the
    project's outlier policy then decides whether they go to the head of the
    queue, are kept out of selection (at the next round), or are kept.

    Args:
        ws: The open project.
        item_ids: The batch's items.
        label: What the batch was (``import``, ``stream window 3``), for the report.

    Returns:
        The drift and outlier reports, None where the batch or reference was too small.
    """
    cfg, pid = ws.config.monitor, ws.project.id
    wanted = set(item_ids)
    batch = [i for i in ws.store.items(pid) if i.id in wanted]
    reference = _reference(ws, wanted)
    if len(batch) < 2 or len(reference) < 10:
        return BatchHealth(None, None)
    features = _features(ws, [*reference, *batch])
    ref, new = features[: len(reference)], features[len(reference) :]
    drift = _record_drift(ws, batch, ref, new, label)
    outliers = _record_outliers(ws, batch, ref, new, label, cfg.outlier_detector)
    return BatchHealth(drift, outliers)


def check_window(ws: Workspace, paths: Sequence[Path], *, label: str) -> MonitorReport | None:
    """Test a window of arriving images (a stream's, imported or not) for data drift.

    A stream imports only the images it picks, and those are chosen for being
    unusual to the model, so drift is tested on everything that arrived.

    Args:
        ws: The open project.
        paths: The window's image files.
        label: What the window was, for the report.

    Returns:
        The stored report, or None when the window or reference is too small.
    """
    reference = _reference(ws, set())
    if len(paths) < 2 or len(reference) < 10:
        return None
    # One pass through the model for both sides: the learner is loaded once.
    features = _features_of(ws, [*(ws.image_path(item) for item in reference), *paths])
    ref, new = features[: len(reference)], features[len(reference) :]
    return _record_drift(ws, [], ref, new, label, names=[p.name for p in paths])


def _record_drift(
    ws: Workspace,
    batch: list[Item],
    ref: NDArray[np.float64],
    new: NDArray[np.float64],
    label: str,
    *,
    names: Sequence[str] | None = None,
) -> MonitorReport | None:
    cfg = ws.config.monitor
    if len(new) < cfg.drift_min_batch:
        return ws.store.monitor.add_report(
            ws.project.id,
            "data_drift",
            body={"batch": label, "n_batch": len(new), "tested": False},
            summary=(
                f"{label}: {len(new)} images, fewer than monitor.drift_min_batch "
                f"({cfg.drift_min_batch}): not tested for drift (too little power)"
            ),
            alert=False,
        )
    params: dict[str, Any] = {"alpha": cfg.drift_alpha}
    if cfg.drift_test != "ks":
        params["random_state"] = ws.config.seed
    try:
        result: DriftResult = make_drift_test(cfg.drift_test, **params).fit(ref).test(new)
    except LabelloopError:
        return None  # too few images for this test: nothing to say yet
    top = result.most_shifted(10)
    body = result.to_dict() | {"batch": label}
    if names is not None:
        body["top_files"] = [names[int(i)] for i in top]
    else:
        # Not the batch's ids: a report is read on every dashboard refresh, and
        # an import can be 100,000 images. The shifted ones are flagged.
        body["top_items"] = [batch[int(i)].id for i in top]
    verdict = "drift" if result.drifted else "no drift"
    summary = (
        f"{label}: {verdict} ({result.method} p={result.p_value:.3g}, "
        f"{result.n_batch} images vs {result.n_reference})"
    )
    flags = []
    if result.drifted and batch:
        flags = [
            FlagInput(batch[int(i)].id, float(result.scores[int(i)]), {"batch": label})
            for i in result.most_shifted(_FLAG_TOP)
        ]
    return ws.store.monitor.add_report(
        ws.project.id,
        "data_drift",
        body=body,
        summary=summary,
        alert=result.drifted,
        flags=flags,
        flag_kind="drift",
    )


def _record_outliers(
    ws: Workspace,
    batch: list[Item],
    ref: NDArray[np.float64],
    new: NDArray[np.float64],
    label: str,
    method: str,
) -> MonitorReport:
    cfg, pid = ws.config.monitor, ws.project.id
    # Calibrated on the reference: about outlier_rate of ordinary images are flagged.
    params: dict[str, Any] = (
        {"random_state": ws.config.seed, "contamination": cfg.outlier_rate}
        if method == "isolation_forest"
        else {"quantile": 1.0 - cfg.outlier_rate}
    )
    report = detect_outliers(new, method, reference=ref, **params)
    flagged = [batch[int(i)] for i in report.flagged]
    summary = f"{label}: {len(flagged)} of {len(batch)} images are outliers ({method})"
    stored = ws.store.monitor.add_report(
        pid,
        "outliers",
        body={
            "batch": label,
            "method": report.method,
            "threshold": report.threshold,
            "policy": cfg.outlier_policy,
            "flagged_items": [i.id for i in flagged],
        },
        summary=summary,
        alert=bool(flagged),
        flags=[
            FlagInput(item.id, float(report.scores[int(i)]), {"batch": label})
            for item, i in zip(flagged, report.flagged, strict=True)
        ],
        flag_kind="outlier",
    )
    # With review_first, the next round interleaves the flagged images into
    # its ranking (a bounded share, most outlying first): they never push the
    # model's choices out wholesale.
    return stored


def observe_round(
    ws: Workspace,
    items: Sequence[Item],
    probs: NDArray[np.floating],
    human: NDArray[np.bool_],
) -> dict[str, Any]:
    """What the stopping rules need from a round, for its metrics.

    The stop set is drawn once from the unlabeled pool with the project's seed
    and kept by later rounds, even as some of it gets labeled. The share of
    changed predictions is measured on it: a uniform sample of the pool, it
    estimates the pool's share.

    Args:
        ws: The open project.
        items: The pool, in the order of ``probs``.
        probs: ``(n, n_classes)`` the round's model's probabilities for the pool.
        human: ``(n,)`` True where a person labeled the item.

    Returns:
        ``stop_items``, ``stop_predictions``, ``predicted_change`` and ``pool_uncertainty``.
    """
    previous = next(
        (
            r.metrics["monitor"]
            for r in reversed(ws.store.rounds(ws.project.id))
            if "monitor" in r.metrics
        ),
        None,
    )
    position = {item.id: i for i, item in enumerate(items)}
    if previous is not None and all(i in position for i in previous["stop_items"]):
        stop_items = list(previous["stop_items"])
    else:
        # Drawn from the unlabeled pool (Bloodgood & Vijay-Shanker): predictions
        # on training images hardly change and would make the models look stable.
        pool = np.flatnonzero(~human)
        size = min(ws.config.monitor.stop_set_size, len(pool))
        rng = np.random.default_rng(ws.config.seed)
        stop_items = [items[i].id for i in np.sort(rng.choice(pool, size, replace=False))]
    predicted = probs.argmax(axis=1)
    stop_predictions = [int(predicted[position[i]]) for i in stop_items]
    change = None
    if previous is not None and stop_items and previous["stop_items"] == stop_items:
        before = np.asarray(previous["stop_predictions"])
        change = float(np.mean(before != np.asarray(stop_predictions)))
    unlabeled = probs[~human]
    # An empty pool has no uncertainty to measure (not zero uncertainty).
    uncertainty = float(np.mean(1.0 - unlabeled.max(axis=1))) if len(unlabeled) else None
    return {
        "stop_items": stop_items,
        "stop_predictions": stop_predictions,
        "predicted_change": change,
        "pool_uncertainty": uncertainty,
    }


def _observations(ws: Workspace) -> list[RoundObservation]:
    found = []
    for record in ws.store.rounds(ws.project.id):
        watched = record.metrics.get("monitor")
        if watched is None:
            continue
        validation = record.metrics.get("validation") or {}
        found.append(
            RoundObservation(
                n_labeled=int(record.metrics.get("n_labeled", 0)),
                val_accuracy=validation.get("accuracy"),
                val_n=validation.get("n"),
                # An empty stop set (every image labeled at the first model)
                # says nothing about stability: the rule skips such rounds.
                stop_predictions=np.asarray(watched["stop_predictions"], dtype=np.int64)
                if watched["stop_predictions"]
                else None,
                pool_uncertainty=watched.get("pool_uncertainty"),
                predicted_change=watched.get("predicted_change"),
            )
        )
    return found


def stopping_report(ws: Workspace) -> StoppingReport:
    """The stopping rules read over every round the project has run."""
    cfg = ws.config.monitor
    rules = (
        StabilizingPredictions(window=cfg.kappa_window, threshold=cfg.kappa_threshold),
        ValidationPlateau(window=3, min_gain_per_100=cfg.min_gain_per_100),
        PoolUncertaintyBelow(threshold=cfg.uncertainty_threshold),
    )
    return evaluate_stopping(_observations(ws), rules)


def record_stopping(ws: Workspace, round_id: int | None = None) -> MonitorReport:
    """Evaluate the stopping rules and store their verdict ("continue" or "diminishing")."""
    report = stopping_report(ws)
    return ws.store.monitor.add_report(
        ws.project.id,
        "stopping",
        body=report.to_dict(),
        summary=report.summary,
        alert=report.decision == "diminishing",
        round_id=round_id,
    )


def check_concept_drift(ws: Workspace) -> MonitorReport | None:
    """Replay the model's errors on people's labels through the concept-drift detector.

    A drift that raised the error rate is an alert: auto labels made before it
    were made by a model whose idea of the classes no longer holds, so they are
    flagged and the review queue serves them first. The next round also
    weights the labels given since the drift up. A fall in the error rate
    (the model getting better, as it should) is reported without an alert.

    Returns:
        The stored report, or None before any label had a prediction to compare with.
    """
    if ws.config.task != "classification":
        return None
    pid = ws.project.id
    outcomes = ws.store.monitor.prediction_outcomes(pid)
    if not outcomes:
        return None
    method = ws.config.monitor.concept_detector
    report = detect_concept_drift([o.error for o in outcomes], method)
    body: dict[str, Any] = report.to_dict()
    worse = (
        report.last_drift is not None
        and report.error_rate_after is not None
        and report.error_rate_before is not None
        and report.error_rate_after > report.error_rate_before
    )
    flags: list[FlagInput] = []
    if report.last_drift is not None:
        at = outcomes[report.last_drift]
        body |= {"drift_event_id": at.event_id, "drift_at": at.created_at.isoformat()}
        previous = ws.store.monitor.latest(pid, "concept_drift")
        new = previous is None or previous.body.get("drift_event_id") != at.event_id
        if worse and new:
            stale = ws.store.monitor.auto_labeled_before(pid, at.created_at)
            flags = [FlagInput(i, None, {"drift_event_id": at.event_id}) for i in stale]
            body["requeued_auto_labels"] = len(flags)
    body["error_rate_rose"] = worse
    if report.last_drift is None:
        summary = f"no concept drift in {report.n} labels ({method})"
    else:
        direction = "rose" if worse else "fell"
        after = report.error_rate_after
        summary = (
            f"concept drift at label {report.last_drift + 1} of {report.n} ({method}): "
            f"error rate {direction} from {report.error_rate_before:.2f} to "
            + ("n/a" if after is None else f"{after:.2f}")
        )
    return ws.store.monitor.add_report(
        pid,
        "concept_drift",
        body=body,
        summary=summary,
        alert=worse,
        flags=flags,
        flag_kind="concept_drift",
    )


def recent_label_weight(ws: Workspace) -> tuple[str | None, int]:
    """When the last error-raising concept drift happened, and how much to repeat later labels.

    Returns:
        The drift's time (ISO 8601), or None without one, and the number of
        times each label given since should count in training.
    """
    latest = ws.store.monitor.latest(ws.project.id, "concept_drift")
    if latest is None or not latest.alert:
        return None, 1
    return str(latest.body.get("drift_at")), 2


def check_label_errors(ws: Workspace) -> MonitorReport:
    """Find likely wrong labels among people's labels, and flag them for relabeling.

    Out-of-sample probabilities come from a logistic regression cross-validated
    on the latest model's embeddings (pixels before the first model), so no
    item's own label informs its probability; confident learning then picks
    the labels that disagree with them. Flagged items go to the review queue.

    Raises:
        MonitorInputError: Fewer than two classes or too few labels to cross-validate.
    """
    cfg, pid = ws.config, ws.project.id
    if cfg.task != "classification":
        raise MonitorInputError("label-error checks need a classification project")
    labels = ws.store.current_labels(pid)
    pairs = [(i, labels[i.id]) for i in ws.store.items(pid) if i.id in labels]
    pairs = [(i, e) for i, e in pairs if e.source != "auto"]
    y = np.array([cfg.classes.index(e.value) for _, e in pairs], dtype=np.int64)
    if len(pairs) < 2 * cfg.monitor.label_error_folds or len(set(y.tolist())) < 2:
        raise MonitorInputError(
            f"{len(pairs)} labels in {len(set(y.tolist()))} classes are too few to look for "
            f"label errors; label at least {2 * cfg.monitor.label_error_folds} items in two classes"
        )
    features = _features(ws, [i for i, _ in pairs])
    X = features.reshape(len(features), -1, 1, 1).astype(np.float32)

    def model() -> Learner:
        return make_learner(
            "logreg", n_classes=len(cfg.classes), input_shape=X.shape[1:], random_state=cfg.seed
        )

    probs = out_of_sample_probs(
        model, X, y, n_folds=cfg.monitor.label_error_folds, random_state=cfg.seed
    )
    report = find_label_errors(y, probs)
    # Flag score = how badly the item needs another look: 1 - label quality,
    # or, where several people labeled it, 1 - its ActiveLab score. The
    # relabel queue serves the highest first.
    need = {int(i): float(1.0 - report.quality[int(i)]) for i in report.flagged}
    relabel = _activelab_need(ws, pairs, probs)
    for i, (score, disagree) in relabel.items():
        if disagree or i in need:
            need[i] = score
    order = sorted(need, key=lambda i: (-need[i], i))
    how = "confident learning"
    if relabel:
        how += f"; ActiveLab over {len(relabel)} items with several annotators"
    body = report.to_dict() | {
        "items": [pairs[i][0].id for i in order],
        "activelab_items": [pairs[i][0].id for i in sorted(relabel, key=lambda i: -relabel[i][0])],
    }
    return ws.store.monitor.add_report(
        pid,
        "label_errors",
        body=body,
        summary=(
            f"{len(order)} of {len(pairs)} labels need another look (confident learning"
            + (
                f"; ActiveLab over {len(relabel)} items with several annotators)"
                if relabel
                else ")"
            )
        ),
        alert=bool(order),
        flags=[
            FlagInput(
                pairs[i][0].id,
                need[i],
                {"given": pairs[i][1].value, "suggested": cfg.classes[int(probs[i].argmax())]},
            )
            for i in order
        ],
        flag_kind="label_error",
    )


def _activelab_need(
    ws: Workspace, pairs: list[tuple[Item, LabelEvent]], probs: NDArray[np.float64]
) -> dict[int, tuple[float, bool]]:
    """For labeled items two or more people answered: 1 - ActiveLab score, and
    whether the people disagree; keyed by position in ``pairs``."""
    answers = ws.store.monitor.annotations(ws.project.id)
    rows = [n for n, (item, _) in enumerate(pairs) if item.id in answers]
    if not rows:
        return {}
    classes = ws.config.classes
    people = sorted({who for n in rows for who in answers[pairs[n][0].id]})
    matrix = np.full((len(rows), len(people)), np.nan)
    for r, n in enumerate(rows):
        for who, value in answers[pairs[n][0].id].items():
            if value in classes:
                matrix[r, people.index(who)] = classes.index(value)
    scores = activelab_scores(matrix, probs[rows], random_state=ws.config.seed)
    return {
        n: (float(1.0 - scores[r]), len(set(answers[pairs[n][0].id].values())) > 1)
        for r, n in enumerate(rows)
    }


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


def monitor_overview(ws: Workspace) -> dict[str, Any]:
    """The latest report of each kind, and the open flags, as one JSON-ready mapping."""
    pid = ws.project.id
    latest: dict[str, dict[str, Any] | None] = {}
    for kind in REPORT_KINDS:
        report = ws.store.monitor.latest(pid, kind)
        latest[kind] = (
            None
            if report is None
            else {
                "id": report.id,
                "alert": report.alert,
                "summary": report.summary,
                "created_at": report.created_at.isoformat(),
                "body": report.body,
            }
        )
    flags = {kind: len(ws.store.monitor.flagged_items(pid, kind)) for kind in FLAG_KINDS}
    stopping = ws.store.monitor.latest(pid, "stopping")
    decision = "continue" if stopping is None else str(stopping.body.get("decision", "continue"))
    return {"decision": decision, "latest": latest, "open_flags": flags}
