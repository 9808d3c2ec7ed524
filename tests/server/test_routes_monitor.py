"""labelloop.server.routes_monitor: overview, reports, flags, label errors, concept drift."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient

import labelloop.server.trainer as trainer_module
from labelloop.loop import Workspace, run_round
from labelloop.loop.monitoring import Progress, check_label_errors
from labelloop.server.app import create_app
from labelloop.server.routes_monitor import (
    dismiss,
    find_concept_drift,
    flags,
    label_error_search,
    reports,
)
from labelloop.server.security import Caller
from labelloop.store import FLAG_KINDS, REPORT_KINDS, LabelInput, MonitorReport
from tests.server.conftest import login, make_project, request_to, truth


def _labeled_project(project: Path, flips: int) -> list[int]:
    """Label every item with its truth, ``flips`` of them wrongly; run a round."""
    ws = Workspace.open(project)
    items = ws.store.items(ws.project.id)
    wrong = {item.id for item in items[::7][:flips]}
    ws.store.record_labels(
        ws.project.id,
        [
            LabelInput(
                i.id,
                str((int(truth(i.name)) + 5) % 10) if i.id in wrong else truth(i.name),
                annotator="t",
            )
            for i in items
        ],
    )
    run_round(ws)
    ws.close()
    return sorted(wrong)


def test_overview_needs_a_login_and_starts_empty(app_client: TestClient) -> None:
    assert app_client.get("/api/monitor").status_code == 401
    login(app_client, "ann")
    body = app_client.get("/api/monitor").json()
    assert body["decision"] == "continue"
    assert body["latest"]["stopping"] is None and body["drift_history"] == []
    assert body["open_flags"] == {
        "outlier": 0,
        "label_error": 0,
        "drift": 0,
        "concept_drift": 0,
        "unreadable": 0,
    }


def test_label_errors_are_found_listed_and_dismissed(project: Path) -> None:
    wrong = _labeled_project(project, flips=8)
    with TestClient(create_app(project, start_training=False)) as client:
        headers = login(client, "ann")
        assert client.post("/api/monitor/label-errors", headers=headers).status_code == 403
        headers = login(client, "rita")
        response = client.post("/api/monitor/label-errors", headers=headers)
        assert response.status_code == 202, response.text
        job = response.json()
        assert job["requested_by"] == "rita" and job["state"] in ("running", "done")
        assert response.headers["location"] == f"/api/monitor/label-errors/{job['id']}"
        client.app.state.trainer.label_errors.wait(timeout=120)  # type: ignore[attr-defined]
        done = client.get(f"/api/monitor/label-errors/{job['id']}").json()
        assert done["state"] == "done" and done["progress"] == 1.0, done
        assert client.get("/api/monitor/label-errors").json() == done
        report = client.get("/api/monitor/reports", params={"kind": "label_errors"}).json()[0]
        assert (report["id"], report["summary"]) == (done["report_id"], done["summary"])
        flags = client.get("/api/monitor/flags", params={"kind": "label_error"}).json()
        found = {f["item_id"] for f in flags}
        assert len(found & set(wrong)) >= 5
        assert all(f["detail"]["suggested"] != f["detail"]["given"] for f in flags)
        first = flags[0]["item_id"]
        url = f"/api/monitor/flags/label_error/{first}/dismiss"
        assert client.post(url, headers=headers).status_code == 204
        assert client.post(url, headers=headers).status_code == 404
        still = client.get("/api/monitor/flags", params={"kind": "label_error"}).json()
        assert first not in {f["item_id"] for f in still}
        overview = client.get("/api/monitor").json()
        assert overview["open_flags"]["label_error"] == len(flags) - 1
        assert overview["latest"]["stopping"]["body"]["decision"] in ("continue", "diminishing")


def test_unknown_kinds_and_early_checks_are_refused(app_client: TestClient) -> None:
    headers = login(app_client, "rita")
    assert app_client.get("/api/monitor/flags", params={"kind": "typo"}).status_code == 422
    assert app_client.get("/api/monitor/reports", params={"kind": "typo"}).status_code == 422
    assert app_client.post("/api/monitor/label-errors", headers=headers).status_code == 409
    assert app_client.get("/api/monitor/label-errors").json() is None
    assert app_client.post("/api/monitor/concept-drift", headers=headers).status_code == 409
    assert app_client.get("/api/monitor/reports").json() == []


def test_label_error_search_runs_off_the_request_path_one_at_a_time(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _labeled_project(project, flips=0)
    release, entered = threading.Event(), threading.Event()

    def slow(ws: Workspace, *, on_progress: Progress | None = None) -> MonitorReport:
        assert on_progress is not None
        on_progress("fold 1/5", 0.25)
        entered.set()
        assert release.wait(60), "the test never released the search"
        return check_label_errors(ws, on_progress=on_progress)

    monkeypatch.setattr(trainer_module, "check_label_errors", slow)
    with TestClient(create_app(project, start_training=False)) as client:
        headers = login(client, "rita")
        first = client.post("/api/monitor/label-errors", headers=headers)
        # The POST answered while the fit is still held: it ran off the request path.
        assert first.status_code == 202 and first.json()["state"] == "running"
        assert entered.wait(60)
        job = first.json()["id"]
        running = client.get(f"/api/monitor/label-errors/{job}").json()
        assert (running["state"], running["step"], running["progress"]) == (
            "running",
            "fold 1/5",
            0.25,
        )
        again = client.post("/api/monitor/label-errors", headers=headers)
        assert again.status_code == 202 and again.json()["id"] == job
        assert client.get("/api/monitor/reports", params={"kind": "label_errors"}).json() == []
        release.set()
        search: Any = client.app.state.trainer.label_errors  # type: ignore[attr-defined]
        search.wait(timeout=120)
        assert client.get(f"/api/monitor/label-errors/{job}").json()["state"] == "done"
        second = client.post("/api/monitor/label-errors", headers=headers).json()
        assert second["id"] == job + 1
        search.wait(timeout=120)


def test_a_failed_label_error_search_says_why(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _labeled_project(project, flips=0)

    def broken(ws: Workspace, *, on_progress: Progress | None = None) -> MonitorReport:
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(trainer_module, "check_label_errors", broken)
    with TestClient(create_app(project, start_training=False)) as client:
        headers = login(client, "rita")
        job = client.post("/api/monitor/label-errors", headers=headers).json()
        client.app.state.trainer.label_errors.wait(timeout=60)  # type: ignore[attr-defined]
        failed = client.get(f"/api/monitor/label-errors/{job['id']}").json()
        assert failed["state"] == "failed" and failed["finished_at"] is not None
        assert failed["message"] == "RuntimeError: the disk went away"
        assert client.get("/api/monitor/label-errors/999").status_code == 404


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One unlabeled project for the module's tests that change nothing."""
    root = make_project(tmp_path_factory.mktemp("monitor") / "proj", per_class=1)
    with TestClient(create_app(root, start_training=False)) as client:
        yield client


def _rita(client: TestClient) -> Caller:
    ws: Workspace = client.app.state.ws  # type: ignore[attr-defined]
    return Caller(ws.store.people.user("rita"), "token")


def test_an_unknown_kind_is_refused_naming_the_kinds_there_are(reader: TestClient) -> None:
    request, rita = request_to(reader.app), _rita(reader)  # type: ignore[arg-type]
    with pytest.raises(HTTPException) as refused:
        reports(request, rita, kind="typo")
    assert refused.value.status_code == 422
    detail: Any = refused.value.detail
    assert detail[0]["loc"] == ["query", "report kind"]
    assert (
        detail[0]["msg"] == f"unknown report kind 'typo'; choose one of {', '.join(REPORT_KINDS)}"
    )
    for call in (
        lambda: flags(request, rita, kind="typo"),
        lambda: dismiss("typo", 1, request, rita),
    ):
        with pytest.raises(HTTPException) as refused:
            call()
        assert refused.value.status_code == 422
        assert ", ".join(FLAG_KINDS) in refused.value.detail[0]["msg"]  # type: ignore[index]


def test_what_is_not_there_is_a_404_or_409_that_says_what_to_do(reader: TestClient) -> None:
    request, rita = request_to(reader.app), _rita(reader)  # type: ignore[arg-type]
    with pytest.raises(HTTPException) as refused:
        dismiss("outlier", 5, request, rita)
    assert refused.value.status_code == 404
    assert refused.value.detail == "item 5 has no open outlier flag"
    with pytest.raises(HTTPException) as refused:
        label_error_search(7, request, rita)
    assert refused.value.status_code == 404 and "start one with POST" in refused.value.detail
    with pytest.raises(HTTPException) as refused:
        find_concept_drift(request, rita)
    assert refused.value.status_code == 409 and "train a model first" in refused.value.detail
    assert reports(request, rita) == [] and flags(request, rita, open_only=False) == []
