"""The label store: projects, items, append-only label events, snapshots, rounds."""

from labelloop.store.database import SchemaOutOfDateError, make_engine, migrate, sqlite_url
from labelloop.store.records import (
    LABEL_SOURCES,
    Item,
    LabelAction,
    LabelConflictError,
    LabelEvent,
    LabelSource,
    ModelRecord,
    NewItem,
    ProjectExistsError,
    ProjectNotFoundError,
    ProjectRecord,
    RoundRecord,
    Snapshot,
    SnapshotIntegrityError,
    UnknownItemError,
)
from labelloop.store.store import AddItemsResult, LabelInput, Store

__all__ = [
    "LABEL_SOURCES",
    "AddItemsResult",
    "Item",
    "LabelAction",
    "LabelConflictError",
    "LabelEvent",
    "LabelInput",
    "LabelSource",
    "ModelRecord",
    "NewItem",
    "ProjectExistsError",
    "ProjectNotFoundError",
    "ProjectRecord",
    "RoundRecord",
    "SchemaOutOfDateError",
    "Snapshot",
    "SnapshotIntegrityError",
    "Store",
    "UnknownItemError",
    "make_engine",
    "migrate",
    "sqlite_url",
]
