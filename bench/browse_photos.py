"""The data browser on photo-like images: every page and thumbnail of 2,000 mixed photos.

Run from the repository root:

    .venv/bin/python bench/browse_photos.py

Writes 2,000 photo-like images (RGB JPEGs and grayscale PNGs, 200-400 px of
mixed sizes, some stored sideways with an EXIF rotation), imports them, then
pages through ``GET /api/items`` and fetches every thumbnail twice (made, then
cached), checking each is at most 160 px and upright (its aspect follows the
item's upright width and height). Prints the times and the peak RSS.
"""

import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, ".")
import io

from fastapi.testclient import TestClient
from PIL import Image

from labelloop.config import ProjectConfig
from labelloop.data.photolike import write_photo_like
from labelloop.loop import Workspace
from labelloop.server.app import create_app
from labelloop.server.security import hash_password

d = Path(tempfile.mkdtemp())
write_photo_like(d / "imgs", 2000, seed=0, class_folders=True)
ws = Workspace.init(d / "proj", ProjectConfig(name="p", classes=tuple(str(i) for i in range(10))))
ws.import_folder(d / "imgs", with_labels=False)
ws.store.people.create_user("admin", hash_password("correct horse battery"), "admin")
ws.close()
with TestClient(create_app(d / "proj", start_training=False)) as c:
    c.post("/api/auth/login", json={"username": "admin", "password": "correct horse battery"})
    t0 = time.perf_counter()
    bad = 0
    portrait_ok = 0
    for page in range(20):
        rows = c.get("/api/items", params={"offset": page * 100, "limit": 100}).json()["items"]
        for r in rows:
            got = c.get(r["thumbnail_url"])
            img = Image.open(io.BytesIO(got.content))
            w, h = r["item"]["width"], r["item"]["height"]
            # upright: the thumbnail keeps the item's (upright) aspect
            if (
                got.status_code != 200
                or max(img.size) > 160
                or (abs(w - h) > 2 and (w > h) != (img.size[0] > img.size[1]))
            ):
                bad += 1
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for page in range(20):
        for r in c.get("/api/items", params={"offset": page * 100, "limit": 100}).json()["items"]:
            c.get(r["thumbnail_url"])
    cached = time.perf_counter() - t0
print(
    f"2000 thumbnails: first {first:.1f} s, cached {cached:.1f} s, wrong {bad}, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
)
