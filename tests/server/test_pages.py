"""Every HTML page is its own body inside the one layout."""

from __future__ import annotations

import re

import pytest

from labelloop.server.app import DETECTION_PAGES, PAGES, STATIC, Page

ALL = sorted({*PAGES.values(), *DETECTION_PAGES.values()}, key=lambda page: page.name)


@pytest.mark.parametrize("page", ALL, ids=[page.name for page in ALL])
def test_a_page_is_a_whole_document_with_its_title_script_and_body(page: Page) -> None:
    html = page.render()
    assert html.startswith("<!doctype html>\n") and html.rstrip().endswith("</html>")
    assert f"<title>{page.title}</title>" in html.replace("&#x27;", "'")
    assert f'<script type="module" src="/static/{page.name}.js"></script>' in html
    assert (STATIC / f"{page.name}.js").is_file()
    body = (STATIC / "pages" / f"{page.name}.html").read_text(encoding="utf-8")
    assert _expanded(body) in html and "<head>" not in body
    assert ('id="app-header"' in html) == page.header
    assert not re.search(r"\{\{[\w:-]+\}\}", html), "a layout or part marker was left unfilled"


def _expanded(body: str) -> str:
    """A page body with each ``{{part:name}}`` line replaced by that fragment's file."""
    lines = []
    for line in body.splitlines(keepends=True):
        marker = re.fullmatch(r"\s*\{\{part:([\w-]+)\}\}\n", line)
        part = None if marker is None else STATIC / "parts" / f"{marker[1]}.html"
        lines.append(line if part is None else part.read_text(encoding="utf-8"))
    return "".join(lines)


def test_the_image_pages_share_the_stage_bar_and_the_model_card_from_one_file() -> None:
    stage_bar = (STATIC / "parts" / "stage-head.html").read_text(encoding="utf-8")
    model_card = (STATIC / "parts" / "model-card.html").read_text(encoding="utf-8")
    for page in (PAGES["/label"], PAGES["/review"], DETECTION_PAGES["/label"]):
        html = page.render()
        assert html.count(stage_bar) == 1 and html.count(model_card) == 1
        assert html.count('id="zoom-in"') == 1 and 'id="item-title"' in html


def test_every_shared_part_is_used_by_some_page() -> None:
    parts = {path.stem for path in (STATIC / "parts").glob("*.html")}
    bodies = "".join(path.read_text(encoding="utf-8") for path in (STATIC / "pages").glob("*.html"))
    assert parts == set(re.findall(r"\{\{part:([\w-]+)\}\}", bodies))


def test_only_the_login_page_goes_without_the_app_header() -> None:
    assert [page.name for page in ALL if not page.header] == ["login"]


def test_every_page_body_is_served_by_some_route() -> None:
    bodies = {path.stem for path in (STATIC / "pages").glob("*.html")}
    assert bodies == {page.name for page in ALL}
