"""A detection project's round: fit, rank by a detection strategy, proposals, auto labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from labelloop.config import ProjectConfig
from labelloop.data.detection_demo import detection_demo_arrays, write_detection_demo
from labelloop.learners.detection import TorchDetector
from labelloop.loop import Workspace, run_round
from labelloop.loop.detection_boxes import _iou_with
from labelloop.loop.detection_io import import_detections

CLASSES = ("0", "1", "2")
N_IMAGES, N_LABELED = 60, 20


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _project(tmp_path: Path, **settings: object) -> Workspace:
    """60 generated images, the first 20 labeled (YOLO: no .txt means unlabeled)."""
    source = write_detection_demo(
        tmp_path / "demo", N_IMAGES, classes=CLASSES, seed=1, format="yolo"
    )
    for path in sorted((source / "labels").glob("*.txt"))[N_LABELED:]:
        path.unlink()
    config = ProjectConfig.model_validate(
        {
            "name": "det",
            "task": "detection",
            "classes": CLASSES,
            "batch_size": 5,
            "detection": {"epochs": 2, "min_steps": 0, "min_score": 0.05},
            **settings,
        }
    )
    ws = Workspace.init(tmp_path / "proj", config)
    report = import_detections(ws, "yolo", source)
    assert report.imported == N_IMAGES and report.labeled == N_LABELED
    return ws


def _proposals_of(ws: Workspace, item_id: int) -> tuple[list[dict[str, object]], float] | None:
    found = ws.store.prediction(ws.project.id, item_id)
    return None if found is None else (json.loads(found[0]), found[1])


def test_a_round_fits_ranks_and_proposes_boxes(tmp_path: Path) -> None:
    ws = _project(tmp_path, auto_label_threshold=None)
    pid = ws.project.id
    steps: list[str] = []
    result = run_round(ws, on_step=lambda name, _done: steps.append(name))
    assert steps[0] == "snapshot" and "fit" in steps and steps[-1] == "done"
    assert result.round.strategy == "entropy_sum" and result.round.model_id is not None
    assert result.metrics.n_labeled == N_LABELED
    assert (result.metrics.n_val or 0) >= 1 and (result.metrics.n_train or 0) >= 1
    assert result.metrics.refit_on == N_LABELED  # validated, then refitted on every label
    validation = result.metrics.validation
    assert validation is not None
    assert 0.0 <= validation["map"] <= validation["map50"] <= 1.0
    model = ws.store.model(result.round.model_id)
    assert (ws.root / str(model.path)).is_file()
    labeled = set(ws.store.current_labels(pid))
    queue = ws.store.queue(pid)
    assert len(queue) == N_IMAGES - N_LABELED and not {item.id for item, _ in queue} & labeled
    scores = [score for _, score in queue]
    assert None not in scores
    assert scores == sorted((s for s in scores if s is not None), reverse=True)
    proposed = [_proposals_of(ws, item.id) for item, _ in queue]
    assert any(p is not None for p in proposed), "the model proposed no box at all"
    for found in proposed:
        if found is None:
            continue
        boxes, confidence = found
        assert boxes and set(boxes[0]) == {"x", "y", "width", "height", "label", "score", "classes"}
        # One box per object: proposals never overlap beyond detection.proposal_iou.
        xywh = np.array([[b[k] for k in ("x", "y", "width", "height")] for b in boxes])
        for i in range(len(boxes)):
            assert (_iou_with(xywh[i], np.delete(xywh, i, axis=0)) <= 0.6).all()
        assert min(b["score"] for b in boxes) == pytest.approx(confidence)  # type: ignore[type-var]
        assert all(b["score"] >= 0.05 and b["label"] in CLASSES for b in boxes)  # type: ignore[operator]
    assert result.auto_labels == 0


def test_the_next_round_starts_from_the_saved_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _project(tmp_path, auto_label_threshold=None)
    first = run_round(ws)
    saved = torch.load(ws.root / str(ws.store.model(first.round.model_id).path))  # type: ignore[arg-type]
    starts: list[dict[str, torch.Tensor]] = []
    fit = TorchDetector.fit

    def recording_fit(self: TorchDetector, *args: object, **kwargs: object) -> TorchDetector:
        starts.append({k: v.clone() for k, v in self.network_.state_dict().items()})
        return fit(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(TorchDetector, "fit", recording_fit)
    second = run_round(ws)
    assert second.round.model_id != first.round.model_id and len(starts) == 1
    for name, tensor in saved["state_dict"].items():
        assert torch.equal(starts[0][name], tensor), name


def test_without_refit_on_all_labels_the_validation_side_never_trains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _project(tmp_path, auto_label_threshold=None, refit_on_all_labels=False)

    def no_refit(self: TorchDetector, *args: object) -> TorchDetector:
        raise AssertionError("refit_on_all_labels is off")

    monkeypatch.setattr(TorchDetector, "refit", no_refit)
    metrics = run_round(ws).metrics
    assert metrics.n_train is not None and metrics.refit_on == metrics.n_train < N_LABELED


def test_confident_images_are_auto_labeled_with_their_boxes(tmp_path: Path) -> None:
    ws = _project(tmp_path, auto_label_threshold=0.06, auto_label_min_labels=10)
    pid = ws.project.id
    result = run_round(ws)
    auto = {i: e for i, e in ws.store.current_labels(pid).items() if e.source == "auto"}
    assert result.auto_labels == len(auto) > 0
    for item_id, event in auto.items():
        found = _proposals_of(ws, item_id)
        assert found is not None
        boxes, confidence = found
        assert event.value == [
            {k: b[k] for k in ("x", "y", "width", "height", "label")} for b in boxes
        ]
        assert event.confidence == pytest.approx(confidence) and confidence >= 0.06


@pytest.mark.slow
def test_a_high_threshold_or_too_few_labels_writes_no_auto_label(tmp_path: Path) -> None:
    for settings in (
        {"auto_label_threshold": 1.0, "auto_label_min_labels": 1},
        {"auto_label_threshold": 0.06, "auto_label_min_labels": 100},
    ):
        ws = _project(
            tmp_path / str(len(settings)) / str(settings["auto_label_min_labels"]), **settings
        )
        assert run_round(ws).auto_labels == 0
        assert "auto" not in ws.store.source_counts(ws.project.id)


def test_a_cold_start_round_ranks_without_a_model(tmp_path: Path) -> None:
    source = write_detection_demo(tmp_path / "demo", 10, classes=CLASSES, format="yolo")
    for path in (source / "labels").glob("*.txt"):
        path.unlink()
    ws = Workspace.init(
        tmp_path / "proj", ProjectConfig(name="d", task="detection", classes=CLASSES, batch_size=4)
    )
    import_detections(ws, "yolo", source)
    result = run_round(ws)
    assert result.round.model_id is None and result.round.strategy == "random"
    assert len(ws.store.queue(ws.project.id)) == 10


def test_a_cold_start_by_thumbnails_ranks_as_a_classification_project_does(
    tmp_path: Path,
) -> None:
    """Both tasks share one cold start: the same images rank the same way, unreadable ones not."""
    source = write_detection_demo(tmp_path / "demo", 12, classes=CLASSES, seed=4, format="yolo")
    for path in (source / "labels").glob("*.txt"):
        path.unlink()
    common = {"classes": CLASSES, "batch_size": 4, "cold_start": "coreset", "resize": "letterbox"}
    detection = Workspace.init(
        tmp_path / "det", ProjectConfig.model_validate({"name": "d", "task": "detection", **common})
    )
    import_detections(detection, "yolo", source)
    classification = Workspace.init(
        tmp_path / "cls", ProjectConfig.model_validate({"name": "c", "learner": "logreg", **common})
    )
    classification.import_folder(source / "images", with_labels=False)
    rankings = []
    for ws in (detection, classification):
        items = ws.store.items(ws.project.id)
        names = {item.id: Path(item.name).name for item in items}
        broken = next(item for item in items if names[item.id] == "img_00003.png")
        ws.image_path(broken).write_bytes(b"not a png")
        result = run_round(ws)
        assert result.round.strategy == "coreset" and result.metrics.unreadable == 1
        rankings.append([names[item.id] for item, _ in ws.store.queue(ws.project.id)])
    assert rankings[0] == rankings[1]
    assert len(rankings[0]) == 11 and "img_00003.png" not in rankings[0]


def test_stream_decides_by_the_least_confident_object(tmp_path: Path) -> None:
    from PIL import Image

    from labelloop.loop.streaming import _confidence_of, stream_images
    from labelloop.strategies.stream import make_stream_selector

    # Boxes below min_score are not detections: with 0.99 a 2-epoch model has none.
    ws = _project(tmp_path, detection={"epochs": 2, "min_steps": 0, "min_score": 0.99})
    assert _confidence_of(ws, (1, 64, 64)) is None  # no model yet
    run_round(ws)
    confidence_of = _confidence_of(ws, (1, 64, 64))
    assert confidence_of is not None
    demo = detection_demo_arrays(4, classes=CLASSES, seed=9)
    arrivals = tmp_path / "arrivals"
    arrivals.mkdir()
    for n, image in enumerate(demo.images):
        Image.fromarray((image[0] * 255).astype(np.uint8)).save(arrivals / f"a{n}.png")
    # Nothing detected is the least sure a detector can be: such images go to a person.
    assert [confidence_of(image[None]) for image in demo.images] == [0.0] * 4
    chooser = make_stream_selector("fixed_threshold", budget=1.0, threshold=0.5)
    report = stream_images(ws, sorted(arrivals.iterdir()), chooser)
    assert report.seen == 4 and len(report.queued) == 4
    assert [item.id for item, _ in ws.store.queue(ws.project.id, limit=4)] == report.queued[::-1]


def test_photos_of_mixed_sizes_get_one_input_size_and_boxes_in_their_own_pixels(
    tmp_path: Path,
) -> None:
    """Mixed-size images: the project letterboxes them into one square input, and
    both the labels it trains on and the boxes it proposes stay in each image's pixels."""
    from PIL import Image

    source = write_detection_demo(
        tmp_path / "demo", 24, classes=CLASSES, seed=2, format="yolo", clutter=False
    )
    sizes = [(64, 64), (96, 80), (72, 128), (120, 90)]  # (width, height): YOLO boxes scale along
    for k, path in enumerate(sorted((source / "images").glob("*.png"))):
        with Image.open(path) as image:
            image.resize(sizes[k % 4], Image.Resampling.BILINEAR).save(path)
    for path in sorted((source / "labels").glob("*.txt"))[12:]:
        path.unlink()
    config = ProjectConfig(
        name="mixed",
        task="detection",
        classes=CLASSES,
        batch_size=4,
        auto_label_threshold=None,
        detection={"epochs": 2, "min_steps": 0, "min_score": 0.01},
    )
    ws = Workspace.init(tmp_path / "proj", config)
    import_detections(ws, "yolo", source)
    assert ws.config.resize == "letterbox"
    assert ws.config.image_size == (128, 128)  # the median longer side (120), up to 32s
    items = {item.id: item for item in ws.store.items(ws.project.id)}
    for item_id, event in ws.store.current_labels(ws.project.id).items():
        for box in event.value:  # stored in the image's own pixels
            assert box["x"] + box["width"] <= items[item_id].width + 1e-3
            assert box["y"] + box["height"] <= items[item_id].height + 1e-3
    result = run_round(ws)
    assert result.round.model_id is not None and result.metrics.unreadable == 0
    proposed = 0
    for item, _ in ws.store.queue(ws.project.id):
        found = _proposals_of(ws, item.id)
        for box in [] if found is None else found[0]:
            proposed += 1
            x, y, w, h = (float(box[k]) for k in ("x", "y", "width", "height"))  # type: ignore[arg-type]
            assert x >= 0 and y >= 0 and w >= 0 and h >= 0
            assert x + w <= item.width + 1e-3 and y + h <= item.height + 1e-3
    assert proposed > 0
