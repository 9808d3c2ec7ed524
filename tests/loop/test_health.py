"""The monitor on a project: stopping after rounds, drift and outliers on imports,
concept drift on the model's errors, label errors, metadata cleaning."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labelloop.config import MonitorConfig, ProjectConfig
from labelloop.data.demo import DIGITS_CLASSES, write_digits
from labelloop.loop import Workspace, run_round
from labelloop.loop.health import (
    MonitorInputError,
    check_batch,
    check_concept_drift,
    check_label_errors,
    check_window,
    import_metadata,
    monitor_overview,
)
from labelloop.store import LabelInput, NewItem, RankedItem


def _copy(folder: Path, dest: Path, per_class: int, skip: int = 0) -> Path:
    """Copy ``per_class`` images of each digit, from a fixed random order of the files.

    The digits file is ordered by writer, so consecutive files are not a
    random sample; slices of one shuffled order are.
    """
    for digit in DIGITS_CLASSES:
        (dest / digit).mkdir(parents=True, exist_ok=True)
        paths = sorted((folder / digit).glob("*.png"))
        order = np.random.default_rng(0).permutation(len(paths))
        for n in order[skip : skip + per_class]:
            path = paths[n]
            (dest / digit / path.name).write_bytes(path.read_bytes())
    return dest


def _project(tmp_path: Path, **monitor: object) -> tuple[Workspace, Path]:
    digits = write_digits(tmp_path / "digits")
    config = ProjectConfig(
        name="digits",
        classes=DIGITS_CLASSES,
        learner="logreg",
        batch_size=10,
        monitor=MonitorConfig.model_validate(monitor),
    )
    ws = Workspace.init(tmp_path / "proj", config)
    ws.import_folder(_copy(digits, tmp_path / "seed", 12), with_labels=True)
    return ws, digits


def _label_truth(ws: Workspace, count: int) -> None:
    """Label ``count`` unlabeled items with the digit their import folder names."""
    labels = ws.store.current_labels(ws.project.id)
    todo = [i for i in ws.store.items(ws.project.id) if i.id not in labels][:count]
    ws.store.record_labels(
        ws.project.id,
        [LabelInput(i.id, i.name.split("/")[0], annotator="t") for i in todo],
    )


def test_rounds_record_stopping_evidence_and_a_verdict(tmp_path: Path) -> None:
    ws, digits = _project(tmp_path, stop_set_size=50)
    ws.import_folder(_copy(digits, tmp_path / "pool", 10, skip=12), with_labels=False)
    seed = set(ws.store.current_labels(ws.project.id))
    for _ in range(4):
        run_round(ws)
        _label_truth(ws, 10)
    rounds = ws.store.rounds(ws.project.id)
    watched = [r.metrics["monitor"] for r in rounds]
    assert len(watched[0]["stop_items"]) == 50
    # Drawn from the unlabeled pool: none of the seed labels is in it.
    assert len(seed) == 120 and not set(watched[0]["stop_items"]) & seed
    assert all(w["stop_items"] == watched[0]["stop_items"] for w in watched)
    assert watched[0]["predicted_change"] is None
    assert 0.0 <= watched[-1]["predicted_change"] <= 1.0
    assert 0.0 < watched[-1]["pool_uncertainty"] < 1.0
    reports = ws.store.monitor.reports(ws.project.id, "stopping")
    assert len(reports) == 4 and reports[0].round_id == rounds[-1].id
    kappa = next(v for v in reports[0].body["verdicts"] if v["rule"] == "stabilizing_predictions")
    assert len(kappa["evidence"]["kappas"]) == 3
    assert monitor_overview(ws)["decision"] in ("continue", "diminishing")


def _import(ws: Workspace, folder: Path) -> list[int]:
    """Import a folder without labels; the new items' ids."""
    before = {i.id for i in ws.store.items(ws.project.id)}
    ws.import_folder(folder, with_labels=False)
    return sorted({i.id for i in ws.store.items(ws.project.id)} - before)


def test_a_fully_labeled_pool_has_no_stop_set_and_no_verdict_from_it(tmp_path: Path) -> None:
    ws, _ = _project(tmp_path, stop_set_size=50)  # every image has a label
    run_round(ws)
    run_round(ws)
    watched = ws.store.rounds(ws.project.id)[-1].metrics["monitor"]
    assert watched["stop_items"] == [] and watched["predicted_change"] is None
    assert watched["pool_uncertainty"] is None
    report = ws.store.monitor.latest(ws.project.id, "stopping")
    assert report is not None and report.body["decision"] == "continue"


def _write_batch(folder: Path, dest: Path, count: int, transform: str) -> Path:
    dest.mkdir(parents=True)
    paths = sorted(folder.glob("*/*.png"))[-count:]
    rng = np.random.default_rng(0)
    for n, path in enumerate(paths):
        pixels = np.asarray(Image.open(path).convert("L"), dtype=np.float64)
        if transform == "invert":
            pixels = 255 - pixels
        elif transform == "noise":
            pixels = rng.uniform(0, 255, pixels.shape)
        Image.fromarray(pixels.astype(np.uint8)).save(dest / f"{transform}_{n}.png")
    return dest


def test_a_shifted_batch_is_flagged_and_a_clean_one_is_not(tmp_path: Path) -> None:
    ws, digits = _project(tmp_path)
    clean = _import(ws, _copy(digits, tmp_path / "clean", 6, skip=100))
    health = check_batch(ws, clean, label="clean")
    assert health.drift is not None and not health.drift.alert
    shifted = _import(ws, _write_batch(digits, tmp_path / "inv", 60, "invert"))
    health = check_batch(ws, shifted, label="inverted")
    assert health.drift is not None and health.drift.alert
    assert health.drift.body["p_value"] < 0.01
    assert ws.store.monitor.flagged_items(ws.project.id, "drift") <= set(shifted)
    assert monitor_overview(ws)["latest"]["data_drift"]["alert"] is True


def test_noise_images_are_outliers_and_reviewed_first(tmp_path: Path) -> None:
    ws, digits = _project(tmp_path)
    clean = _import(ws, _copy(digits, tmp_path / "clean", 4, skip=100))
    noise = _import(ws, _write_batch(digits, tmp_path / "noise", 3, "noise"))
    run_round(ws)
    health = check_batch(ws, clean + noise, label="mixed")
    assert health.outliers is not None
    planted = set(noise)
    assert planted <= ws.store.monitor.flagged_items(ws.project.id, "outlier")
    # The next round puts them up for review, one in every ten places: the
    # model still chooses nine of every ten items.
    result = run_round(ws)
    head = [item.id for item, _ in ws.store.queue(ws.project.id, limit=30)]
    assert {head[0], head[10], head[20]} == planted
    assert not planted & (set(head) - {head[0], head[10], head[20]})
    assert (result.metrics.outliers_for_review or 0) >= 3  # plus an ordinary image, at times


def test_ordinary_images_are_rarely_flagged_and_never_take_over_the_queue(
    tmp_path: Path,
) -> None:
    """An import from the same source as the project's images: about 1% flagged, and the
    model still picks the batch (an import once took ranks 1-40 with 40 of 120 flagged)."""
    ws, digits = _project(tmp_path)
    batch = _import(ws, _copy(digits, tmp_path / "more", 12, skip=100))
    run_round(ws)
    health = check_batch(ws, batch, label="more of the same")
    assert health.outliers is not None
    flagged = ws.store.monitor.flagged_items(ws.project.id, "outlier")
    assert len(flagged) <= 0.02 * len(batch) + 1, f"{len(flagged)} of {len(batch)} flagged"
    run_round(ws)
    first_batch = [item.id for item, _ in ws.store.queue(ws.project.id, limit=10)]
    assert len(set(first_batch) & flagged) <= 1


def test_a_small_batch_is_not_tested_for_drift(tmp_path: Path) -> None:
    ws, digits = _project(tmp_path)
    small = _import(ws, _copy(digits, tmp_path / "few", 2, skip=100))  # 20 images
    health = check_batch(ws, small, label="a few")
    assert health.drift is not None and not health.drift.alert
    assert "not tested for drift" in health.drift.summary


def test_excluded_outliers_are_not_ranked(tmp_path: Path) -> None:
    ws, digits = _project(tmp_path, outlier_policy="exclude")
    clean = _import(ws, _copy(digits, tmp_path / "clean", 4, skip=100))
    noise = _import(ws, _write_batch(digits, tmp_path / "noise", 3, "noise"))
    check_batch(ws, clean + noise, label="mixed")
    run_round(ws)
    ranked = {item.id for item, _ in ws.store.queue(ws.project.id)}
    assert ranked and not ranked & set(noise)


def test_concept_drift_requeues_older_auto_labels(tmp_path: Path) -> None:
    config = ProjectConfig(name="c", classes=("a", "b"), learner="logreg")
    ws = Workspace.init(tmp_path / "c", config)
    pid = ws.project.id
    items = ws.store.add_items(
        pid,
        [
            NewItem(f"{i:064x}", f"{i}.png", f"{i}.png", 8, 8, "L", "PNG", 1, None)
            for i in range(1300)
        ],
    ).added
    old_auto = items[1200:1210]
    for item in old_auto:
        ws.store.record_label(pid, item.id, "a", source="auto", model_version="m", confidence=0.99)
    snapshot = ws.store.create_snapshot(pid)
    ws.store.add_round(
        pid,
        snapshot_id=snapshot.id,
        model_id=None,
        strategy="margin",
        ranking=[RankedItem(i.id, 0.5, "a", 0.9) for i in items[:1200]],
        batch_size=10,
        metrics={},
    )
    rng = np.random.default_rng(0)
    # 800 labels at a 5% error rate, then 400 at 50%: what "a" means has changed.
    wrong = np.concatenate([rng.random(800) < 0.05, rng.random(400) < 0.5])
    ws.store.record_labels(
        pid,
        [
            LabelInput(item.id, "b" if bad else "a", annotator="t")
            for item, bad in zip(items[:1200], wrong, strict=True)
        ],
    )
    report = check_concept_drift(ws)
    assert report is not None and report.alert
    assert report.body["last_drift"] >= 800
    assert ws.store.monitor.flagged_items(pid, "concept_drift") == {i.id for i in old_auto}
    # Checking again finds the same drift and does not flag anything twice.
    again = check_concept_drift(ws)
    assert again is not None and "requeued_auto_labels" not in again.body
    reviewer = ws.store.people.create_user("rev", "x", "reviewer")
    served = ws.store.leases.serve(pid, reviewer.id, kind="review", ttl=timedelta(minutes=5))
    assert served is not None and served.item.id in {i.id for i in old_auto}


def test_no_concept_drift_on_a_steady_error_rate(tmp_path: Path) -> None:
    config = ProjectConfig(name="c", classes=("a", "b"), learner="logreg")
    ws = Workspace.init(tmp_path / "c", config)
    pid = ws.project.id
    items = ws.store.add_items(
        pid,
        [
            NewItem(f"{i:064x}", f"{i}.png", f"{i}.png", 8, 8, "L", "PNG", 1, None)
            for i in range(600)
        ],
    ).added
    snapshot = ws.store.create_snapshot(pid)
    ws.store.add_round(
        pid,
        snapshot_id=snapshot.id,
        model_id=None,
        strategy="margin",
        ranking=[RankedItem(i.id, 0.5, "a", 0.9) for i in items],
        batch_size=10,
        metrics={},
    )
    rng = np.random.default_rng(1)
    wrong = rng.random(600) < 0.05
    ws.store.record_labels(
        pid,
        [
            LabelInput(i.id, "b" if bad else "a", annotator="t")
            for i, bad in zip(items, wrong, strict=True)
        ],
    )
    report = check_concept_drift(ws)
    assert report is not None and not report.alert
    assert ws.store.monitor.flagged_items(pid, "concept_drift") == set()


def test_flipped_labels_are_flagged_for_relabeling(tmp_path: Path) -> None:
    digits = write_digits(tmp_path / "digits")
    config = ProjectConfig(name="d", classes=DIGITS_CLASSES, learner="logreg")
    ws = Workspace.init(tmp_path / "proj", config)
    ws.import_folder(_copy(digits, tmp_path / "seed", 30), with_labels=False)
    pid = ws.project.id
    items = ws.store.items(pid)
    rng = np.random.default_rng(0)
    flipped = {items[i].id for i in rng.choice(len(items), 15, replace=False)}
    # One person labels everything, 15 wrongly: only confident learning can tell.
    ws.store.record_labels(
        pid,
        [
            LabelInput(
                i.id,
                str((int(digit) + 3) % 10) if i.id in flipped else digit,
                annotator="t",
            )
            for i in items
            for digit in [i.name.split("/")[0]]
        ],
    )
    steps: list[tuple[str, float]] = []
    report = check_label_errors(ws, on_progress=lambda step, done: steps.append((step, done)))
    folds = ws.config.monitor.label_error_folds
    assert [step for step, _ in steps] == [
        "embedding",
        *(f"fold {k}/{folds}" for k in range(1, folds + 1)),
        "ranking",
        "done",
    ]
    shares = [done for _, done in steps]
    assert shares == sorted(shares) and shares[0] == 0.0 and shares[-1] == 1.0
    found = ws.store.monitor.flagged_items(pid, "label_error")
    assert report.alert and "ActiveLab" not in report.summary
    assert len(found & flipped) >= 10  # recall of the planted flips ≥ 2/3
    assert len(found & flipped) >= 0.5 * len(found)  # and most flags are real


def test_activelab_orders_items_people_disagree_on(tmp_path: Path) -> None:
    digits = write_digits(tmp_path / "digits")
    config = ProjectConfig(name="d", classes=DIGITS_CLASSES, learner="logreg")
    ws = Workspace.init(tmp_path / "proj", config)
    ws.import_folder(_copy(digits, tmp_path / "seed", 20), with_labels=True)
    pid = ws.project.id
    items = ws.store.items(pid)
    truth = {i.id: i.name.split("/")[0] for i in items}
    agreed, disputed = items[:5], items[5:10]
    # A second person labels ten items: agreeing on five, disagreeing on five.
    ws.store.record_labels(
        pid,
        [LabelInput(i.id, truth[i.id], annotator="sam") for i in agreed]
        + [LabelInput(i.id, str((int(truth[i.id]) + 1) % 10), annotator="sam") for i in disputed],
    )
    report = check_label_errors(ws)
    assert sorted(report.body["activelab_items"]) == sorted(i.id for i in items[:10])
    flagged = ws.store.monitor.flagged_items(pid, "label_error")
    assert {i.id for i in disputed} <= flagged
    assert "ActiveLab over 10 items" in report.summary
    # Agreement with correct labels is no reason to look again.
    assert not flagged & {i.id for i in agreed}
    needs = {f.item_id: f.score for f in ws.store.monitor.flags(pid, "label_error")}
    assert all(0.0 <= (needs[i.id] or 0.0) <= 1.0 and needs[i.id] is not None for i in disputed)


def test_a_stream_window_of_shifted_images_is_flagged(tmp_path: Path) -> None:
    ws, digits = _project(tmp_path)
    shifted = _write_batch(digits, tmp_path / "inv", 60, "invert")
    report = check_window(ws, sorted(shifted.iterdir()), label="window 1")
    assert report is not None and report.alert
    assert report.body["top_files"][0].startswith("invert_")
    # Nothing was imported, so nothing is flagged: the window is only reported.
    assert ws.store.monitor.flagged_items(ws.project.id, "drift") == set()


def test_label_errors_need_enough_labels(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "e", ProjectConfig(name="e", classes=("a", "b")))
    with pytest.raises(MonitorInputError, match="too few"):
        check_label_errors(ws)


def test_metadata_cleaning_changes_exactly_the_planted_values(tmp_path: Path) -> None:
    ws, _ = _project(tmp_path, metadata_rules={"speed": (0.0, None)}, winsorize=(0.05, 0.95))
    items = ws.store.items(ws.project.id)[:40]
    speeds: list[str] = [f"{10 + (n % 7)}" for n in range(40)]
    speeds[3], speeds[8], speeds[20] = "-5", "", "10000"
    csv_path = tmp_path / "meta.csv"
    csv_path.write_text(
        "filename,speed\n" + "".join(f"{i.name},{s}\n" for i, s in zip(items, speeds, strict=True))
    )
    report = import_metadata(ws, csv_path)
    changed = {(c["row"], c["reason"]) for c in report.body["changes"]}
    assert changed == {(3, "impossible"), (8, "missing"), (20, "clipped_high")}
    stored = {v.item_id: v for v in ws.store.monitor.metadata(ws.project.id)}
    imputed = stored[items[3].id].cleaned
    assert stored[items[3].id].original == -5.0 and imputed is not None and imputed >= 0
    assert stored[items[8].id].original is None and stored[items[8].id].cleaned is not None
    assert stored[items[20].id].original == 10000.0
    clipped = stored[items[20].id].cleaned
    assert clipped is not None and clipped <= 16
    assert stored[items[0].id].cleaned == stored[items[0].id].original == 10.0


def test_metadata_for_unknown_files_is_refused(tmp_path: Path) -> None:
    ws, _ = _project(tmp_path)
    csv_path = tmp_path / "meta.csv"
    csv_path.write_text("filename,speed\nnope.png,3\n")
    with pytest.raises(MonitorInputError, match="line 2"):
        import_metadata(ws, csv_path)
    assert ws.store.monitor.metadata(ws.project.id) == []


def test_health_is_the_monitoring_package_under_its_old_name() -> None:
    import labelloop.loop.health as health
    import labelloop.loop.monitoring as monitoring

    assert health.__all__, "the facade must export the checks"
    for name in health.__all__:
        assert getattr(health, name) is getattr(monitoring, name), name
    assert health.check_batch.__module__ == "labelloop.loop.monitoring.batch"
