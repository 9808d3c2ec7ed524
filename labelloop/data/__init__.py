"""Image sources, decoding, bundled demo data and label values.

This package imports nothing else from labelloop but its base error class.
"""

from labelloop.data._labels_csv import CsvFormatError
from labelloop.data.arrays import ImageSizeMismatchError, load_images
from labelloop.data.demo import DIGITS_CLASSES, digits_arrays, write_digits
from labelloop.data.images import (
    SUPPORTED_FORMATS,
    CorruptImageError,
    FolderScan,
    ImageFileError,
    ImageInfo,
    RejectedFile,
    ScannedImage,
    UnsupportedImageFormatError,
    inspect_image,
    iter_folder,
    scan_folder,
)
from labelloop.data.labels import Box, InvalidLabelError, LabelSchema, TaskType, UnknownClassError
from labelloop.data.layout import DatasetNotFoundError, ImportLayoutError, Layout, detect_layout
from labelloop.data.split import Split, StratifiedSplitter, assign_splits, next_split

__all__ = [
    "DIGITS_CLASSES",
    "SUPPORTED_FORMATS",
    "Box",
    "CorruptImageError",
    "CsvFormatError",
    "DatasetNotFoundError",
    "FolderScan",
    "ImageFileError",
    "ImageInfo",
    "ImageSizeMismatchError",
    "ImportLayoutError",
    "InvalidLabelError",
    "LabelSchema",
    "Layout",
    "RejectedFile",
    "ScannedImage",
    "Split",
    "StratifiedSplitter",
    "TaskType",
    "UnknownClassError",
    "UnsupportedImageFormatError",
    "assign_splits",
    "detect_layout",
    "digits_arrays",
    "inspect_image",
    "iter_folder",
    "load_images",
    "next_split",
    "scan_folder",
    "write_digits",
]
