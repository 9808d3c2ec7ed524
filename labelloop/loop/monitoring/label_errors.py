"""Label errors on a project: cross-validated probabilities, confident learning, ActiveLab.

The search fits one model per fold, seconds to minutes on a large project:
the CLI runs it in the foreground, the server as a background job that
reports its progress through ``on_progress``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from labelloop.learners import Learner, make_learner
from labelloop.loop.monitoring._features import features
from labelloop.loop.monitoring.errors import MonitorInputError
from labelloop.loop.workspace import Workspace
from labelloop.monitor.label_errors import activelab_scores, out_of_sample_probs
from labelloop.monitor.registry import LABEL_ERROR_FINDERS
from labelloop.store import FlagInput, Item, LabelEvent, MonitorReport

__all__ = ["Progress", "check_label_errors", "label_error_inputs"]

Progress = Callable[[str, float], None]
"""Called with a step's name and the share of the whole search done, in [0, 1]."""


def check_label_errors(ws: Workspace, *, on_progress: Progress | None = None) -> MonitorReport:
    """Find likely wrong labels among people's labels, and flag them for relabeling.

    Out-of-sample probabilities come from a logistic regression cross-validated
    on the latest model's embeddings (pixels before the first model), so no
    item's own label informs its probability; confident learning then picks
    the labels that disagree with them. Flagged items go to the review queue.

    Args:
        ws: The open project.
        on_progress: Told each step (``embedding``, ``fold 2/5``, ``ranking``) and
            the share done.

    Returns:
        The stored ``label_errors`` report.

    Raises:
        MonitorInputError: Fewer than two classes or too few labels to cross-validate.
    """
    progress: Progress = on_progress or (lambda step, done: None)
    cfg, pid = ws.config, ws.project.id
    pairs, y = label_error_inputs(ws)
    folds = cfg.monitor.label_error_folds
    progress("embedding", 0.0)
    found = features(ws, [i for i, _ in pairs])
    X = found.reshape(len(found), -1, 1, 1).astype(np.float32)

    def model() -> Learner:
        return make_learner(
            "logreg", n_classes=len(cfg.classes), input_shape=X.shape[1:], random_state=cfg.seed
        )

    probs = out_of_sample_probs(
        model,
        X,
        y,
        n_folds=folds,
        random_state=cfg.seed,
        on_fold=lambda done, total: progress(f"fold {done}/{total}", 0.1 + 0.8 * done / total),
    )
    progress("ranking", 0.9)
    report = LABEL_ERROR_FINDERS.create("confident_learning").fit(y, probs).report_
    # Flag score = how badly the item needs another look: 1 - label quality,
    # or, where several people labeled it, 1 - its ActiveLab score. The
    # relabel queue serves the highest first.
    need = {int(i): float(1.0 - report.quality[int(i)]) for i in report.flagged}
    relabel = _activelab_need(ws, pairs, probs)
    for i, (score, disagree) in relabel.items():
        if disagree or i in need:
            need[i] = score
    order = sorted(need, key=lambda i: (-need[i], i))
    body = report.to_dict() | {
        "items": [pairs[i][0].id for i in order],
        "activelab_items": [pairs[i][0].id for i in sorted(relabel, key=lambda i: -relabel[i][0])],
    }
    how = "confident learning"
    if relabel:
        how += f"; ActiveLab over {len(relabel)} items with several annotators"
    stored = ws.store.monitor.add_report(
        pid,
        "label_errors",
        body=body,
        summary=f"{len(order)} of {len(pairs)} labels need another look ({how})",
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
    progress("done", 1.0)
    return stored


def label_error_inputs(ws: Workspace) -> tuple[list[tuple[Item, LabelEvent]], NDArray[np.int64]]:
    """People's labels the search would read, checked: quick, for refusing a search up front.

    Args:
        ws: The open project.

    Returns:
        The labeled items with their current human label, and ``(n,)`` their class indices.

    Raises:
        MonitorInputError: Not a classification project, or fewer than two
            classes or too few labels to cross-validate.
    """
    cfg, pid = ws.config, ws.project.id
    if cfg.task != "classification":
        raise MonitorInputError("label-error checks need a classification project")
    labels = ws.store.current_labels(pid)
    pairs = [(i, labels[i.id]) for i in ws.store.items(pid) if i.id in labels]
    pairs = [(i, e) for i, e in pairs if e.source != "auto"]
    y = np.array([cfg.classes.index(e.value) for _, e in pairs], dtype=np.int64)
    folds = cfg.monitor.label_error_folds
    if len(pairs) < 2 * folds or len(set(y.tolist())) < 2:
        raise MonitorInputError(
            f"{len(pairs)} labels in {len(set(y.tolist()))} classes are too few to look for "
            f"label errors; label at least {2 * folds} items in two classes"
        )
    return pairs, y


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
