"""Fixtures for server tests: small digits projects, users, an in-process client, a live server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request

from labelloop.config import ProjectConfig
from labelloop.data.demo import DIGITS_CLASSES, write_digits
from labelloop.loop import Workspace
from labelloop.server.app import create_app
from labelloop.server.security import hash_password

PASSWORD = "correct horse battery"
USERS = {"admin": "admin", "rita": "reviewer", "ann": "annotator", "bob": "annotator"}


def make_project(
    root: Path, *, per_class: int = 12, database_url: str | None = None, **settings: object
) -> Path:
    """A digits project of ``per_class`` unlabeled images per digit, with the USERS accounts
    (in SQLite, or in the database at ``database_url``)."""
    digits = write_digits(root.parent / f"{root.name}-digits")
    config = ProjectConfig(
        name=root.name,
        classes=DIGITS_CLASSES,
        learner="logreg",
        batch_size=5,
        **settings,
    )
    ws = Workspace.init(root, config, database_url=database_url)
    subset = root.parent / f"{root.name}-subset"
    for digit in DIGITS_CLASSES:
        (subset / digit).mkdir(parents=True, exist_ok=True)
        for path in sorted((digits / digit).glob("*.png"))[:per_class]:
            (subset / digit / path.name).write_bytes(path.read_bytes())
    ws.import_folder(subset, with_labels=False)
    for name, role in USERS.items():
        ws.store.people.create_user(name, hash_password(PASSWORD), role)  # type: ignore[arg-type]
    ws.close()
    return root


def truth(name: str) -> str:
    """The true digit of an item, from its import name ``<digit>/digit_<index>.png``."""
    return name.split("/")[0]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj", retrain_every=1000)


@pytest.fixture
def app_client(project: Path) -> Iterator[TestClient]:
    app = create_app(project, start_training=False)
    with TestClient(app) as client:
        yield client


def login(client: TestClient | httpx.Client, username: str) -> dict[str, str]:
    """Log in; returns the headers (CSRF token) to send with changes."""
    response = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"x-csrf-token": response.json()["csrf_token"]}


def next_served(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    """Lease the next item of the queue (``served`` may be None when it is empty)."""
    response = client.post("/api/queue/next", headers=headers)
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


def label_truth(
    client: TestClient, headers: dict[str, str], served: dict[str, Any]
) -> dict[str, Any]:
    """Answer a served lease with the item's true digit."""
    value = truth(served["item"]["name"])
    response = client.post(
        "/api/labels", json={"lease_id": served["lease_id"], "value": value}, headers=headers
    )
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def wait_idle(client: TestClient) -> dict[str, Any]:
    """Poll the training state until a run has ended; that state."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = client.get("/api/training").json()
        if state["state"] == "idle" and state["runs"]:
            return state  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError("training did not finish")


def request_to(app: FastAPI, method: str = "GET", **headers: str) -> Request:
    """A bare request to ``app`` (for calling its dependencies and endpoints directly);
    ``x_csrf_token=...`` becomes the header ``x-csrf-token``."""
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": method, "headers": raw, "app": app})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """A ``labelloop serve`` subprocess on loopback."""

    root: Path
    url: str
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        """SIGKILL the server, as a crash would."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        """Stop the server politely."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(root: Path, port: int | None = None) -> LiveServer:
    """Start ``labelloop serve`` on ``root`` and wait until it answers."""
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "labelloop.cli", "serve", str(root), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"labelloop serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/login", timeout=1).status_code == 200:
                return LiveServer(root, url, process)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("labelloop serve did not answer within 60 s")


@pytest.fixture
def live_server(project: Path) -> Iterator[LiveServer]:
    server = start_server(project)
    yield server
    server.stop()
