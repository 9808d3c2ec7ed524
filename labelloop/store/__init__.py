"""The label store: projects, items, append-only label events, snapshots, rounds."""

from labelloop.store.database import SchemaOutOfDateError, make_engine, migrate, sqlite_url
from labelloop.store.people import ROLES, People, Role, User, UserExistsError, UserNotFoundError
from labelloop.store.queue import Lease, LeaseConflictError, LeaseKind, Queue, Served
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
from labelloop.store.store import AddItemsResult, LabelInput, RankedItem, Store
from labelloop.store.training import TrainingBusyError, TrainingRun, TrainingRuns

__all__ = [
    "LABEL_SOURCES",
    "ROLES",
    "AddItemsResult",
    "Item",
    "LabelAction",
    "LabelConflictError",
    "LabelEvent",
    "LabelInput",
    "LabelSource",
    "Lease",
    "LeaseConflictError",
    "LeaseKind",
    "ModelRecord",
    "NewItem",
    "People",
    "ProjectExistsError",
    "ProjectNotFoundError",
    "ProjectRecord",
    "Queue",
    "RankedItem",
    "Role",
    "RoundRecord",
    "SchemaOutOfDateError",
    "Served",
    "Snapshot",
    "SnapshotIntegrityError",
    "Store",
    "TrainingBusyError",
    "TrainingRun",
    "TrainingRuns",
    "UnknownItemError",
    "User",
    "UserExistsError",
    "UserNotFoundError",
    "make_engine",
    "migrate",
    "sqlite_url",
]
