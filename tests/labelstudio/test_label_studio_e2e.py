"""labelloop as the ML backend of a real Label Studio 1.23.2, driven through its API.

Slow: the first run installs Label Studio into a cached side venv (about
three minutes); each run starts it (about a minute and a half) on loopback.
Skipped, saying why, only when the package cannot be installed here.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from labelloop.config import ProjectConfig
from labelloop.data.demo import digits_arrays
from labelloop.loop import Workspace
from tests.labelstudio.studio import USER, Studio, UnavailableError, label_studio
from tests.server.conftest import free_port

pytestmark = pytest.mark.slow

SECRET = "e2e-shared-secret"
CLASSES = tuple(str(d) for d in range(10))
CONFIG = (
    '<View><Image name="image" value="$image"/>'
    '<Choices name="digit" toName="image" choice="single">'
    + "".join(f'<Choice value="{c}"/>' for c in CLASSES)
    + "</Choices></View>"
)


@pytest.fixture(scope="module")
def studio() -> Iterator[Studio]:
    try:
        with label_studio() as running:
            yield running
    except UnavailableError as exc:
        pytest.skip(f"Label Studio cannot be installed here: {exc}")


def _wait(what: str, check: Callable[[], Any], timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(1)


def _digit_files(n: int) -> tuple[dict[str, bytes], dict[str, str]]:
    images, targets = digits_arrays()
    files, truth = {}, {}
    for i in range(n):
        pixels = (images[i].reshape(8, 8) / images[i].max() * 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).resize((32, 32), Image.Resampling.NEAREST).save(buffer, "PNG")
        name = f"digit_{i:03d}.png"
        files[name], truth[name] = buffer.getvalue(), str(int(targets[i]))
    return files, truth


def _serve(root: Path, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {"LABELLOOP_LS_SECRET": SECRET, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "labelloop.cli", "serve", str(root), "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--label-studio"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import urllib.request

    def up() -> bool:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/ls/health", headers={"X-Labelloop-Secret": SECRET}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    _wait("labelloop serve", up, timeout=90)
    return process


def _idle(ws: Workspace) -> bool:
    runs = ws.store.training.runs(ws.project.id, limit=1)
    return bool(runs) and runs[0].status not in ("queued", "running")


def test_label_studio_queue_follows_labelloop(studio: Studio, tmp_path: Path) -> None:
    files, truth = _digit_files(100)
    ls_project = studio.api(
        "POST", "/api/projects", {"title": "digits e2e", "label_config": CONFIG}
    )["id"]
    assert studio.upload(ls_project, files)["task_count"] == 100

    root = tmp_path / "digits"
    config = ProjectConfig(
        name="digits", classes=CLASSES, learner="logreg", batch_size=10, retrain_every=10
    )
    Workspace.init(root, config).close()
    port = free_port()
    server = _serve(root, port)
    try:
        connect = subprocess.run(
            [
                sys.executable,
                "-m",
                "labelloop.cli",
                "ls-connect",
                str(root),
                "--url",
                studio.url,
                "--ls-project",
                str(ls_project),
                "--backend-url",
                f"http://127.0.0.1:{port}/ls",
            ],
            env=os.environ | {"LABEL_STUDIO_TOKEN": studio.token, "LABELLOOP_LS_SECRET": SECRET},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert connect.returncode == 0, connect.stdout + connect.stderr
        assert "linked 100 Label Studio tasks" in connect.stdout
        hooks = studio.api("GET", f"/api/webhooks?project={ls_project}")
        assert any(h["headers"].get("Authorization", "").startswith("Basic ") for h in hooks)

        ws = Workspace.open(root)
        pid = ws.project.id

        def version_in_studio() -> str | None:
            rounds = ws.store.rounds(pid)
            want = f"labelloop-round-{rounds[-1].number}" if rounds else None
            have = studio.api("GET", f"/api/projects/{ls_project}")["model_version"]
            return have if _idle(ws) and have == want else None

        _wait("the first ranking in Label Studio", version_in_studio)
        project = studio.api("GET", f"/api/projects/{ls_project}")
        assert project["sampling"] == "Uncertainty sampling"
        rounds_before = len(ws.store.rounds(pid))

        annotated: list[tuple[int, int, str]] = []
        for _ in range(30):
            task = studio.api("GET", f"/api/projects/{ls_project}/next")
            name = task["data"]["image"].rsplit("/", 1)[-1].split("-", 1)[1]
            answer = {
                "result": [
                    {
                        "from_name": "digit",
                        "to_name": "image",
                        "type": "choices",
                        "value": {"choices": [truth[name]]},
                    }
                ]
            }
            made = studio.api("POST", f"/api/tasks/{task['id']}/annotations", answer)
            annotated.append((task["id"], made["id"], truth[name]))

        # labelloop recorded 30 human events with the right labels, by the Label Studio user.
        source = ws.store.external.task_items(pid, _source(ls_project))
        labels = _wait(
            "30 labels",
            lambda: (lambda c: c if len(c) == 30 else None)(ws.store.current_labels(pid)),
        )
        for task_id, _annotation, digit in annotated:
            event = labels[source[task_id]]
            assert (event.value, event.source) == (digit, "human")
            assert event.annotator == f"labelstudio:{USER}"

        # It retrained (every 10 labels), and Label Studio now serves its newest ranking.
        _wait("retraining and the new ranking in Label Studio", version_in_studio)
        runs = ws.store.training.runs(pid)
        assert sum(r.trigger == "labels" and r.status == "succeeded" for r in runs) >= 2
        assert len(ws.store.rounds(pid)) > rounds_before
        head = ws.store.queue(pid, limit=1)[0][0]
        served = studio.api("GET", f"/api/projects/{ls_project}/next")
        assert source[served["id"]] == head.id, "Label Studio's next task is labelloop's first"

        # A deleted annotation is undone in labelloop.
        task_id, annotation_id, _digit = annotated[0]
        studio.api("DELETE", f"/api/annotations/{annotation_id}")
        item_id = source[task_id]
        _wait("the undo", lambda: item_id not in ws.store.current_labels(pid))
        assert ws.store.history(pid, item_id)[-1].action == "undo"
        ws.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


def _source(ls_project: int) -> Any:
    from labelloop.store import ExternalSource

    return ExternalSource("labelstudio", str(ls_project))
