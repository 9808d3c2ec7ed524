"""The data browser in a real browser: paging, filters in the address, opening and relabeling."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

import pytest
from playwright.sync_api import Page, expect

from labelloop.loop import Workspace
from labelloop.store import FlagInput, LabelInput
from tests.server.browser import CHROMIUM, open_page
from tests.server.conftest import PASSWORD, LiveServer, make_project, start_server, truth

DASH = "\N{EN DASH}"  # as the page writes "1-100 of 120"

if not CHROMIUM.exists():
    pytest.skip("browser tests need Debian's chromium", allow_module_level=True)


class Seeded(NamedTuple):
    server: LiveServer
    labeled: list[int]  # by ann, with the true digit
    auto: int
    flagged: int


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """120 digits: 6 labeled by ann, one auto-labeled, one flagged as an outlier."""
    root = make_project(tmp_path_factory.mktemp("data") / "proj", per_class=12)
    ws = Workspace.open(root)
    try:
        items = ws.store.items(ws.project.id)
        pid = ws.project.id
        ws.store.record_labels(
            pid,
            [LabelInput(i.id, truth(i.name), source="human", annotator="ann") for i in items[:6]],
        )
        ws.store.leases.record_auto_labels(
            pid, model_version="m1", predictions=[(items[6].id, "4", 0.97)], threshold=0.9
        )
        ws.store.monitor.add_report(
            pid,
            "outliers",
            body={},
            summary="",
            flags=[FlagInput(items[7].id, 0.9)],
            flag_kind="outlier",
        )
    finally:
        ws.close()
    server = start_server(root)
    yield Seeded(server, [i.id for i in items[:6]], items[6].id, items[7].id)
    server.stop()


@pytest.fixture
def page(seeded: Seeded) -> Iterator[Page]:
    with open_page(seeded.server.url, width=1400) as tab:
        yield tab


def _log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    expect(page).to_have_url(re.compile(r"/label$"))


def test_pages_and_filters_live_in_the_address(page: Page, seeded: Seeded) -> None:
    _log_in(page, "rita")
    page.click("[data-nav=data]")
    expect(page.locator("#result-count")).to_have_text(f"1{DASH}100 of 120 items")
    cards = page.locator(".item-card")
    expect(cards).to_have_count(100)
    first = cards.first.locator("img")
    expect(first).to_have_js_property("complete", True)
    assert first.evaluate("img => img.naturalWidth") > 0
    page.click("#next-page")
    expect(page.locator("#result-count")).to_have_text(f"101{DASH}120 of 120 items")
    expect(page).to_have_url(re.compile(r"/data\?page=2$"))

    page.select_option("#f-origin", "unlabeled")
    expect(page.locator("#result-count")).to_have_text(f"1{DASH}100 of 113 items")
    expect(page).to_have_url(re.compile(r"origin=unlabeled"))
    page.select_option("#f-origin", "")
    page.select_option("#f-flag", "outlier")
    expect(cards).to_have_count(1)
    expect(cards.first).to_have_attribute("data-item-id", str(seeded.flagged))
    expect(cards.first.locator(".flag-chip")).to_have_text("outlier")
    page.select_option("#f-flag", "")
    page.select_option("#f-origin", "auto")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("4")

    # The address restores the view.
    page.goto("/data?origin=human&sort=id&order=desc")
    expect(page.locator("#f-origin")).to_have_value("human")
    expect(cards).to_have_count(6)
    expect(cards.first).to_have_attribute("data-item-id", str(seeded.labeled[-1]))
    page.screenshot(path="/tmp/labelloop-ui/data-browser.png", full_page=True)


def test_open_an_item_see_its_history_and_relabel_it(page: Page, seeded: Seeded) -> None:
    _log_in(page, "rita")
    target = seeded.labeled[0]
    page.goto(f"/data?origin=human&item={target}")
    detail = page.locator("#item-detail")
    expect(detail).to_be_visible()
    expect(page.locator("#detail-title")).to_have_text(f"Item #{target}")
    expect(page.locator("#detail-history li")).to_have_count(1)
    before = page.request.get(f"/api/items/{target}").json()["current"]["value"]
    other = "7" if before != "7" else "8"
    page.click(f"#detail-pad [data-class='{other}']")
    expect(page.locator("#detail-history li")).to_have_count(2)
    expect(page.locator("#detail-history li").first).to_contain_text(f"correct {other}")
    expect(page.locator(f".item-card[data-item-id='{target}'] .item-label")).to_have_text(other)
    current = page.request.get(f"/api/items/{target}").json()["current"]
    assert (current["value"], current["action"], current["annotator"]) == (other, "correct", "rita")
    page.click("#detail-close")
    expect(detail).to_be_hidden()


def test_annotators_have_no_data_page(page: Page) -> None:
    _log_in(page, "ann")
    expect(page.locator("[data-nav=data]")).to_have_count(0)
    page.goto("/data")
    expect(page.locator("[role=alert]")).to_contain_text("reviewer's right")
