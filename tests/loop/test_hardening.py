"""Files a hostile import or a careless setup could turn against the user."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

from PIL import Image

from labelloop.config import ProjectConfig
from labelloop.loop import Workspace
from labelloop.loop.demo import build_demo_project
from labelloop.loop.export import export_bytes
from labelloop.store import LabelInput


def test_links_out_of_the_import_folder_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "secret.png"
    Image.new("L", (8, 8), 9).save(outside)
    folder = tmp_path / "import"
    folder.mkdir()
    Image.new("L", (8, 8), 200).save(folder / "inside.png")
    (folder / "link.png").symlink_to(outside)
    (folder / "alias.png").symlink_to(folder / "inside.png")  # inside: a plain duplicate
    ws = Workspace.init(tmp_path / "proj", ProjectConfig(name="p", classes=("a", "b")))
    report = ws.import_folder(folder, with_labels=False)
    reasons = {r.path.name: r.reason for r in report.rejected}
    assert "outside the imported folder" in reasons["link.png"]
    assert report.imported == 1
    ws.close()


def test_class_names_cannot_escape_an_imagefolder_export(tmp_path: Path) -> None:
    folder = tmp_path / "flat"
    folder.mkdir()
    Image.new("L", (8, 8), 1).save(folder / "x.png")
    classes = ("../../evil", "ok")
    ws = Workspace.init(tmp_path / "proj", ProjectConfig(name="p", classes=classes))
    ws.import_folder(folder, with_labels=False)
    item = ws.store.items(ws.project.id)[0]
    ws.store.record_labels(ws.project.id, [LabelInput(item.id, "../../evil", annotator="a")])
    names = zipfile.ZipFile(io.BytesIO(export_bytes(ws, "imagefolder", None))).namelist()
    assert len(names) == 1 and ".." not in names[0].split("/"), names
    ws.close()


def test_the_demo_password_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    ws, _user, _password = build_demo_project(tmp_path / "demo", lambda p: f"hash-{p}")
    ws.close()
    secrets = [p for p in (tmp_path / "demo").iterdir() if "cred" in p.name or "admin" in p.name]
    assert secrets, list((tmp_path / "demo").iterdir())
    assert stat.S_IMODE(secrets[0].stat().st_mode) == 0o600
