"""The dashboard's data-health panels in a real browser (Playwright + Debian's chromium)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from labelloop.loop import Workspace, run_round
from labelloop.loop.health import check_label_errors
from labelloop.store import LabelInput
from tests.server.browser import CHROMIUM, open_page
from tests.server.conftest import PASSWORD, LiveServer, make_project, start_server, truth

if not CHROMIUM.exists():
    pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM}", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = make_project(tmp_path_factory.mktemp("health") / "health", retrain_every=1000)
    ws = Workspace.open(root)
    items = ws.store.items(ws.project.id)
    # A few wrong labels for the label-error panel, and two rounds for the stopping panel.
    ws.store.record_labels(
        ws.project.id,
        [
            LabelInput(
                i.id,
                str((int(truth(i.name)) + 5) % 10) if n % 9 == 0 else truth(i.name),
                annotator="t",
            )
            for n, i in enumerate(items)
        ],
    )
    run_round(ws)
    run_round(ws)
    check_label_errors(ws)
    ws.close()
    live = start_server(root)
    yield live
    live.stop()


@pytest.fixture
def page(server: LiveServer) -> Iterator[Page]:
    with open_page(server.url, timeout_ms=15_000) as tab:
        yield tab


def _open_dashboard(page: Page) -> None:
    """Log in as the reviewer and wait for the dashboard's first load."""
    page.goto("/login?next=%2Fdashboard")
    page.fill("#username", "rita")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url("**/dashboard")
    expect(page.locator("#dashboard")).to_have_attribute("data-state", "ready")


def test_dashboard_shows_the_verdict_and_the_relabel_queue(page: Page) -> None:
    _open_dashboard(page)
    decision = page.locator("#stop-decision")
    expect(decision).not_to_have_text("\u2013")  # the placeholder dash
    assert decision.inner_text() in ("continue", "returns are diminishing")
    expect(page.locator("#stop-rules tbody tr")).to_have_count(3)
    rows = page.locator("#label-error-queue tbody tr")
    expect(rows.first.locator("a")).to_be_visible()
    before = rows.count()
    assert before >= 2
    first = rows.first.locator("a").inner_text()
    rows.first.locator("button", has_text="Dismiss").click()
    expect(page.locator("#label-error-queue tbody tr")).to_have_count(before - 1)
    assert first not in page.locator("#label-error-queue").inner_text()
    page.screenshot(path="/tmp/labelloop-ui/dashboard-health.png", full_page=True)


def test_look_now_polls_the_background_search_to_its_summary(page: Page) -> None:
    _open_dashboard(page)
    button = page.locator("#find-label-errors")
    with page.expect_response(
        lambda r: r.url.endswith("/api/monitor/label-errors") and r.request.method == "POST"
    ) as posted:
        button.click()
    assert posted.value.status == 202
    # The POST answers with a running job and no summary: the summary shown comes
    # from polling the job until it is done.
    expect(page.locator("#notices .notice.ok")).to_contain_text(
        "labels need another look", timeout=60_000
    )
    expect(button).to_be_enabled()
    expect(button).to_have_text("Look now")
