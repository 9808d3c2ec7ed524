"""The monitor's endpoints: overview, reports, flags, label errors, concept drift."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from labelloop.loop import Workspace, run_round
from labelloop.server.app import create_app
from labelloop.store import LabelInput
from tests.server.conftest import login, truth


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
        assert response.status_code == 201, response.text
        assert response.json()["kind"] == "label_errors"
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
    assert app_client.post("/api/monitor/concept-drift", headers=headers).status_code == 409
    assert app_client.get("/api/monitor/reports").json() == []
