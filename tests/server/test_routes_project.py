"""labelloop.server.routes_project: settings, training, dashboard, export, uploads."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from PIL import Image

from labelloop.loop import Workspace
from labelloop.server.app import create_app
from labelloop.server.routes_project import export, instructions, training_state
from labelloop.server.security import Caller
from labelloop.store import LabelInput
from tests.server.conftest import (
    label_truth,
    login,
    make_project,
    next_served,
    request_to,
    wait_idle,
)
from tests.server.detection_fixtures import make_detection_project


def test_manual_training_ranks_the_pool_and_reports_progress(app_client: TestClient) -> None:
    headers = login(app_client, "rita")
    for _ in range(15):
        label_truth(app_client, headers, next_served(app_client, headers)["served"])
    started = app_client.post("/api/training", headers=headers)
    assert started.status_code == 202
    state = wait_idle(app_client)
    run = state["runs"][0]
    assert run["status"] == "succeeded" and run["trigger"] == "manual" and run["round_id"]
    [snapshot] = app_client.get("/api/snapshots").json()
    assert snapshot["n_labels"] == 15
    curve = app_client.get("/api/dashboard").json()["learning_curve"]
    assert [point["snapshot_id"] for point in curve] == [snapshot["id"]]
    exported = app_client.get(f"/api/export?format=json&snapshot={snapshot['id']}").json()
    assert len(exported["labels"]) == 15
    assert state["model_version"] and state["model_metrics"]["n_labeled"] == 15
    # The dashboard reads whether the model collapsed to one class from the model's metrics.
    health = state["model_metrics"]["model_health"]
    assert health["collapsed"] is False and health["pool_classes"] >= 2
    served = next_served(app_client, headers)["served"]
    assert served["rank"] is not None and served["uncertainty"] is not None


def test_training_refuses_a_second_run_while_one_runs(project: Path) -> None:
    app = create_app(project, start_training=False)
    with TestClient(app) as client:
        headers = login(client, "admin")
        assert client.post("/api/training", headers=headers).status_code == 202
        second = client.post("/api/training", headers=headers)
        app.state.trainer.wait(60)
        assert second.status_code in (202, 409)
        if second.status_code == 409:
            assert "already running" in second.json()["detail"]
        runs = client.get("/api/training").json()["runs"]
        assert len(runs) == 1 + (second.status_code == 202)


def test_failed_training_is_reported_and_the_previous_ranking_serves(
    app_client: TestClient, project: Path
) -> None:
    headers = login(app_client, "admin")
    for _ in range(12):
        label_truth(app_client, headers, next_served(app_client, headers)["served"])
    app_client.post("/api/training", headers=headers)
    good = wait_idle(app_client)["runs"][0]
    assert good["status"] == "succeeded"
    ws = Workspace.open(project)
    # A damaged pool image is flagged and left out (the round goes on); a
    # damaged labeled image cannot be trained on: the run fails.
    labeled = set(ws.store.current_labels(ws.project.id))
    victim = next(i for i in ws.store.items(ws.project.id) if i.id in labeled)
    ws.image_path(victim).write_bytes(b"not an image any more")
    ws.close()
    app_client.post("/api/training", headers=headers)
    time.sleep(0.05)
    state = wait_idle(app_client)
    failed = state["runs"][0]
    assert failed["status"] == "failed" and failed["message"]
    assert state["model_version"] == f"m{good['round_id']}" or state["model_version"]
    served = next_served(app_client, headers)["served"]
    assert served["rank"] is not None


def test_project_and_settings(app_client: TestClient) -> None:
    headers = login(app_client, "admin")
    project = app_client.get("/api/project").json()
    assert project["classes"] == [str(d) for d in range(10)] and project["progress"]["items"] == 120
    changed = app_client.patch(
        "/api/project/settings",
        json={"retrain_every": 7, "show_prediction": "prefill"},
        headers=headers,
    )
    assert changed.json()["config"]["retrain_every"] == 7
    bad = app_client.patch("/api/project/settings", json={"batch_size": 0}, headers=headers)
    assert bad.status_code == 422
    # Classes can be removed or renamed only while no label uses them.
    label_truth(app_client, headers, next_served(app_client, headers)["served"])
    fewer = app_client.patch("/api/project/settings", json={"classes": ["0"]}, headers=headers)
    assert fewer.status_code == 422 and "cannot be removed" in str(fewer.json()["detail"])
    unknown = app_client.patch("/api/project/settings", json={"colour": "red"}, headers=headers)
    assert unknown.status_code == 422
    served = next_served(app_client, headers)["served"]
    assert "prediction" in served


def test_dashboard_reports_counts_and_annotators(app_client: TestClient) -> None:
    headers = login(app_client, "ann")
    answers = [
        label_truth(app_client, headers, next_served(app_client, headers)["served"])
        for _ in range(3)
    ]
    dash = app_client.get("/api/dashboard").json()
    assert dash["progress"] == {"items": 120, "labeled": 3, "auto_labeled": 0, "unlabeled": 117}
    assert sum(row["count"] for row in dash["labels_over_time"]) == 3
    assert sum(sum(v.values()) for v in dash["class_balance"].values()) == 3
    [ann] = dash["annotators"]
    assert ann["annotator"] == "ann" and ann["labels"] == 3 and ann["median_seconds"] >= 0
    last = answers[-1]["event"]
    app_client.post(
        f"/api/items/{last['item_id']}/undo",
        json={"expected_event_id": last["id"]},
        headers=headers,
    )
    after = app_client.get("/api/dashboard").json()
    assert after["annotators"][0]["labels"] == 3, "an undo is not a label"
    assert after["progress"]["labeled"] == 2
    assert sum(row["count"] for row in after["labels_over_time"]) == 3


def test_export_formats(app_client: TestClient) -> None:
    headers = login(app_client, "ann")
    labeled = [
        label_truth(app_client, headers, next_served(app_client, headers)["served"])
        for _ in range(4)
    ]
    # Exports are a reviewer's right unless the project opens them to annotators.
    refused = app_client.get("/api/export?format=csv")
    assert refused.status_code == 403 and "team.annotators_export" in refused.json()["detail"]
    login(app_client, "rita")
    rows = list(csv.DictReader(io.StringIO(app_client.get("/api/export?format=csv").text)))
    assert {int(r["item"]) for r in rows} == {a["event"]["item_id"] for a in labeled}
    data = app_client.get("/api/export?format=json").json()
    assert len(data["labels"]) == 4
    archive = app_client.get("/api/export?format=imagefolder")
    assert archive.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert len(names) == 4 and all(n.count("/") == 2 for n in names)
    refused = app_client.get("/api/export?format=xml")
    assert refused.status_code == 422
    assert refused.json()["detail"][0] == {
        "loc": ["query", "format"],
        "msg": "format must be one of csv, json, imagefolder, coco, labelstudio, voc, yolo; "
        "got 'xml'",
        "type": "value_error",
    }
    assert app_client.get("/api/snapshots").json() == []
    assert app_client.get("/api/export?snapshot=999").status_code == 404


def _png(size: tuple[int, int] = (8, 8), value: int = 7) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, value).save(buffer, format="PNG")
    return buffer.getvalue()


def test_uploads(app_client: TestClient, project: Path) -> None:
    ann = login(app_client, "ann")
    files = {"file": ("new.png", _png(), "image/png")}
    assert app_client.post("/api/items", files=files, headers=ann).status_code == 403
    admin = login(app_client, "admin")
    made = app_client.post("/api/items", files=files, headers=admin)
    assert made.status_code == 201 and made.json()["name"] == "new.png"
    again = app_client.post(
        "/api/items", files={"file": ("copy.png", _png(), "image/png")}, headers=admin
    )
    assert again.json()["id"] == made.json()["id"]
    text = app_client.post(
        "/api/items", files={"file": ("notes.png", b"hello", "image/png")}, headers=admin
    )
    assert text.status_code == 422 and "not a usable image" in str(text.json()["detail"])
    app_client.app.state.max_upload_bytes = 50  # type: ignore[attr-defined]
    big = app_client.post(
        "/api/items", files={"file": ("big.png", _png((64, 64), 3), "image/png")}, headers=admin
    )
    assert big.status_code == 413
    assert app_client.get("/api/project").json()["progress"]["items"] == 121


def test_the_training_state_counts_labels_since_the_last_run(tmp_path: Path) -> None:
    ws = Workspace.open(make_project(tmp_path / "proj", per_class=1))
    pid = ws.project.id
    first, second = ws.store.items(pid)[:2]
    ws.store.record_labels(pid, [LabelInput(first.id, "0", annotator="ann")])
    idle = training_state(ws)
    assert (idle.state, idle.runs, idle.labels_since_last_run) == ("idle", [], 1)
    assert idle.model_version is None and idle.model_metrics is None
    ws.store.training.request(pid, trigger="manual", requested_by="rita")
    ws.store.record_labels(pid, [LabelInput(second.id, "1", annotator="ann")])
    queued = training_state(ws)
    assert queued.state == "queued" and queued.labels_since_last_run == 1
    assert [(r.trigger, r.requested_by) for r in queued.runs] == [("manual", "rita")]
    assert queued.retrain_every == ws.config.retrain_every
    ws.close()


def test_the_guideline_is_rendered_with_raw_html_made_inert(tmp_path: Path) -> None:
    text = "# Digits\n\nLabel the *digit*.\n\n<script>alert(1)</script>\n"
    root = make_project(tmp_path / "proj", per_class=1, instructions=text)
    with TestClient(create_app(root, start_training=False)) as client:
        ws: Workspace = client.app.state.ws  # type: ignore[attr-defined]
        ann = Caller(ws.store.people.user("ann"), "token")
        shown = instructions(request_to(client.app), ann)  # type: ignore[arg-type]
    assert shown["markdown"] == text
    assert "<h1>Digits</h1>" in shown["html"] and "<em>digit</em>" in shown["html"]
    assert "<script>" not in shown["html"] and "&lt;script&gt;" in shown["html"]


@pytest.mark.parametrize(
    ("detection", "fmt", "says"),
    [
        (False, "coco", "coco is a detection format"),
        (False, "voc", "voc is a detection format"),
        (True, "imagefolder", "one class per image"),
    ],
)
def test_a_format_of_the_other_task_is_refused_saying_which_fit(
    tmp_path: Path, detection: bool, fmt: str, says: str
) -> None:
    root = (
        make_detection_project(tmp_path / "boxes", n_items=1)
        if detection
        else make_project(tmp_path / "proj", per_class=1)
    )
    with TestClient(create_app(root, start_training=False)) as client:
        ws: Workspace = client.app.state.ws  # type: ignore[attr-defined]
        rita = Caller(ws.store.people.user("rita"), "token")
        with pytest.raises(HTTPException) as refused:
            export(request_to(client.app), rita, fmt=fmt)  # type: ignore[arg-type]
    assert refused.value.status_code == 422
    detail: Any = refused.value.detail[0]
    assert says in detail["msg"] and detail["loc"] == ["query", "format"]


def test_a_detection_export_is_a_zip_named_for_the_project_and_format(tmp_path: Path) -> None:
    root = make_detection_project(tmp_path / "boxes", n_items=1)
    with TestClient(create_app(root, start_training=False)) as client:
        login(client, "rita")
        answer = client.get("/api/export", params={"format": "yolo"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    name = root.name
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="{name}-yolo-current.zip"'
    )
    assert zipfile.ZipFile(io.BytesIO(answer.content)).namelist()
