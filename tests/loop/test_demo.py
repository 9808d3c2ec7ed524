"""labelloop.loop.demo: the bundled demo projects, their seed labels and admin account."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from labelloop.loop import Workspace
from labelloop.loop.demo import (
    DEMO_SEED_LABELS,
    DETECTION_DEMO_SEED_LABELS,
    build_demo_project,
    build_detection_demo_project,
)


def _hash(password: str) -> str:
    return f"hash-{password}"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """The digits demo, built once: its folder, admin name and password."""
    root = tmp_path_factory.mktemp("demo") / "digits"
    ws, user, password = build_demo_project(root, _hash)
    ws.close()
    return root, user, password


def test_the_digits_demo_has_its_pool_and_the_true_digit_of_its_seed_draw(
    demo: tuple[Path, str, str],
) -> None:
    with Workspace.open(demo[0]) as ws:
        assert ws.config.name == "digits-demo" and ws.config.learner == "cnn"
        items = {item.id: item for item in ws.store.items(ws.project.id)}
        assert len(items) == 1797
        labels = ws.store.current_labels(ws.project.id)
        assert len(labels) == DEMO_SEED_LABELS
        for item_id, event in labels.items():
            # Import names are "<digit>/digit_<index>.png": the seed label is the folder.
            assert event.value == items[item_id].name.split("/")[0]
            assert (event.source, event.annotator) == ("import", "seed")


def test_the_demo_admin_logs_in_with_the_password_it_returns(demo: tuple[Path, str, str]) -> None:
    root, user, password = demo
    assert user == "admin" and len(password) >= 12
    with Workspace.open(root) as ws:
        admin = ws.store.people.user("admin")
        assert admin.role == "admin" and admin.password_hash == _hash(password)


def test_the_demo_password_file_is_readable_by_its_owner_only(
    demo: tuple[Path, str, str],
) -> None:
    root = demo[0]
    secrets = [p for p in root.iterdir() if "cred" in p.name or "admin" in p.name]
    assert secrets, list(root.iterdir())
    assert stat.S_IMODE(secrets[0].stat().st_mode) == 0o600


def test_building_the_demo_again_reopens_it_with_the_same_admin(
    demo: tuple[Path, str, str],
) -> None:
    root, user, password = demo

    def never(_password: str) -> str:
        raise AssertionError("a reopened demo creates no account")

    ws, again_user, again_password = build_demo_project(root, never)
    with ws:
        assert (again_user, again_password) == (user, password)
        assert len(ws.store.items(ws.project.id)) == 1797  # nothing imported twice
        assert len(ws.store.current_labels(ws.project.id)) == DEMO_SEED_LABELS


def test_the_detection_demo_seeds_true_boxes(tmp_path: Path) -> None:
    ws, user, password = build_detection_demo_project(tmp_path / "det", _hash, n_images=30)
    with ws:
        assert ws.config.task == "detection" and user == "admin"
        assert len(ws.store.items(ws.project.id)) == 30
        labels = ws.store.current_labels(ws.project.id)
        assert len(labels) == DETECTION_DEMO_SEED_LABELS
        boxes = [box for event in labels.values() for box in event.value]
        assert boxes and all(box["label"] in ws.config.classes for box in boxes)
        assert all(box["width"] > 0 and box["height"] > 0 for box in boxes)
        assert ws.store.people.user("admin").password_hash == _hash(password)
    reopened, _, again = build_detection_demo_project(tmp_path / "det", _hash, n_images=30)
    reopened.close()
    assert again == password
