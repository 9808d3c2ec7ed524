"""Files a hostile import or a careless setup could turn against the user."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from labelloop.config import ProjectConfig
from labelloop.loop import Workspace


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
