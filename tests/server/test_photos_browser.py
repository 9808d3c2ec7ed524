"""Colour photos in the browser: each image at its own (upright) aspect ratio, in colour.

Photos stored sideways with an EXIF orientation tag (as phones store portrait
shots) are shown upright, in a box of the upright proportions: before the
project recorded upright sizes, such a photo was squeezed into the sideways box.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from labelloop.config import ProjectConfig
from labelloop.loop import Workspace
from labelloop.server.security import hash_password
from tests.server.browser import CHROMIUM, open_page
from tests.server.conftest import PASSWORD, LiveServer, start_server

if not CHROMIUM.exists():
    pytest.skip("browser tests need Debian's chromium", allow_module_level=True)

# (width, height) as seen upright, and whether the file stores it sideways (EXIF 6).
PHOTOS = [((320, 200), True), ((240, 360), False), ((300, 210), True), ((200, 280), True)]


def _photo(width: int, height: int, seed: int) -> Image.Image:
    """A colourful gradient with a red band at the top: which way is up is visible."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack(
        [x * 255 // width, y * 255 // height, np.full_like(x, int(rng.integers(40, 200)))], axis=-1
    ).astype(np.uint8)
    pixels[: height // 8] = (230, 20, 20)
    return Image.fromarray(pixels, "RGB")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("photos")
    folder = base / "photos"
    folder.mkdir()
    for k, ((width, height), sideways) in enumerate(PHOTOS):
        upright = _photo(width, height, k)
        if sideways:
            exif = Image.Exif()
            exif[0x0112] = 6  # a viewer turns it 90 degrees clockwise
            upright.transpose(Image.Transpose.ROTATE_90).save(
                folder / f"p{k}.jpg", exif=exif, quality=92
            )
        else:
            upright.save(folder / f"p{k}.png")
    guideline = "# Our rules\n\nLabel **a** when the photo is wide.\n\n<script>alert(1)</script>"
    config = ProjectConfig(name="photos", classes=("a", "b"), instructions=guideline)
    ws = Workspace.init(base / "proj", config)
    ws.import_folder(folder, with_labels=False)
    assert ws.config.channels == 3
    ws.store.people.create_user("ann", hash_password(PASSWORD), "annotator")
    ws.close()
    live = start_server(base / "proj")
    yield live
    live.stop()


@pytest.fixture
def page(server: LiveServer) -> Iterator[Page]:
    with open_page(server.url) as tab:
        yield tab


def test_photos_show_upright_in_colour_at_their_own_aspect_ratio(page: Page) -> None:
    page.goto("/login")
    page.fill("#username", "ann")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    # The project's instructions head the side panel, rendered, the raw HTML inert.
    shown = page.locator("#instructions")
    expect(shown.locator("h1")).to_have_text("Our rules")
    expect(shown.locator("strong")).to_have_text("a")
    expect(shown).to_contain_text("<script>alert(1)</script>")
    assert shown.locator("script").count() == 0
    expected = {f"p{k}": size for k, (size, _) in enumerate(PHOTOS)}
    seen: set[str] = set()
    for _ in range(len(PHOTOS)):
        bench = page.locator("#workbench[data-state=ready]")
        expect(bench).to_have_count(1)
        item_id = bench.get_attribute("data-item-id")
        name = page.request.get(f"/api/items/{item_id}").json()["item"]["name"]
        stem = Path(name).stem
        image = page.locator("#item-image")
        expect(image).to_have_js_property("complete", True)
        shown = image.evaluate(
            """img => {
                const box = img.getBoundingClientRect();
                const canvas = document.createElement("canvas");
                canvas.width = img.naturalWidth;
                canvas.height = img.naturalHeight;
                const ctx = canvas.getContext("2d");
                ctx.drawImage(img, 0, 0);
                const top = ctx.getImageData(Math.floor(img.naturalWidth / 2), 2, 1, 1).data;
                const low = ctx.getImageData(
                    Math.floor(img.naturalWidth / 2), img.naturalHeight - 3, 1, 1).data;
                return {w: img.naturalWidth, h: img.naturalHeight,
                        bw: box.width, bh: box.height, top: Array.from(top), low: Array.from(low)};
            }"""
        )
        width, height = expected[stem]
        assert (shown["w"], shown["h"]) == (width, height), f"{name} is not upright"
        assert abs(shown["bw"] / shown["bh"] - width / height) < 0.02, f"{name} is distorted"
        red, green, blue, _ = shown["top"]
        assert red > 180 and green < 80 and blue < 80, f"{name}: the red band is not on top"
        assert len(set(shown["low"][:3])) > 1, f"{name} is shown in gray"
        seen.add(stem)
        page.keyboard.press("s")  # skip to the next photo
        expect(page.locator(f"#workbench[data-item-id='{item_id}']")).to_have_count(0)
    assert seen == set(expected)
