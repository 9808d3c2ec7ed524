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
    assert body in html and "<head>" not in body
    assert ('id="app-header"' in html) == page.header
    assert not re.search(r"\{\{\w+\}\}", html), "a layout marker was left unfilled"


def test_only_the_login_page_goes_without_the_app_header() -> None:
    assert [page.name for page in ALL if not page.header] == ["login"]


def test_every_page_body_is_served_by_some_route() -> None:
    bodies = {path.stem for path in (STATIC / "pages").glob("*.html")}
    assert bodies == {page.name for page in ALL}
