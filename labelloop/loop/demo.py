"""The bundled demo projects, each with a few seed labels and an admin account.

Classification: scikit-learn's digits. Detection: the generated detection
demo (digits pasted on cluttered canvases, :mod:`labelloop.data.detection_demo`).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import numpy as np

from labelloop.config import ProjectConfig
from labelloop.data.demo import DIGITS_CLASSES, write_digits
from labelloop.data.detection_demo import write_detection_demo
from labelloop.data.formats import read_detections
from labelloop.loop.workspace import Workspace
from labelloop.store import LabelInput

__all__ = [
    "DEMO_SEED_LABELS",
    "DETECTION_DEMO_IMAGES",
    "DETECTION_DEMO_SEED_LABELS",
    "build_demo_project",
    "build_detection_demo_project",
]

DEMO_SEED_LABELS = 30
DETECTION_DEMO_IMAGES = 400
DETECTION_DEMO_SEED_LABELS = 20
_CREDENTIALS = "demo-credentials.txt"


def build_demo_project(root: Path, hash_password: object) -> tuple[Workspace, str, str]:
    """Create (or reopen) the demo project; returns it and the admin's name and password.

    The pool is the 1,797 digits, unlabeled, except a fixed random draw of
    ``DEMO_SEED_LABELS`` whose true digit is recorded as seed labels.

    Args:
        root: the demo project folder.
        hash_password: the server's password hasher (``str -> str``).
    """
    credentials = root / _CREDENTIALS
    if credentials.is_file():
        user, password = credentials.read_text().split()
        return Workspace.open(root), user, password
    config = ProjectConfig(
        name="digits-demo",
        classes=DIGITS_CLASSES,
        learner="cnn",
        strategy="margin",
        batch_size=10,
        retrain_every=20,
    )
    ws = Workspace.init(root, config)
    source = write_digits(root / "source-images")
    ws.import_folder(source, with_labels=False)
    items = ws.store.items(ws.project.id)
    draw = np.random.default_rng(0).choice(len(items), DEMO_SEED_LABELS, replace=False)
    # Import names are "<digit>/digit_<index>.png": the folder is the truth.
    seed = [
        LabelInput(items[i].id, items[i].name.split("/")[0], source="import", annotator="seed")
        for i in sorted(draw)
    ]
    ws.store.record_labels(ws.project.id, seed)
    return ws, "admin", _add_admin(ws, credentials, hash_password)


def _add_admin(ws: Workspace, credentials: Path, hash_password: object) -> str:
    """Create the demo's admin account, note its password in ``credentials``; return it."""
    password = secrets.token_urlsafe(9)
    ws.store.people.create_user("admin", hash_password(password), "admin")  # type: ignore[operator]
    # Readable by its owner only: it holds a password.
    fd = os.open(credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f"admin {password}\n")
    credentials.chmod(0o600)
    return password


def build_detection_demo_project(
    root: Path, hash_password: object, *, n_images: int = DETECTION_DEMO_IMAGES
) -> tuple[Workspace, str, str]:
    """Create (or reopen) the detection demo project; returns it and the admin's name and password.

    The pool is ``n_images`` generated 64x64 images with 0-3 digits each,
    unlabeled, except a fixed random draw of :data:`DETECTION_DEMO_SEED_LABELS`
    whose true boxes are recorded as seed labels.

    Args:
        root: the demo project folder.
        hash_password: the server's password hasher (``str -> str``).
        n_images: how many images to generate.
    """
    credentials = root / _CREDENTIALS
    if credentials.is_file():
        user, password = credentials.read_text().split()
        return Workspace.open(root), user, password
    source = root / "source-images"
    dataset = read_detections("coco", write_detection_demo(source, n_images, seed=0))
    records, folder = dataset.records, source / "images"
    config = ProjectConfig(
        name="detection-demo",
        task="detection",
        classes=dataset.classes,
        batch_size=10,
        retrain_every=20,
    )
    ws = Workspace.init(root, config)
    ws.import_files((folder / r.file_name, r.file_name, None) for r in records)
    items = {item.name: item for item in ws.store.items(ws.project.id)}
    draw = np.random.default_rng(0).choice(len(records), DETECTION_DEMO_SEED_LABELS, replace=False)
    seed = [
        LabelInput(
            items[records[i].file_name].id,
            [box.model_dump() for box in records[i].boxes],
            source="import",
            annotator="seed",
        )
        for i in sorted(draw)
    ]
    ws.store.record_labels(ws.project.id, seed)
    return ws, "admin", _add_admin(ws, credentials, hash_password)
