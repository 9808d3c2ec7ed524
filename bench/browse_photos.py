"""The data browser on photo-like images: every page and thumbnail of 2,000 mixed photos.

Run from the repository root:

    .venv/bin/python bench/browse_photos.py

Writes 2,000 photo-like images (RGB JPEGs and grayscale PNGs, 200-400 px of
mixed sizes, some stored sideways with an EXIF rotation), imports them, then
pages through ``GET /api/items`` and fetches every thumbnail twice (made, then
cached), checking each is at most 160 px and upright (its aspect follows the
item's upright width and height). Prints the times and the peak RSS.
"""

from __future__ import annotations

import io
import resource
import tempfile
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from PIL import Image

from labelloop.config import ProjectConfig
from labelloop.data.photolike import write_photo_like
from labelloop.loop import Workspace
from labelloop.server.app import create_app
from labelloop.server.security import hash_password

N_IMAGES = 2000
PASSWORD = "correct horse battery"


def _wrong(got: httpx.Response, width: int, height: int) -> bool:
    """Not a JPEG of at most 160 px, or on its side (near-square images aside)."""
    if got.status_code != 200:
        return True
    size = Image.open(io.BytesIO(got.content)).size
    sideways = abs(width - height) > 2 and (width > height) != (size[0] > size[1])
    return max(size) > 160 or sideways


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="labelloop-browse-"))
    write_photo_like(folder / "images", N_IMAGES, seed=0, class_folders=True)
    config = ProjectConfig(name="photos", classes=tuple(str(i) for i in range(10)))
    ws = Workspace.init(folder / "proj", config)
    ws.import_folder(folder / "images", with_labels=False)
    ws.store.people.create_user("admin", hash_password(PASSWORD), "admin")
    ws.close()
    with TestClient(create_app(folder / "proj", start_training=False)) as client:
        client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
        times, wrong = [], 0
        for attempt in range(2):
            started = time.perf_counter()
            for page in range(-(-N_IMAGES // 100)):
                params = {"offset": page * 100, "limit": 100}
                for row in client.get("/api/items", params=params).json()["items"]:
                    got = client.get(row["thumbnail_url"])
                    if attempt == 0:
                        wrong += _wrong(got, row["item"]["width"], row["item"]["height"])
            times.append(time.perf_counter() - started)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{N_IMAGES} thumbnails: made {times[0]:.1f} s, cached {times[1]:.1f} s, "
        f"wrong {wrong}, peak RSS {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
