"""A page in Debian's chromium for the browser tests (never a downloaded browser build)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000


@contextmanager
def open_page(
    base_url: str, *, width: int = 1280, height: int = 900, timeout_ms: int = TIMEOUT_MS
) -> Iterator[Page]:
    """A fresh browser and tab on ``base_url``; fails the test if a page script threw."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        context = browser.new_context(
            base_url=base_url, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(timeout_ms)
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        yield tab
        browser.close()
        assert errors == [], f"uncaught errors in the page's scripts: {errors}"
