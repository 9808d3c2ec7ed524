"""A detection format: its own read and write steps inside the steps all formats share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from labelloop.data.formats._common import (
    IMAGE_FOLDER,
    DetectionDataset,
    DetectionFormatError,
    DetectionRecord,
    FormatName,
)
from labelloop.data.formats._writing import copy_images, writable

ReadSource = Callable[[Path, Path | None, Sequence[str] | None], DetectionDataset]
"""``(source, image_root, classes)`` -> what a format's files hold."""

WriteAnnotations = Callable[[list[DetectionRecord], Sequence[str], Path], list[Path]]
"""``(checked records, classes, dest)`` -> the annotation files written."""


@dataclass(frozen=True)
class DetectionFormat:
    """One annotation format: how it reads and writes; each format's module makes one.

    :meth:`read` and :meth:`write` are the format's ``read_<name>`` and
    ``write_<name>``; each module's docstring states its rules.

    Attributes:
        name: The name settings and the CLI use.
        title: The name people know it by, for messages.
        read_source: Reads the format's file, or its folder (checked to be one).
        write_annotations: Writes the annotations of records already checked
            against the classes.
        keeps_unlabeled: Whether the format can say "listed but not annotated";
            formats that cannot leave unlabeled records out when writing.
        one_file: Whether the annotations are one file (images beside it, in
            ``image_folder``) rather than a dataset folder (images inside it).
        image_folder: Where written images go, under that folder.
    """

    name: FormatName
    title: str
    read_source: ReadSource
    write_annotations: WriteAnnotations
    keeps_unlabeled: bool
    one_file: bool
    image_folder: str = IMAGE_FOLDER

    def read(
        self, source: Path, *, image_root: Path | None = None, classes: Sequence[str] | None = None
    ) -> DetectionDataset:
        """Reads annotations in this format.

        Arguments, result and errors as :func:`labelloop.data.formats.read_detections`.
        """
        source = Path(source)
        if not self.one_file and not source.is_dir():
            raise DetectionFormatError(
                f"{source} is not a folder; pass the {self.title} dataset folder."
            )
        root = None if image_root is None else Path(image_root)
        return self.read_source(source, root, classes)

    def default_image_root(self, source: Path) -> Path:
        """Where the images of ``source`` are when the importer is not told.

        Where this format's writer puts them: a one-file format's
        ``image_folder`` beside the file; inside a dataset folder, its
        ``image_folder`` or ``images/``, whichever exists, else the folder itself.
        """
        source = Path(source)
        if self.one_file:
            return source.parent / self.image_folder
        for name in dict.fromkeys((self.image_folder, IMAGE_FOLDER)):
            if (source / name).is_dir():
                return source / name
        return source

    def write(
        self,
        records: Sequence[DetectionRecord],
        classes: Sequence[str],
        dest: Path,
        *,
        image_root: Path | None = None,
    ) -> list[Path]:
        """Writes records in this format: the annotation files first, then copied images.

        Arguments and errors as :func:`labelloop.data.formats.write_detections`.
        """
        dest = Path(dest)
        kept = writable(records, classes, unlabeled=self.keeps_unlabeled)
        written = self.write_annotations(kept, classes, dest)
        folder = (dest.parent if self.one_file else dest) / self.image_folder
        root = None if image_root is None else Path(image_root)
        return written + copy_images(kept, root, folder)
