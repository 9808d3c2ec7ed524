"""The box editor in a real browser: Playwright drives Debian's chromium against a live server.

Every test reads back through the API what the page saved, in pixels of the
original 96x64 image. Screenshots land in ``/tmp/labelloop-ui/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.server.conftest import PASSWORD, LiveServer, start_server
from tests.server.detection_fixtures import (
    HEIGHT,
    WIDTH,
    add_auto_labels,
    add_proposals,
    item_ids,
    make_detection_project,
)

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)",
        allow_module_level=True,
    )

SHOTS = Path("/tmp/labelloop-ui")
TIMEOUT_MS = 10_000
X = "\N{MULTIPLICATION SIGN}"  # as the page writes "2 boxes: 1xcat, 1xdog"
PROPOSAL = {"x": 60.0, "y": 30.0, "width": 20.0, "height": 24.0, "label": "bird", "score": 0.8}
AUTO = [
    {"x": 2.0, "y": 3.0, "width": 30.0, "height": 20.0, "label": "cat", "score": 0.9},
    {"x": 50.0, "y": 10.0, "width": 40.0, "height": 40.0, "label": "dog", "score": 0.6},
]
SURE = [{"x": 10.0, "y": 10.0, "width": 10.0, "height": 10.0, "label": "bird", "score": 0.97}]


# Three objects, each proposed twice (once per likely class), as a detector
# that suppresses overlaps only within a class offers them.
CROWDED = [
    {
        "x": x + dx,
        "y": y,
        "width": 16.0,
        "height": 16.0,
        "label": label,
        "score": score,
        "classes": {label: 0.6, other: 0.4},
    }
    for x, y in ((8.0, 8.0), (40.0, 8.0), (70.0, 36.0))
    for dx, label, other, score in ((0.0, "cat", "dog", 0.8), (1.0, "dog", "cat", 0.7))
]


class Served(NamedTuple):
    """The live server and the ids of its project's items."""

    server: LiveServer
    items: list[int]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = make_detection_project(
        tmp_path_factory.mktemp("boxes") / "boxes", n_items=8, show_prediction="prefill"
    )
    items = item_ids(root)
    # A round ranks items 0, 1, 2 first (0 with one proposal); the last two
    # are auto-labeled. Both are recorded before the server starts, so that
    # it finds a ranking and does not train at start-up.
    add_proposals(root, {items[0]: [PROPOSAL], items[1]: [], items[2]: []})
    add_auto_labels(root, {items[-1]: AUTO, items[-2]: SURE})
    server = start_server(root)
    yield Served(server, items)
    server.stop()


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Four images, each with six overlapping proposals (two per object)."""
    root = make_detection_project(tmp_path_factory.mktemp("crowded") / "crowded", n_items=4)
    items = item_ids(root)
    add_proposals(root, dict.fromkeys(items, CROWDED))
    server = start_server(root)
    yield Served(server, items)
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            headless=True,
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, live: Served) -> Iterator[Page]:
    context = browser.new_context(base_url=live.server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert errors == [], f"uncaught errors in the page's scripts: {errors}"


def _open(page: Page, username: str, route: str) -> int:
    """Log in, open ``route``; the id of the item on screen once it is ready."""
    page.goto(f"/login?next={route}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    bench = page.locator("#workbench[data-state=ready]")
    expect(bench).to_have_count(1)
    expect(page.locator("#item-image")).to_have_js_property("complete", True)
    return int(bench.get_attribute("data-item-id") or "0")


def _api(page: Page, path: str) -> Any:
    response = page.request.get(path)
    assert response.ok, f"GET {path}: {response.status} {response.text()}"
    return response.json()


def _csrf(page: Page) -> dict[str, str]:
    return {"X-CSRF-Token": _api(page, "/api/auth/me")["csrf_token"]}


def _screen(page: Page, x: float, y: float) -> tuple[float, float]:
    """Where pixel (x, y) of the original image is on screen now."""
    box = page.locator("#item-image").bounding_box()
    assert box is not None
    return box["x"] + x * box["width"] / WIDTH, box["y"] + y * box["height"] / HEIGHT


def _drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=6)
    page.mouse.up()


def _drag_pixels(page: Page, x0: float, y0: float, x1: float, y1: float) -> None:
    """A mouse drag between two pixels of the original image."""
    _drag(page, _screen(page, x0, y0), _screen(page, x1, y1))


def _centre(page: Page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _close(got: list[dict[str, Any]], want: list[dict[str, Any]], tol: float = 1.0) -> bool:
    if len(got) != len(want):
        return False
    keys = ("x", "y", "width", "height")
    return all(
        g["label"] == w["label"] and all(abs(g[k] - w[k]) <= tol for k in keys)
        for g, w in zip(got, want, strict=True)
    )


def _plain(box: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in box.items() if k != "score"}


def test_draw_edit_accept_save_and_history(page: Page, live: Served) -> None:
    item_id = _open(page, "ann", "/label")
    assert item_id == live.items[0]
    boxes = page.locator(".bbox[data-kind=box]")
    proposals = page.locator(".bbox[data-kind=proposal]")
    expect(proposals).to_have_count(1)
    expect(proposals).to_contain_text("bird 0.80")
    expect(page.locator("#rank")).to_contain_text("least certain box 0.80")

    _drag_pixels(page, 10, 10, 30, 25)  # draw: (10, 10) 20x15, the first class
    expect(boxes).to_have_count(1)
    expect(boxes.first).to_contain_text("cat")
    _drag_pixels(page, 20, 17, 25, 20)  # move by (5, 3)
    _drag(page, _centre(page, ".bbox.selected .h-se"), _screen(page, 45, 33))  # resize
    page.keyboard.press("2")  # relabel
    expect(boxes.first).to_contain_text("dog")
    expect(page.locator("#box-list li[data-kind=box]")).to_contain_text(f"15,13 30{X}20")

    _drag_pixels(page, 50, 5, 58, 12)  # a second box, then delete it, undo, delete again
    expect(boxes).to_have_count(2)
    expect(page.locator(".bbox.selected")).to_have_count(0)  # a new box is left unselected
    page.locator(".bbox[data-kind=box]").nth(1).click()
    page.keyboard.press("Delete")
    expect(boxes).to_have_count(1)
    page.keyboard.press("Control+z")
    expect(boxes).to_have_count(2)
    page.keyboard.press("Backspace")
    expect(boxes).to_have_count(1)

    page.click(".bbox[data-kind=proposal]")
    page.keyboard.press("a")  # accept the proposal
    expect(proposals).to_have_count(0)
    expect(boxes).to_have_count(2)
    page.screenshot(path=SHOTS / "detect-label.png")
    page.keyboard.press("Enter")
    expect(page.locator("#session-count")).to_have_text("1 saved this session")

    saved = _api(page, f"/api/items/{item_id}")["current"]
    want = [{"x": 15, "y": 13, "width": 30, "height": 20, "label": "dog"}, _plain(PROPOSAL)]
    assert _close(saved["value"], want), saved["value"]
    assert saved["value"][1] == _plain(PROPOSAL)  # an accepted proposal is saved as proposed
    assert (saved["action"], saved["annotator"]) == ("label", "ann")

    fixed = page.request.post(
        f"/api/items/{item_id}/labels",
        data={"value": saved["value"][:1], "expected_event_id": saved["id"]},
        headers=_csrf(page),
    )
    assert fixed.status == 201, fixed.text()
    page.click("#last-label a")
    expect(page).to_have_url(f"{live.server.url}/history?item={item_id}")
    rows = page.locator("#events tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td").nth(2)).to_have_text(f"2 boxes: 1{X}bird, 1{X}dog")
    expect(rows.nth(1).locator("td").nth(2)).to_have_text(f"1 box: 1{X}dog")
    expect(rows.nth(1).locator("td").nth(1)).to_have_text("correct")
    expect(rows.nth(0).locator("svg.boxes-preview rect")).to_have_count(2)
    page.screenshot(path=SHOTS / "detect-history.png")


def test_coordinates_hold_at_200_percent_and_after_panning(page: Page, live: Served) -> None:
    item_id = _open(page, "bob", "/label")
    expect(page.locator(".bbox[data-kind=proposal]")).to_have_count(0)
    width_100 = (page.locator("#item-image").bounding_box() or {"width": 0.0})["width"]
    page.keyboard.press("+")
    page.keyboard.press("+")
    expect(page.locator("#zoom-level")).to_have_text("200%")
    width_200 = (page.locator("#item-image").bounding_box() or {"width": 0.0})["width"]
    assert abs(width_200 - 2 * width_100) <= 1, (width_100, width_200)

    _drag_pixels(page, 40, 26, 56, 38)
    before = _screen(page, 0, 0)
    page.keyboard.down("Space")  # space + drag pans
    _drag(page, _screen(page, 48, 32), _screen(page, 44, 30))
    page.keyboard.up("Space")
    after = _screen(page, 0, 0)
    assert after[0] < before[0] - 10 and after[1] < before[1] - 10, (before, after)
    page.keyboard.press("Escape")
    page.keyboard.press("3")  # pick the class, then draw
    _drag_pixels(page, 58, 28, 68, 36)
    expect(page.locator(".bbox[data-kind=box]")).to_have_count(2)
    page.screenshot(path=SHOTS / "detect-zoomed.png")
    page.keyboard.press("Enter")
    expect(page.locator("#session-count")).to_have_text("1 saved this session")

    saved = _api(page, f"/api/items/{item_id}")["current"]["value"]
    want = [
        {"x": 40, "y": 26, "width": 16, "height": 12, "label": "cat"},
        {"x": 58, "y": 28, "width": 10, "height": 8, "label": "bird"},
    ]
    assert _close(saved, want), saved


def test_a_refused_save_keeps_the_boxes(page: Page) -> None:
    item_id = _open(page, "admin", "/label")
    page.keyboard.press("Enter")  # nothing drawn: Enter alone does not save "no objects"
    expect(page.locator(".notice.warn")).to_contain_text("No objects")
    lease_id = page.locator("#workbench").get_attribute("data-lease-id")
    closed = page.request.post(f"/api/leases/{lease_id}/skip", headers=_csrf(page))
    assert closed.status == 204, closed.text()

    _drag_pixels(page, 5, 5, 25, 20)
    page.keyboard.press("Enter")
    error = page.locator("#save-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(f"lease {lease_id} was already closed")
    expect(page.locator(".bbox[data-kind=box]")).to_have_count(1)
    assert _api(page, f"/api/items/{item_id}/history") == []
    page.screenshot(path=SHOTS / "detect-refused.png")

    page.click("#save-outside")
    expect(page.locator("#session-count")).to_have_text("1 saved this session")
    events = _api(page, f"/api/items/{item_id}/history")
    assert [e["action"] for e in events] == ["label"]
    assert _close(events[0]["value"], [{"x": 5, "y": 5, "width": 20, "height": 15, "label": "cat"}])


def test_review_fixes_auto_boxes(page: Page, live: Served) -> None:
    item_id = _open(page, "rita", "/review")
    assert item_id == live.items[-1]
    boxes = page.locator(".bbox[data-kind=box]")
    expect(boxes).to_have_count(2)
    expect(page.locator("#auto-summary")).to_contain_text(f"2 boxes: 1{X}cat, 1{X}dog")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # the dog
    page.keyboard.press("Delete")
    expect(boxes).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator("#session-count")).to_have_text("1 saved this session")
    last = _api(page, f"/api/items/{item_id}/history")[-1]
    assert (last["action"], last["annotator"]) == ("correct", "rita")
    assert last["value"] == [_plain(AUTO[0])]

    # The next, more confident one is accepted as it is, with the button.
    expect(
        page.locator(f"#workbench[data-state=ready][data-item-id='{live.items[-2]}']")
    ).to_have_count(1)
    expect(page.locator("#rank")).to_contain_text("least certain box 0.97")
    page.click("#accept")
    expect(page.locator("#session-count")).to_have_text("2 saved this session")
    accepted = _api(page, f"/api/items/{live.items[-2]}/history")[-1]
    assert (accepted["action"], accepted["value"]) == ("accept", [_plain(SURE[0])])


def test_geometry_keeps_boxes_inside_the_image(page: Page) -> None:
    page.goto("/login")
    result = page.evaluate(
        """async () => {
            const g = await import("/static/boxes.js");
            const box = { x: 10, y: 10, width: 20, height: 10, label: "cat" };
            return {
                drawn: g.boxFromCorners(90.4, 70, 80.6, -5, 96, 64, "dog"),
                dot: g.boxFromCorners(95.9, 63.9, 95.9, 63.9, 96, 64, "dog"),
                moved: g.moveBox(box, 100, -100, 96, 64),
                shrunk: g.resizeBox(box, "se", -50, -50, 96, 64),
                grown: g.resizeBox(box, "nw", -50, -50, 96, 64),
                edge: g.resizeBox(box, "e", 3.4, 99, 96, 64),
                words: [g.describeBoxes([]), g.describeBoxes([box, box, { ...box, label: "ant" }])],
            };
        }"""
    )
    assert result["drawn"] == {"x": 81, "y": 0, "width": 9, "height": 64, "label": "dog"}
    assert result["dot"] == {"x": 95, "y": 63, "width": 1, "height": 1, "label": "dog"}
    assert result["moved"] == {"x": 76, "y": 0, "width": 20, "height": 10, "label": "cat"}
    assert result["shrunk"] == {"x": 10, "y": 10, "width": 1, "height": 1, "label": "cat"}
    assert result["grown"] == {"x": 0, "y": 0, "width": 30, "height": 20, "label": "cat"}
    assert result["edge"] == {"x": 10, "y": 10, "width": 23, "height": 10, "label": "cat"}
    assert result["words"] == ["No objects", f"3 boxes: 1{X}ant, 2{X}cat"]


@pytest.fixture
def crowded_page(browser: Browser, crowded: Served) -> Iterator[Page]:
    context = browser.new_context(
        base_url=crowded.server.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert errors == [], f"uncaught errors in the page's scripts: {errors}"


def test_pick_the_class_then_draw_in_draw_mode_over_proposals(crowded_page: Page) -> None:
    page = crowded_page
    item_id = _open(page, "ann", "/label")
    proposals = page.locator(".bbox[data-kind=proposal]")
    boxes = page.locator(".bbox[data-kind=box]")
    expect(proposals).to_have_count(6)
    expect(proposals.first).to_contain_text("cat 0.80 · dog 40%")
    page.keyboard.press("d")
    expect(page.locator("#draw-mode")).to_have_attribute("aria-pressed", "true")
    # Each drag starts inside a proposal: in draw mode it draws all the same.
    for key, (x, y) in zip("321", ((8, 8), (40, 8), (70, 36)), strict=True):
        page.keyboard.press(key)
        _drag_pixels(page, x + 2, y + 2, x + 14, y + 14)
    expect(boxes).to_have_count(3)
    expect(proposals).to_have_count(6)  # none was selected, moved or accepted
    expect(page.locator(".bbox.selected")).to_have_count(0)
    expect(page.locator("#class-hint")).to_have_text("next box: cat")
    page.screenshot(path=SHOTS / "detect-draw-mode.png")
    page.keyboard.press("Enter")
    expect(page.locator("#session-count")).to_have_text("1 saved this session")
    saved = _api(page, f"/api/items/{item_id}")["current"]["value"]
    want = [
        {"x": 10, "y": 10, "width": 12, "height": 12, "label": "bird"},
        {"x": 42, "y": 10, "width": 12, "height": 12, "label": "dog"},
        {"x": 72, "y": 38, "width": 12, "height": 12, "label": "cat"},
    ]
    assert _close(saved, want), saved


def test_hidden_proposals_leave_the_image_to_drawing(crowded_page: Page) -> None:
    page = crowded_page
    item_id = _open(page, "bob", "/label")
    proposals = page.locator(".bbox[data-kind=proposal]")
    expect(proposals).to_have_count(6)
    # Without draw mode a drag that starts on a proposal selects it, drawing nothing.
    _drag_pixels(page, 12, 12, 20, 20)
    expect(page.locator(".bbox.proposal.selected")).to_have_count(1)
    expect(page.locator(".bbox[data-kind=box]")).to_have_count(0)
    page.click("#hide-proposals")
    expect(proposals).to_have_count(0)
    expect(page.locator("#proposal-hidden")).to_have_text("hidden on the image")
    expect(page.locator("#proposal-list li")).to_have_count(6)  # still listed, still acceptable
    page.keyboard.press("2")
    _drag_pixels(page, 12, 12, 20, 20)
    expect(page.locator(".bbox[data-kind=box]")).to_have_count(1)
    page.keyboard.press("h")
    expect(proposals).to_have_count(6)
    page.keyboard.press("Enter")
    expect(page.locator("#session-count")).to_have_text("1 saved this session")
    saved = _api(page, f"/api/items/{item_id}")["current"]["value"]
    assert _close(saved, [{"x": 12, "y": 12, "width": 8, "height": 8, "label": "dog"}]), saved


def test_the_data_browser_redraws_an_items_boxes(crowded_page: Page, crowded: Served) -> None:
    page = crowded_page
    target = crowded.items[-1]
    page.goto(f"/login?next=/data?item={target}")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#detail-title")).to_have_text(f"Item #{target}")
    expect(page.locator("#item-image")).to_have_js_property("complete", True)
    page.click("#detail-pad [data-class=dog]")
    _drag_pixels(page, 20, 10, 50, 40)
    expect(page.locator("#detail-stage .bbox[data-kind=box]")).to_have_count(1)
    page.click("#detail-save")
    expect(page.locator("#detail-history li")).to_have_count(1)
    expect(
        page.locator(f".item-card[data-item-id='{target}'] svg.boxes-preview rect")
    ).to_have_count(1)
    current = _api(page, f"/api/items/{target}")["current"]
    assert (current["action"], current["annotator"]) == ("label", "admin")
    assert _close(current["value"], [{"x": 20, "y": 10, "width": 30, "height": 30, "label": "dog"}])
