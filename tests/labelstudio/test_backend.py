"""The ML-backend endpoints of ``serve --label-studio``, driven with recorded bodies."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from labelloop.config import ProjectConfig
from labelloop.loop import Workspace, run_round
from labelloop.loop.labelstudio import CONNECTION_FILE, Connection
from labelloop.server.app import create_app
from labelloop.server.routes_labelstudio import LabelStudioOptions
from labelloop.store import RankedItem
from tests.labelstudio.test_protocol import recorded
from tests.server.conftest import free_port

SECRET = "shared-secret-1"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"labelloop:{SECRET}".encode()).decode()}


def _images(root: Path, n: int) -> list[str]:
    """``n`` small RGB images, half reddish ("a") and half bluish ("b"); their relative paths."""
    rng = np.random.default_rng(0)
    names = []
    for i in range(n):
        pixels = rng.integers(0, 60, (24, 24, 3), dtype=np.uint8)
        pixels[..., 0 if i % 2 == 0 else 2] += 180
        name = f"imgs/{'a' if i % 2 == 0 else 'b'}_{i:03d}.png"
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(root / name)
        names.append(name)
    return names


def _task(task_id: int, name: str) -> dict[str, Any]:
    return {"id": task_id, "data": {"image": f"/data/local-files/?d={name}"}, "project": 1}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, list[str]]:
    root = tmp_path / "ls-files"
    return root, _images(root, 24)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    config = ProjectConfig(
        name="ls", classes=("a", "b"), learner="logreg", batch_size=4, retrain_every=1000
    )
    Workspace.init(tmp_path / "proj", config).close()
    return tmp_path / "proj"


def _setup_body(task: str = "classification") -> dict[str, Any]:
    body = copy.deepcopy(recorded(task)["setup"])
    assert isinstance(body, dict)
    body["hostname"] = f"http://127.0.0.1:{free_port()}"  # nobody listens: pushes fail softly
    return body


@pytest.fixture
def client(project: Path, files: tuple[Path, list[str]]) -> Iterator[TestClient]:
    options = LabelStudioOptions(secret=SECRET, files_root=files[0])
    app = create_app(project, start_training=False, label_studio=options)
    with TestClient(app) as c:
        assert c.post("/ls/setup", json=_setup_body(), headers=AUTH).status_code == 200
        yield c


def _webhook(action: str, *, task_id: int, annotation_id: int = 7, choice: str = "a") -> Any:
    body = copy.deepcopy(recorded("classification")[action])
    assert isinstance(body, dict)
    if "annotation" in body:
        body["annotation"]["id"] = annotation_id
        body["annotation"]["task"] = task_id
        body["annotation"]["result"][0]["value"]["choices"] = [choice]
        body["task"] = {"id": task_id}
    else:
        body["annotations"] = [{"id": annotation_id}]
    return body


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/ls/health"),
        ("post", "/ls/setup"),
        ("post", "/ls/predict"),
        ("post", "/ls/webhook"),
        ("post", "/ls/train"),
    ],
)
def test_every_endpoint_needs_the_secret(client: TestClient, method: str, path: str) -> None:
    kwargs: dict[str, Any] = {} if method == "get" else {"json": {}}
    assert getattr(client, method)(path, **kwargs).status_code == 401
    wrong = {"Authorization": "Basic " + base64.b64encode(b"labelloop:nope").decode()}
    assert getattr(client, method)(path, headers=wrong, **kwargs).status_code == 401
    for headers in (
        AUTH,
        {"Authorization": f"Bearer {SECRET}"},
        {"X-Labelloop-Secret": SECRET},
    ):
        assert getattr(client, method)(path, headers=headers, **kwargs).status_code != 401


def test_endpoints_exist_only_with_label_studio(project: Path) -> None:
    with TestClient(create_app(project, start_training=False)) as plain:
        assert plain.get("/ls/health").status_code == 404
        assert plain.post("/ls/webhook", json={}).status_code == 404


def test_root_prefix(project: Path) -> None:
    app = create_app(project, start_training=False, label_studio=LabelStudioOptions(prefix=""))
    with TestClient(app) as c:
        answer = c.get("/health").json()
        assert answer["status"] == "UP" and answer["model_version"].startswith("labelloop-")


def test_setup_refuses_a_config_that_differs(client: TestClient, project: Path) -> None:
    body = _setup_body()
    body["schema"] = body["schema"].replace('<Choice value="b"/>', '<Choice value="c"/>')
    answer = client.post("/ls/setup", json=body, headers=AUTH)
    assert answer.status_code == 422
    assert "missing in Label Studio: b" in json.dumps(answer.json())
    other = _setup_body("detection")
    answer = client.post("/ls/setup", json=other, headers=AUTH)
    assert answer.status_code == 422 and "RectangleLabels" not in answer.text  # task differs
    assert "labels detection" in answer.text
    saved = project / CONNECTION_FILE
    assert saved.stat().st_mode & 0o077 == 0  # the token is the owner's only


def test_predict_imports_tasks_and_scores_by_the_ranking(
    client: TestClient, project: Path, files: tuple[Path, list[str]]
) -> None:
    _, names = files
    tasks = [_task(100 + i, name) for i, name in enumerate(names)]
    tasks.append(_task(999, "imgs/missing.png"))  # unreadable: still answered, served last
    first = client.post("/ls/predict", json={"tasks": tasks}, headers=AUTH).json()["results"]
    assert len(first) == len(tasks)
    with Workspace.open(project) as ws:
        assert len(ws.store.items(ws.project.id)) == len(names)
        # Label a few through webhooks, then let a round rank the pool.
        for i in range(8):
            body = _webhook(
                "ANNOTATION_CREATED", task_id=100 + i, annotation_id=i + 1, choice="ab"[i % 2]
            )
            assert client.post("/ls/webhook", json=body, headers=AUTH).json()["recorded"] == 1
        run_round(ws)
        version = f"labelloop-round-{ws.store.rounds(ws.project.id)[-1].number}"
        queue = [item.id for item, _ in ws.store.queue(ws.project.id)]
        conn = Connection.load(project)
        assert conn is not None
        links = ws.store.external.task_items(ws.project.id, conn.source)
    results = client.post("/ls/predict", json={"tasks": tasks}, headers=AUTH).json()["results"]
    assert len(results) == len(tasks)
    assert all(r["model_version"] == version for r in results)
    assert results[-1] == {"result": [], "score": 1.0, "model_version": version}
    score_of = {links[t["id"]]: r["score"] for t, r in zip(tasks[:-1], results, strict=False)}
    unlabeled = [item for item in queue if item in score_of]
    assert sorted(unlabeled, key=score_of.__getitem__) == unlabeled  # ascending = the ranking
    guesses = [r["result"][0]["value"]["choices"][0] for r in results[:-1] if r["result"]]
    assert guesses and set(guesses) <= {"a", "b"}
    assert client.get("/ls/health", headers=AUTH).json()["model_version"] == version


def test_annotations_become_events_once(
    client: TestClient, project: Path, files: tuple[Path, list[str]]
) -> None:
    _, names = files
    client.post("/ls/predict", json={"tasks": [_task(5, names[0])]}, headers=AUTH)
    created = _webhook("ANNOTATION_CREATED", task_id=5, choice="a")
    assert client.post("/ls/webhook", json=created, headers=AUTH).json()["recorded"] == 1
    # Label Studio retries a webhook it thinks failed: nothing is written twice.
    assert client.post("/ls/webhook", json=created, headers=AUTH).json()["unchanged"] == 1
    updated = _webhook("ANNOTATION_UPDATED", task_id=5, choice="b")
    assert client.post("/ls/webhook", json=updated, headers=AUTH).json()["recorded"] == 1
    deleted = _webhook("ANNOTATIONS_DELETED", task_id=5)
    assert client.post("/ls/webhook", json=deleted, headers=AUTH).json()["undone"] == 1
    assert client.post("/ls/webhook", json=deleted, headers=AUTH).json()["undone"] == 0
    with Workspace.open(project) as ws:
        pid = ws.project.id
        item = ws.store.items(pid)[0]
        history = ws.store.history(pid, item.id)
    assert [(e.action, e.value) for e in history] == [
        ("label", "a"),
        ("correct", "b"),
        ("undo", "a"),
    ]
    assert history[0].source == "human"
    assert history[0].annotator == "labelstudio:user-1"  # its API did not answer: the id
    assert history[1].supersedes_id == history[0].id


def test_plural_created_and_deleted(
    client: TestClient, project: Path, files: tuple[Path, list[str]]
) -> None:
    _, names = files
    body = _webhook("ANNOTATION_CREATED", task_id=11, annotation_id=21)
    second = copy.deepcopy(body["annotation"])
    second.update(id=22, task=12)
    plural = {
        "action": "ANNOTATIONS_CREATED",
        "annotation": [body["annotation"], second],
        "task": [_task(11, names[1]), _task(12, names[2])],
        "project": body["project"],
    }
    assert client.post("/ls/webhook", json=plural, headers=AUTH).json()["recorded"] == 2
    gone = {"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 21}, {"id": 22}]}
    gone["project"] = body["project"]
    assert client.post("/ls/webhook", json=gone, headers=AUTH).json()["undone"] == 2
    with Workspace.open(project) as ws:
        assert ws.store.current_labels(ws.project.id) == {}


def test_webhooks_of_other_projects_and_events_are_ignored(client: TestClient) -> None:
    body = _webhook("ANNOTATION_CREATED", task_id=5)
    body["project"]["id"] = 77
    assert client.post("/ls/webhook", json=body, headers=AUTH).json()["ignored"] is True
    assert (
        client.post("/ls/webhook", json={"action": "PROJECT_UPDATED"}, headers=AUTH).json()[
            "ignored"
        ]
        is True
    )


def test_bad_bodies_are_422_not_500(client: TestClient) -> None:
    for body in (
        {"tasks": "x"},
        {"tasks": [{"id": "one"}]},
    ):
        answer = client.post("/ls/predict", json=body, headers=AUTH)
        assert answer.status_code in (200, 422), answer.text
    bad = _webhook("ANNOTATION_CREATED", task_id=5)
    bad["annotation"]["id"] = "x"
    assert client.post("/ls/webhook", json=bad, headers=AUTH).status_code == 422
    answer = client.post("/ls/webhook", content=b"{not json", headers=AUTH)
    assert answer.status_code == 422


def test_start_training_webhook_starts_a_run(client: TestClient, project: Path) -> None:
    answer = client.post("/ls/webhook", json={"action": "START_TRAINING"}, headers=AUTH).json()
    assert answer["training"]["status"] in ("ok", "busy")
    client.app.state.trainer.wait(timeout=120)  # type: ignore[attr-defined]
    with Workspace.open(project) as ws:
        runs = ws.store.training.runs(ws.project.id)
    assert runs[0].trigger == "labelstudio"


def test_detection_boxes_both_ways(tmp_path: Path) -> None:
    """Boxes arrive in percent and are kept in pixels; proposals leave in percent."""
    files = tmp_path / "ls-files"
    (files / "imgs").mkdir(parents=True)
    Image.new("RGB", (300, 200), (10, 200, 30)).save(files / "imgs" / "box.png")
    config = ProjectConfig(name="det", task="detection", classes=("cat", "dog"), retrain_every=1000)
    root = tmp_path / "det"
    Workspace.init(root, config).close()
    options = LabelStudioOptions(secret=None, files_root=files)
    with TestClient(create_app(root, start_training=False, label_studio=options)) as c:
        assert c.post("/ls/setup", json=_setup_body("detection")).status_code == 200
        task = _task(4, "imgs/box.png")
        body = copy.deepcopy(recorded("detection")["ANNOTATION_CREATED"])
        assert isinstance(body, dict)
        body["annotation"]["task"] = 4
        body["task"] = task
        assert c.post("/ls/webhook", json=body).json()["recorded"] == 1
        with Workspace.open(root) as ws:
            pid = ws.project.id
            item = ws.store.items(pid)[0]
            label = ws.store.current_labels(pid)[item.id].value
            assert label == [{"x": 30.0, "y": 40.0, "width": 90.0, "height": 50.0, "label": "dog"}]
            snapshot = ws.store.create_snapshot(pid)
            proposal = [{"x": 150.0, "y": 20.0, "width": 60.0, "height": 100.0, "label": "cat"}]
            guess = json.dumps([proposal[0] | {"score": 0.625}])
            ws.store.add_round(
                pid,
                snapshot_id=snapshot.id,
                model_id=None,
                strategy="entropy_sum",
                ranking=[RankedItem(item.id, 0.9, guess, 0.625)],
                batch_size=1,
                metrics={},
            )
        result = c.post("/ls/predict", json={"tasks": [task]}).json()["results"][0]
    (region,) = result["result"]
    assert region["type"] == "rectanglelabels" and region["score"] == 0.625
    assert (region["original_width"], region["original_height"]) == (300, 200)
    value = region["value"]
    assert value["rectanglelabels"] == ["cat"]
    assert abs(value["x"] - 50.0) < 1e-9 and abs(value["y"] - 10.0) < 1e-9
    assert abs(value["width"] - 20.0) < 1e-9 and abs(value["height"] - 50.0) < 1e-9
