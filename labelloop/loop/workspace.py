"""A project folder: its database, its media, its models, and its configuration.

``PROJECT_DIR/labelloop.yaml`` says where the database is (a SQLite file in
the folder by default) and which project in it this folder is. Imported images
are copied into ``PROJECT_DIR/media`` under their content hash, so the project
keeps working when the source folder moves or changes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from labelloop.config import ProjectConfig
from labelloop.data.arrays import load_images
from labelloop.data.geometry import decide_channels, decide_detection_size, decide_image_size
from labelloop.data.images import (
    ImageFileError,
    ImageInfo,
    RejectedFile,
    ScannedImage,
    inspect_image,
    iter_folder,
)
from labelloop.data.labels import InvalidLabelError, UnknownClassError
from labelloop.errors import LabelloopError, storage_problem
from labelloop.store import Item, NewItem, ProjectRecord, Store, sqlite_url
from labelloop.store.database import DatabaseUnavailableError, normalize_url

__all__ = ["ImportReport", "ProjectDirError", "Workspace"]

_MANIFEST = "labelloop.yaml"


class ProjectDirError(LabelloopError, FileNotFoundError):
    """A folder is not a labelloop project folder, or already is one."""


@dataclass
class ImportReport:
    """What one import did."""

    imported: int = 0
    labeled: int = 0
    duplicates: int = 0
    rejected: list[RejectedFile] = field(default_factory=list)
    decided: list[tuple[str, Any, Any]] = field(default_factory=list)
    """Settings the first import decided from the images: ``(key, old, new)``."""

    def summary(self) -> dict[str, int]:
        """Counts of imported, labeled, duplicate and rejected files."""
        return {
            "imported": self.imported,
            "labeled": self.labeled,
            "duplicate": self.duplicates,
            "rejected": len(self.rejected),
        }


def _unreachable(url: str, exc: Exception) -> str:
    """What went wrong reaching the database, in a line, without the password."""
    shown = make_url(url).render_as_string(hide_password=True)
    problem = storage_problem(exc)
    if problem is not None:
        return (
            f"cannot use the database {shown}: {problem}: free some space (or make it "
            "writable) and run the command again"
        )
    reason = str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0]
    return f"cannot use the database {shown}: {reason}"


def _store_file(source: Path, media: Path, sha256: str) -> str:
    """Copy ``source`` into the content-addressed media folder; return its relative path."""
    relative = Path(sha256[:2]) / f"{sha256}{source.suffix.lower()}"
    target = media / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename, so a killed import never leaves
        # a half-written file under a final name.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)  # a full disk leaves no half-written file
            raise
    return relative.as_posix()


def _new_item(info: ImageInfo, name: str, media: Path, label: Any = None) -> NewItem:
    """The item to add for an inspected image, its file copied into ``media``."""
    return NewItem(
        sha256=info.sha256,
        name=name,
        uri=_store_file(info.path, media, info.sha256),
        width=info.width,
        height=info.height,
        mode=info.mode,
        format=info.format,
        size_bytes=info.size_bytes,
        label=label,
    )


class Workspace:
    """An opened project folder.

    Args:
        root: the project folder.
        store: the open label store.
        project: the project's record in the store.
    """

    def __init__(self, root: Path, store: Store, project: ProjectRecord) -> None:
        self.root = root
        self.store = store
        self.project = project

    @property
    def config(self) -> ProjectConfig:
        """The project's validated configuration."""
        return ProjectConfig.model_validate(self.project.config)

    @property
    def media_dir(self) -> Path:
        """Where imported images are kept."""
        return self.root / "media"

    @property
    def models_dir(self) -> Path:
        """Where trained model weights are kept."""
        return self.root / "models"

    @classmethod
    def init(
        cls, root: Path, config: ProjectConfig, *, database_url: str | None = None
    ) -> Workspace:
        """Create a new project folder and its project in the database."""
        if (root / _MANIFEST).exists():
            raise ProjectDirError(f"{root} is already a labelloop project; open it instead")
        if database_url is not None:
            database_url = normalize_url(database_url)
        created = not root.exists()
        root.mkdir(parents=True, exist_ok=True)
        url = database_url or sqlite_url(root / "labelloop.db")
        try:
            store = Store(url, create=True)
            project = store.create_project(config.name, config.to_dict())
        except SQLAlchemyError as exc:
            if created:  # nothing is left behind by an init that failed
                shutil.rmtree(root, ignore_errors=True)
            raise DatabaseUnavailableError(_unreachable(url, exc)) from None
        except BaseException:
            if created:
                shutil.rmtree(root, ignore_errors=True)
            raise
        manifest = {"project": config.name}
        if database_url is not None:
            manifest["database_url"] = database_url
        (root / _MANIFEST).write_text(yaml.safe_dump(manifest))
        return cls(root, store, project)

    @classmethod
    def open(cls, root: Path) -> Workspace:
        """Open an existing project folder."""
        manifest_path = root / _MANIFEST
        if not manifest_path.is_file():
            raise ProjectDirError(
                f"{root} is not a labelloop project (no {_MANIFEST}); "
                "create one with `labelloop init`"
            )
        manifest: dict[str, Any] = yaml.safe_load(manifest_path.read_text()) or {}
        url = normalize_url(str(manifest.get("database_url") or sqlite_url(root / "labelloop.db")))
        try:
            store = Store(url)
            project = store.project(str(manifest["project"]))
        except OperationalError as exc:
            raise DatabaseUnavailableError(_unreachable(url, exc)) from None
        return cls(root, store, project)

    def refresh(self) -> None:
        """Re-read the project record (after its configuration changed)."""
        self.project = self.store.project(self.project.name)

    def close(self) -> None:
        """Release the database connections."""
        self.store.close()

    def __enter__(self) -> Workspace:
        """The workspace itself: ``with Workspace.open(root) as ws:`` closes it at the end."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the database connections, also when the block raised (which propagates)."""
        self.close()

    def image_path(self, item: Item) -> Path:
        """Where an item's image file is."""
        path = Path(item.uri)
        return path if path.is_absolute() else self.media_dir / path

    def input_geometry(self) -> tuple[int, tuple[int, int] | None]:
        """The model input's channels and ``(height, width)``.

        The project's settings when they say; otherwise decided from the
        stored images as the first import decides it
        (:mod:`labelloop.data.geometry`): for classification a small size a
        CNN trains on quickly, for detection one near the images' own size.
        The size is None only while the project has no images.
        """
        cfg = self.config
        channels: int | None = cfg.channels
        size = cfg.image_size
        if channels is None or size is None:
            kinds = self.store.image_kinds(self.project.id)
            if channels is None:
                channels = decide_channels(mode for mode, _, _ in kinds)
            if size is None and kinds:
                classify = cfg.task == "classification"
                decide = decide_image_size if classify else decide_detection_size
                size = decide((h, w) for _, h, w in kinds)
        return (1 if channels is None else channels), size

    def load_paths(self, paths: list[Path]) -> NDArray[np.float32]:
        """Image files as model input, ``(n, channels, H, W)`` in [0, 1] (see input_geometry)."""
        channels, size = self.input_geometry()
        return load_images(
            paths, size=size, channels=1 if channels == 1 else 3, policy=self.config.resize
        )

    def load_arrays(self, items: list[Item]) -> NDArray[np.float32]:
        """Items' images as model input, ``(n, channels, H, W)`` in [0, 1]."""
        return self.load_paths([self.image_path(item) for item in items])

    def settle_geometry(self) -> list[tuple[str, Any, Any]]:
        """Store the input geometry decided from the images, if the settings leave it open.

        Called after each import; only the first import with images decides.
        The decision is recorded like any settings change (by ``labelloop``,
        with the note "decided from the imported images").

        Returns:
            ``(key, old, new)`` of each setting decided now.
        """
        cfg = self.config
        if not self.store.image_kinds(self.project.id):
            return []
        channels, size = self.input_geometry()
        decided: list[tuple[str, Any, Any]] = []
        if cfg.channels is None:
            decided.append(("channels", None, channels))
        if cfg.image_size is None and size is not None:
            decided.append(("image_size", None, list(size)))
        if decided:
            decided += self._backbone_default(channels, size)
        if decided:
            config = cfg.to_dict() | {key: new for key, _, new in decided}
            self.store.update_config(
                self.project.id,
                ProjectConfig.model_validate(config).to_dict(),
                changes=decided,
                who="labelloop",
                note="decided from the imported images",
            )
            self.refresh()
        return decided

    def _backbone_default(
        self, channels: int, size: tuple[int, int] | None
    ) -> list[tuple[str, Any, Any]]:
        """Photos get a pretrained backbone in embed mode when its ImageNet weights are in
        the torch cache and the learner is still the default; digits-sized images keep the CNN."""
        cfg = self.config
        photos = channels == 3 or (size is not None and min(size) >= 32)
        untouched = cfg.learner == "cnn" and cfg.backbone == type(cfg.backbone)()
        if cfg.task != "classification" or not photos or not untouched:
            return []
        from labelloop.learners.backbones import weights_available  # imports torch

        if not weights_available("resnet18"):
            return []
        backbone = cfg.backbone.model_copy(update={"weights": "imagenet", "mode": "embed"})
        return [
            ("learner", cfg.learner, "resnet18"),
            ("backbone", cfg.backbone.model_dump(), backbone.model_dump()),
        ]

    def import_folder(
        self,
        folder: Path,
        labels_csv: Path | None = None,
        *,
        with_labels: bool = True,
        annotator: str | None = None,
        batch_size: int = 256,
        on_file: Callable[[], None] | None = None,
    ) -> ImportReport:
        """Import a folder of images, one transaction per batch of ``batch_size``.

        A corrupt file, or a label that is not one of the project's classes,
        is reported in the result and left out; the rest is imported. A killed
        import leaves every finished batch in place and nothing of the batch
        it was writing, so running it again completes it.
        """
        report = ImportReport()
        schema = self.config.label_schema()
        batch: list[NewItem] = []
        for entry in self._checked(iter_folder(folder, labels_csv), report, schema, with_labels):
            if on_file is not None:
                on_file()
            if entry is None:
                continue
            scanned, label = entry
            batch.append(_new_item(scanned.info, scanned.relpath, self.media_dir, label))
            if len(batch) >= batch_size:
                self._flush(batch, report, annotator)
        self._flush(batch, report, annotator)
        report.decided = self.settle_geometry()
        return report

    def add_file(self, path: Path, name: str) -> tuple[Item, bool]:
        """Add one image file (an upload) to the pool, unlabeled.

        Returns:
            The item, and whether it is new (False: the same bytes were already there).

        Raises:
            CorruptImageError, UnsupportedImageFormatError: the file is not a usable image.
        """
        info = inspect_image(path)
        if not Path(name).suffix:
            name += info.path.suffix
        result = self.store.add_items(self.project.id, [_new_item(info, name, self.media_dir)])
        if result.added:
            self.settle_geometry()
            return result.added[0], True
        return self.store.item(self.project.id, result.duplicates[0][1]), False

    def import_files(
        self,
        files: Iterable[tuple[Path, str, Any]],
        *,
        annotator: str | None = None,
        batch_size: int = 256,
        on_file: Callable[[], None] | None = None,
    ) -> ImportReport:
        """Import image files, each with its name and label, one transaction per batch.

        This is what format importers (COCO, YOLO, ...) build on: they know each
        image's path and label; this copies the image into the media folder and
        records the label as an ``import`` event. A file that does not decode, or
        a label the project's schema refuses, is reported and left out.

        Args:
            files: ``(path, name, label)`` per image; ``name`` is how the item is
                known in the project, ``label`` None for an unlabeled image.
            annotator: who made the imported labels.
            batch_size: images per transaction.
            on_file: called once per file, for progress.

        Returns:
            The counts and the rejected files.
        """
        report = ImportReport()
        schema = self.config.label_schema()
        batch: list[NewItem] = []
        for path, name, label in files:
            if on_file is not None:
                on_file()
            try:
                info = inspect_image(path)
                value = None if label is None else schema.validate_value(label)
            except (ImageFileError, InvalidLabelError) as exc:
                reason = exc.reason if isinstance(exc, ImageFileError) else str(exc)
                report.rejected.append(RejectedFile(path, reason))
                continue
            batch.append(_new_item(info, name, self.media_dir, value))
            if len(batch) >= batch_size:
                self._flush(batch, report, annotator)
        self._flush(batch, report, annotator)
        report.decided = self.settle_geometry()
        return report

    @staticmethod
    def _checked(
        entries: Iterator[ScannedImage | RejectedFile],
        report: ImportReport,
        schema: Any,
        with_labels: bool,
    ) -> Iterator[tuple[ScannedImage, Any] | None]:
        for entry in entries:
            if isinstance(entry, RejectedFile):
                report.rejected.append(entry)
                yield None
                continue
            label = entry.label if with_labels else None
            if label is not None:
                try:
                    label = schema.validate_value(label)
                except (UnknownClassError, InvalidLabelError) as exc:
                    report.rejected.append(RejectedFile(entry.info.path, str(exc)))
                    yield None
                    continue
            yield entry, label

    def _flush(self, batch: list[NewItem], report: ImportReport, annotator: str | None) -> None:
        if not batch:
            return
        result = self.store.add_items(self.project.id, batch, annotator=annotator)
        report.imported += len(result.added)
        report.duplicates += len(result.duplicates)
        report.labeled += result.labeled
        batch.clear()
