"""The bundled demo project: scikit-learn's digits, a few seed labels, an admin account."""

from __future__ import annotations

import secrets
from pathlib import Path

import numpy as np

from labelloop.config import ProjectConfig
from labelloop.data.demo import DIGITS_CLASSES, write_digits
from labelloop.loop.workspace import Workspace
from labelloop.store import LabelInput

__all__ = ["DEMO_SEED_LABELS", "build_demo_project"]

DEMO_SEED_LABELS = 30
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
    password = secrets.token_urlsafe(9)
    ws.store.people.create_user("admin", hash_password(password), "admin")  # type: ignore[operator]
    credentials.write_text(f"admin {password}\n")
    return ws, "admin", password
