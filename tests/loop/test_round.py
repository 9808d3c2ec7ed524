"""A project round: cold start, fit on the snapshot, queue the unlabeled top of the ranking."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelloop.config import ProjectConfig
from labelloop.data.demo import DIGITS_CLASSES, digits_arrays, write_digits
from labelloop.loop import Workspace, run_round
from labelloop.store import LabelInput


def _truth(ws: Workspace) -> dict[int, str]:
    """Each item's true digit, from its import name ``<digit>/digit_<index>.png``."""
    return {item.id: item.name.split("/")[0] for item in ws.store.items(ws.project.id)}


def test_cold_start_queues_a_random_batch_without_a_model(ws: Workspace) -> None:
    result = run_round(ws)
    assert result.round.strategy == "random" and result.round.model_id is None
    assert len(result.round.selected) == 8 == len(set(result.round.selected))
    queue = [item.id for item, _ in ws.store.queue(ws.project.id)]
    # The ranking covers the whole unlabeled pool; the batch is its head.
    assert queue[:8] == result.round.selected
    assert sorted(queue) == [item.id for item in ws.store.items(ws.project.id)]


def test_cold_start_with_typiclust_covers_the_classes(tmp_path: Path) -> None:
    folder = write_digits(tmp_path / "digits")
    config = ProjectConfig(
        name="cold", classes=DIGITS_CLASSES, learner="logreg", batch_size=10, cold_start="typiclust"
    )
    ws = Workspace.init(tmp_path / "proj", config)
    ws.import_folder(folder, with_labels=False)
    result = run_round(ws)
    assert result.round.strategy == "typiclust" and result.round.model_id is None
    truth = _truth(ws)
    picked = {truth[i] for i in result.round.selected}
    # Ten typical points of ten clusters of digit pixels cover most digits;
    # ten random draws cover about 6.5 on average.
    assert len(picked) >= 8


def test_rounds_fit_record_and_queue_unlabeled_items(ws: Workspace) -> None:
    pid = ws.project.id
    truth = _truth(ws)
    labeled: set[int] = set()
    for _ in range(4):
        queued = [item.id for item, _ in ws.store.queue(pid, limit=8)] or run_round(
            ws
        ).round.selected
        ws.store.record_labels(pid, [LabelInput(i, truth[i], annotator="t") for i in queued])
        labeled |= set(queued)
        result = run_round(ws)
        assert not set(result.round.selected) & labeled
        assert result.metrics.n_labeled == len(labeled)
    assert result.round.strategy == "margin" and result.round.model_id is not None
    model = ws.store.model(result.round.model_id)
    assert (ws.root / str(model.path)).is_file()
    assert (result.metrics.n_val or 0) >= 1 and "accuracy" in (result.metrics.validation or {})
    assert "ece_before_calibration" in (result.metrics.calibration or {})
    scores = [s for _, s in ws.store.queue(pid)]
    known = [s for s in scores if s is not None]
    assert len(known) == len(scores) and known == sorted(known, reverse=True)
    snapshot_labels = ws.store.snapshot_labels(pid, result.round.snapshot_id)
    assert {item.id for item, e in snapshot_labels if e.source == "human"} == labeled


def test_confident_predictions_become_auto_labels_that_never_train(tmp_path: Path) -> None:
    folder = write_digits(tmp_path / "digits")
    config = ProjectConfig(
        name="auto",
        classes=DIGITS_CLASSES,
        learner="logreg",
        auto_label_threshold=0.6,
        auto_label_min_labels=50,
    )
    ws = Workspace.init(tmp_path / "proj", config)
    ws.import_folder(folder, with_labels=False)
    pid = ws.project.id
    truth = _truth(ws)
    items = ws.store.items(pid)
    seed = [item.id for item in items[::9]]
    ws.store.record_labels(pid, [LabelInput(i, truth[i]) for i in seed])
    first = run_round(ws)
    assert first.auto_labels > 0
    current = ws.store.current_labels(pid)
    autos = [e for e in current.values() if e.source == "auto"]
    assert len(autos) == first.auto_labels
    model_version = f"m{first.round.model_id}"
    assert all(e.model_version == model_version and (e.confidence or 0.0) >= 0.6 for e in autos)
    assert all(current[i].source == "human" for i in seed)
    correct = sum(e.value == truth[e.item_id] for e in autos) / len(autos)
    assert correct > 0.8
    second = run_round(ws)
    # The second round trained on the human labels only, and a model that
    # agrees with an auto label does not write it again.
    assert second.metrics.n_labeled == len(seed)
    again = ws.store.current_labels(pid)
    unchanged = [a for a in autos if again.get(a.item_id) == a]
    assert unchanged, "agreeing auto labels were rewritten"


def test_auto_labeling_waits_for_enough_labels(ws: Workspace) -> None:
    pid = ws.project.id
    truth = _truth(ws)
    one_class = [item.id for item in ws.store.items(pid) if truth[item.id] == "3"][:5]
    ws.store.record_labels(pid, [LabelInput(i, "3") for i in one_class])
    # Trained on one class, the model is "sure" of everything; nothing is auto-labeled.
    assert run_round(ws).auto_labels == 0
    assert {e.source for e in ws.store.current_labels(pid).values()} == {"human"}


def test_calibrated_rounds_report_ece_before_and_after(tmp_path: Path) -> None:
    folder = write_digits(tmp_path / "digits")
    config = ProjectConfig(name="cal", classes=DIGITS_CLASSES, learner="cnn", calibrate=True)
    ws = Workspace.init(tmp_path / "proj", config)
    ws.import_folder(folder, with_labels=False)
    pid = ws.project.id
    truth = _truth(ws)
    ws.store.record_labels(pid, [LabelInput(i, truth[i]) for i in list(truth)[::12]])
    report = run_round(ws).metrics.calibration
    assert report is not None
    assert report["ece_before_calibration"] is not None
    assert report["ece_after_calibration"] is not None
    assert report["temperature"] != 1.0


def test_digits_are_what_the_demo_says() -> None:
    X, y = digits_arrays()
    assert X.shape == (1797, 1, 8, 8) and len(set(y.tolist())) == 10


def test_synthesis_queues_variants_with_provenance(tmp_path: Path) -> None:
    from labelloop.data.arrays import load_images
    from labelloop.synthesis import Provenance, SynthesisConfig

    folder = write_digits(tmp_path / "digits")
    small = tmp_path / "small"
    for digit in DIGITS_CLASSES:
        (small / digit).mkdir(parents=True)
        for path in sorted((folder / digit).glob("*.png"))[:6]:
            (small / digit / path.name).write_bytes(path.read_bytes())
    config = ProjectConfig(
        name="synth",
        classes=DIGITS_CLASSES,
        learner="logreg",
        synthesis=SynthesisConfig(enabled=True, k=4, per_image=2, max_sources=40),
    )
    ws = Workspace.init(tmp_path / "proj", config)
    ws.import_folder(small, with_labels=False)
    pid = ws.project.id
    truth = _truth(ws)
    ws.store.record_labels(pid, [LabelInput(i, truth[i]) for i in list(truth)[::3]])
    result = run_round(ws)
    made = result.metrics.synthesized
    assert made is not None and len(made) == 4
    assert [item.id for item, _ in ws.store.queue(pid, limit=4)] == made
    for item_id in made:
        item = ws.store.item(pid, item_id)
        assert item.provenance is not None
        record = Provenance.from_dict(item.provenance)
        source = ws.store.item(pid, record.source_item)
        assert source.provenance is None
        rebuilt = record.apply(load_images([ws.image_path(source)])[0])
        stored = load_images([ws.image_path(item)])[0]
        # The stored PNG is the replayed variant, up to 8-bit rounding.
        assert abs(rebuilt - stored).max() <= 0.5 / 255 + 1e-6
    # Synthesized items are labeled like any other.
    ws.store.record_label(pid, made[0], "7", annotator="ann")
    assert ws.store.current_labels(pid)[made[0]].value == "7"


@pytest.mark.parametrize("strategy", ["badge", "coreset", "bald"])
def test_any_registered_strategy_ranks_the_server_queue(tmp_path: Path, strategy: str) -> None:
    folder = write_digits(tmp_path / "digits")
    small = tmp_path / "small"
    for digit in DIGITS_CLASSES:
        (small / digit).mkdir(parents=True)
        for path in sorted((folder / digit).glob("*.png"))[:8]:
            (small / digit / path.name).write_bytes(path.read_bytes())
    learner = "logreg_bagging" if strategy == "bald" else "logreg"
    config = ProjectConfig(
        name="any", classes=DIGITS_CLASSES, learner=learner, strategy=strategy, batch_size=6
    )
    ws = Workspace.init(tmp_path / "proj", config)
    ws.import_folder(small, with_labels=False)
    pid = ws.project.id
    truth = _truth(ws)
    seed = list(truth)[::4]
    ws.store.record_labels(pid, [LabelInput(i, truth[i]) for i in seed])
    result = run_round(ws)
    assert result.round.strategy == strategy and len(result.round.selected) == 6
    queue = [item.id for item, _ in ws.store.queue(pid)]
    assert queue[:6] == result.round.selected
    assert sorted(queue) == sorted(set(truth) - set(seed))


def test_a_collapsed_model_is_reported_and_does_not_rank(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model that predicts one class for everything must not choose the next batch."""
    from sklearn.dummy import DummyClassifier

    import labelloop.loop.round as round_module
    from labelloop.learners import SklearnLearner

    pid = ws.project.id
    truth = _truth(ws)
    first = run_round(ws).round.selected
    ws.store.record_labels(pid, [LabelInput(i, truth[i], annotator="t") for i in first])
    # Auto-label everything a trusted model predicts: a collapsed one must write none.
    settings = ws.config.to_dict() | {"auto_label_min_labels": 1, "auto_label_threshold": 0.01}
    ws.store.update_config(pid, settings)
    ws.refresh()
    healthy = run_round(ws)
    assert healthy.round.strategy == "margin"
    assert healthy.metrics.model_health is not None
    assert healthy.metrics.model_health["collapsed"] is False
    assert healthy.metrics.model_health["pool_classes"] >= 2

    # The same labels, a model that always answers the most frequent label.
    def collapsed(_ws: Workspace, _X: object) -> SklearnLearner:
        return SklearnLearner(DummyClassifier(strategy="most_frequent"), len(DIGITS_CLASSES))

    monkeypatch.setattr(round_module, "_warm_learner", collapsed)
    result = run_round(ws)
    health = result.metrics.model_health
    assert health is not None
    assert health["collapsed"] is True and health["dominant_share"] == 1.0
    assert health["pool_classes"] == 1
    assert result.round.strategy == "random" == result.metrics.fallback_strategy
    assert result.auto_labels == 0 and result.metrics.auto_labels_written is None
    assert result.round.model_id is not None  # recorded, with its verdict, but not trusted
    assert ws.store.model(result.round.model_id).metrics["model_health"]["collapsed"] is True


def test_a_model_that_writes_auto_labels_is_calibrated_once_validation_allows(
    tmp_path: Path,
) -> None:
    folder = write_digits(tmp_path / "digits")
    config = ProjectConfig(
        name="cal", classes=DIGITS_CLASSES, learner="cnn", batch_size=8, auto_label_min_labels=1000
    )
    ws = Workspace.init(tmp_path / "proj", config)
    ws.import_folder(folder, with_labels=False)
    items = ws.store.items(ws.project.id)
    ws.store.record_labels(
        ws.project.id,
        [LabelInput(i.id, i.name.split("/")[0], annotator="t") for i in items[::5]],
    )
    result = run_round(ws)
    assert (result.metrics.n_val or 0) >= 50
    calibrated = result.metrics.calibration
    assert calibrated is not None
    assert calibrated["temperature"] != 1.0
    assert calibrated["ece_after_calibration"] != calibrated["ece_before_calibration"]
    settings = ws.config.to_dict() | {"auto_label_threshold": None}
    ws.store.update_config(ws.project.id, settings)
    ws.refresh()
    uncalibrated = run_round(ws)
    report = uncalibrated.metrics.calibration
    assert report is not None
    assert report["temperature"] == 1.0
    assert report["ece_after_calibration"] == report["ece_before_calibration"]
