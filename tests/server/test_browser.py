"""The web UI in a real browser: Playwright drives Debian's chromium against a live server.

Screenshots of every page land in ``/tmp/labelloop-ui/`` for a person to look at.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.server.browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS
from tests.server.conftest import PASSWORD, LiveServer, make_project, start_server, truth

if not CHROMIUM.exists():
    pytest.skip(
        f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)",
        allow_module_level=True,
    )

SHOTS = Path("/tmp/labelloop-ui")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Frequent retraining and auto-labels at a low threshold from few labels on,
    # so that ten labels are enough to give the review queue something to show.
    root = make_project(
        tmp_path_factory.mktemp("ui") / "ui",
        auto_label_threshold=0.3,
        auto_label_min_labels=5,
        retrain_every=5,
    )
    live = start_server(root)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert errors == [], f"uncaught errors in the page's scripts: {errors}"


def _log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")


def _csrf(page: Page) -> dict[str, str]:
    me = page.request.get("/api/auth/me")
    assert me.ok, me.text()
    return {"X-CSRF-Token": me.json()["csrf_token"]}


def _api(page: Page, path: str) -> Any:
    response = page.request.get(path)
    assert response.ok, f"GET {path}: {response.status} {response.text()}"
    return response.json()


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def _ready_item(page: Page) -> int:
    """The id of the item on screen, once the view is ready for an answer."""
    bench = page.locator("#workbench[data-state=ready]")
    expect(bench).to_have_count(1)
    return int(bench.get_attribute("data-item-id") or "0")


def _label_with_keys(page: Page, count: int) -> list[int]:
    """Answer ``count`` items with the number key of their true digit; the items' ids."""
    done: list[int] = []
    for n in range(1, count + 1):
        item_id = _ready_item(page)
        name = _api(page, f"/api/items/{item_id}")["item"]["name"]
        page.keyboard.press(truth(name))
        expect(page.locator("#session-count")).to_have_text(f"{n} this session")
        done.append(item_id)
    return done


def _settle_training(page: Page, timeout: float = 30.0) -> None:
    """Wait until a model trained on the latest labels serves; start a run if none is due."""
    headers = _csrf(page)

    def settled() -> bool:
        training = _api(page, "/api/training")
        if training["state"] == "running":
            return False
        if training["labels_since_last_run"] > 0 or training["model_version"] is None:
            # The labels came in while a run was busy; nothing starts one on its own now.
            started = page.request.post("/api/training", headers=headers)
            assert started.status in (202, 409), started.text()
            return False
        return bool(training["runs"][0]["status"] == "succeeded")

    _wait_for(settled, "a training run on the new labels", timeout)


def test_an_empty_review_queue_says_so_and_offers_to_check_again(
    page: Page, server: LiveServer
) -> None:
    # First in the module: nothing is labeled yet, so no auto label waits for review.
    page.goto("/review")
    _log_in(page, "rita")
    expect(page.locator("#workbench[data-state=empty]")).to_have_count(1)
    empty = page.locator("#stage .stage-empty")
    expect(empty.locator("#empty-message")).to_have_text("No auto-labels are waiting for review.")
    expect(empty.locator("span")).to_contain_text("confidence reaches the project's threshold")
    expect(empty.locator(".row > *")).to_have_text(["Check again", "Label images", "Dashboard"])
    expect(page.locator("#item-title")).to_have_text("Queue empty")
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    empty.locator("button", has_text="Check again").click()
    expect(page.locator("#workbench[data-state=empty]")).to_have_count(1)
    _wait_for(lambda: any(url.endswith("/api/review/next") for url in asked), "a new request")


def test_label_undo_dashboard_and_review(page: Page, server: LiveServer) -> None:
    page.goto("/label")
    expect(page).to_have_url(f"{server.url}/login?next=%2Flabel")
    page.screenshot(path=SHOTS / "login.png")
    _log_in(page, "rita")
    expect(page).to_have_url(f"{server.url}/label")
    _ready_item(page)
    expect(page.locator("#user-name")).to_have_text("rita")
    expect(page.locator("#user-role")).to_have_text("reviewer")
    expect(page.locator("a[data-nav=review]")).to_be_visible()
    start = _api(page, "/api/project")["progress"]
    image = page.locator("#item-image")
    expect(image).to_have_class("pixelated")
    width = image.bounding_box()
    assert width is not None and width["width"] >= 384, width
    page.keyboard.press("+")
    expect(page.locator("#zoom-level")).to_have_text("125%")
    page.keyboard.press("-")
    expect(page.locator("#zoom-level")).to_have_text("100%")

    labeled = _label_with_keys(page, 10)

    assert len(set(labeled)) == 10
    for item_id in labeled:
        shown = _api(page, f"/api/items/{item_id}")
        assert shown["current"]["value"] == truth(shown["item"]["name"])
        assert shown["current"]["annotator"] == "rita"
    progress = page.locator("#progress")
    expect(progress.locator("[data-count=labeled]")).to_have_text(str(start["labeled"] + 10))
    human_width = progress.locator(".progress-track > .progress-human").evaluate(
        "node => node.style.width"
    )
    assert float(human_width.rstrip("%")) > 0
    page.screenshot(path=SHOTS / "label.png")

    page.keyboard.press("z")
    expect(page.locator("#session-count")).to_have_text("9 this session")
    expect(progress.locator("[data-count=labeled]")).to_have_text(str(start["labeled"] + 9))
    undone = _api(page, f"/api/items/{labeled[-1]}/history")
    assert [e["action"] for e in undone] == ["label", "undo"]
    assert undone[-1]["value"] is None
    # The undone image comes straight back to be labeled again.
    expect(page.locator("#workbench[data-state=ready]")).to_have_attribute(
        "data-item-id", str(labeled[-1])
    )

    _settle_training(page)
    after = _api(page, "/api/project")["progress"]
    training = _api(page, "/api/training")
    assert after["labeled"] == start["labeled"] + 9
    assert after["auto_labeled"] > 0, "the model auto-labeled nothing at threshold 0.3"

    page.goto("/dashboard")
    expect(page.locator("#dashboard[data-state=ready]")).to_have_count(1)
    expect(page.locator("[data-stat=labeled]")).to_have_text(str(start["labeled"] + 9))
    expect(page.locator("[data-stat=auto_labeled]")).to_have_text(str(after["auto_labeled"]))
    expect(page.locator("[data-stat=items]")).to_have_text(str(after["items"]))
    expect(page.locator("#annotators tr[data-annotator=rita]")).to_have_count(1)
    expect(page.locator("#model-version")).to_have_text(training["model_version"])
    expect(page.locator("#retrain")).to_be_visible()
    page.screenshot(path=SHOTS / "dashboard.png", full_page=True)

    page.click("a[data-nav=review]")
    expect(page).to_have_url(f"{server.url}/review")
    item_id = _ready_item(page)
    before = _api(page, f"/api/items/{item_id}/history")[-1]
    assert before["source"] == "auto"
    expect(page.locator("#auto-value")).to_have_text(before["value"])
    expect(page.locator("#auto-model")).to_contain_text(before["model_version"])
    page.screenshot(path=SHOTS / "review.png")
    page.keyboard.press("Enter")
    expect(page.locator("#reviewed-count")).to_have_text("1 reviewed this session")

    last = _api(page, f"/api/items/{item_id}/history")[-1]
    assert (last["source"], last["action"], last["annotator"]) == ("human", "accept", "rita")
    assert last["value"] == before["value"]
    assert last["supersedes_id"] == before["id"]


def test_history_page_shows_every_event(page: Page, server: LiveServer) -> None:
    page.goto("/login")
    _log_in(page, "bob")
    item_id = _ready_item(page)
    headers = _csrf(page)
    name = _api(page, f"/api/items/{item_id}")["item"]["name"]
    wrong = "1" if truth(name) != "1" else "2"
    page.keyboard.press(wrong)
    expect(page.locator("#session-count")).to_have_text("1 this session")
    first = _api(page, f"/api/items/{item_id}/history")[-1]
    fixed = page.request.post(
        f"/api/items/{item_id}/labels",
        data={"value": truth(name), "expected_event_id": first["id"]},
        headers=headers,
    )
    assert fixed.status == 201, fixed.text()
    events = _api(page, f"/api/items/{item_id}/history")

    current = _ready_item(page)
    expect(page.locator("#history-link")).to_have_attribute("href", f"/history?item={current}")
    page.click("#last-label a")
    expect(page).to_have_url(f"{server.url}/history?item={item_id}")
    expect(page.locator(f"#history[data-item-id='{item_id}']")).to_have_count(1)
    rows = page.locator("#events tbody tr")
    expect(rows).to_have_count(len(events))
    for row, event in zip(rows.all(), events, strict=True):
        cells = row.locator("td")
        expect(cells.nth(0)).to_have_text(str(event["seq"]))
        expect(cells.nth(1)).to_have_text(event["action"])
        expect(cells.nth(2)).to_have_text(event["value"] or "(none)")
        expect(cells.nth(3)).to_have_text(event["source"])
        expect(cells.nth(4)).to_have_text(event["annotator"] or "—")
    assert [(e["action"], e["annotator"]) for e in events[-2:]] == [
        ("label", "bob"),
        ("correct", "bob"),
    ]
    expect(rows.last).to_have_class("head-row")
    expect(rows.last.locator("td").nth(8)).to_have_text(f"seq {first['seq']}")
    expect(page.locator("#history-image")).to_be_visible()
    page.screenshot(path=SHOTS / "history.png")


def test_wrong_password_shows_an_error(page: Page, server: LiveServer) -> None:
    page.goto("/login")
    _log_in(page, "ann", "not the password")
    error = page.locator("#login-error")
    expect(error).to_be_visible()
    expect(error).to_have_text("Wrong username or password.")
    expect(page).to_have_url(f"{server.url}/login")
    assert page.request.get("/api/auth/me").status == 401
    page.screenshot(path=SHOTS / "login-error.png")


def test_annotator_sees_no_review(page: Page, server: LiveServer) -> None:
    page.goto("/login?next=/dashboard")
    _log_in(page, "ann")
    expect(page).to_have_url(f"{server.url}/dashboard")
    expect(page.locator("#dashboard[data-state=ready]")).to_have_count(1)
    expect(page.locator("a[data-nav=label]")).to_be_visible()
    expect(page.locator("a[data-nav=review]")).to_have_count(0)
    expect(page.locator("#retrain")).to_be_hidden()

    page.goto("/review")
    expect(page.locator("#workbench[data-state=forbidden]")).to_have_count(1)
    expect(page.locator("#forbidden-message")).to_be_visible()
    expect(page.locator("#stage")).to_contain_text("reviewer")
    expect(page.locator("#accept")).to_be_hidden()
    assert page.request.post("/api/review/next", headers=_csrf(page)).status == 403
    page.screenshot(path=SHOTS / "review-forbidden.png")

    page.click("#logout")
    expect(page).to_have_url(f"{server.url}/login")
    assert page.request.get("/api/auth/me").status == 401


def test_stale_lease_shows_the_reason_and_moves_on(page: Page) -> None:
    page.goto("/login")
    _log_in(page, "admin")
    item_id = _ready_item(page)
    lease_id = page.locator("#workbench").get_attribute("data-lease-id")
    closed = page.request.post(f"/api/leases/{lease_id}/skip", headers=_csrf(page))
    assert closed.status == 204, closed.text()

    page.keyboard.press("3")
    expect(page.locator(".notice.warn")).to_contain_text(f"lease {lease_id} was already closed")
    expect(page.locator("#workbench[data-state=ready]")).not_to_have_attribute(
        "data-item-id", str(item_id)
    )
    expect(page.locator("#session-count")).to_have_text("0 this session")
    assert all(e["annotator"] != "admin" for e in _api(page, f"/api/items/{item_id}/history"))


def test_the_model_guess_after_an_answer_shows_which_image_it_was(page: Page) -> None:
    page.goto("/login")
    _log_in(page, "rita")  # a reviewer may start the training run the guess needs
    _ready_item(page)
    _settle_training(page)
    page.reload()
    item_id = _ready_item(page)
    name = _api(page, f"/api/items/{item_id}")["item"]["name"]
    page.keyboard.press(truth(name))
    guess = page.locator("#guess")
    expect(guess).to_be_visible()
    expect(guess.locator(f"img[data-item-id='{item_id}']")).to_have_count(1)
    expect(guess).to_contain_text("for this one")
