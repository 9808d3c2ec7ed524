"""The admin's pages in a real browser: settings with their meaning and effect, and people."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.server.browser import CHROMIUM, open_page
from tests.server.conftest import PASSWORD, LiveServer, make_project, start_server

if not CHROMIUM.exists():
    pytest.skip("browser tests need Debian's chromium", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = make_project(tmp_path_factory.mktemp("admin") / "proj", per_class=2)
    live = start_server(root)
    yield live
    live.stop()


@pytest.fixture
def page(server: LiveServer) -> Iterator[Page]:
    with open_page(server.url, width=1400) as tab:
        yield tab


def _log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    expect(page).to_have_url("/label")


def test_settings_page_explains_saves_and_refuses(page: Page) -> None:
    _log_in(page, "admin")
    page.click("[data-nav=settings]")
    batch = page.locator("[data-setting=batch_size]")
    expect(batch).to_contain_text("items queued per round")
    expect(batch).to_contain_text("Takes effect at the next round")
    expect(page.locator("#setting-name")).to_be_disabled()  # fixed at init
    page.fill("#setting-batch_size", "0")
    page.click("#settings-save")
    expect(page.locator("#settings-error")).to_contain_text("batch_size")
    page.fill("#setting-batch_size", "7")
    page.select_option("#setting-show_prediction", '"prefill"')
    page.click("#settings-save")
    expect(page.locator("[data-changed=batch_size]")).to_contain_text("5 → 7")
    expect(page.locator("[data-changed=show_prediction]")).to_contain_text("now")
    expect(page.locator("#settings-history tbody tr").first).to_contain_text("admin")
    config = page.request.get("/api/project").json()["config"]
    assert config["batch_size"] == 7 and config["show_prediction"] == "prefill"


def test_people_page_adds_changes_and_disables_accounts(page: Page) -> None:
    _log_in(page, "admin")
    page.click("[data-nav=users]")
    page.fill("#new-username", "carl")
    page.fill("#new-password", "long-password-9")
    page.click("#add-user-submit")
    row = page.locator("tr[data-user=carl]")
    expect(row).to_contain_text("carl")
    row.locator("select").select_option("reviewer")
    expect(page.locator("tr[data-user=carl] select")).to_have_value("reviewer")
    page.locator("[data-toggle=carl]").click()
    expect(page.locator("tr[data-user=carl] [data-active]")).to_have_text("no")
    # The last admin cannot be demoted: the page says why.
    page.locator("tr[data-user=admin] select").select_option("annotator")
    expect(page.locator("#users-error")).to_contain_text("last active admin")
    users = {u["username"]: u for u in page.request.get("/api/users").json()}
    assert users["carl"]["role"] == "reviewer" and not users["carl"]["active"]
    assert users["admin"]["role"] == "admin"


def test_annotators_see_no_admin_pages(page: Page) -> None:
    _log_in(page, "ann")
    expect(page.locator("[data-nav=settings]")).to_have_count(0)
    expect(page.locator("[data-nav=users]")).to_have_count(0)
