"""Plain records the store returns, and the errors it raises.

Callers never hold ORM objects: every query returns these frozen dataclasses,
so nothing outside the store can lazily load or mutate a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from labelloop.errors import LabelloopError

__all__ = [
    "LABEL_SOURCES",
    "ConfigChange",
    "Item",
    "LabelAction",
    "LabelConflictError",
    "LabelEvent",
    "LabelSource",
    "Lease",
    "LeaseConflictError",
    "LeaseKind",
    "ModelRecord",
    "NewItem",
    "ProjectExistsError",
    "ProjectNotFoundError",
    "ProjectRecord",
    "RoundRecord",
    "Served",
    "Snapshot",
    "SnapshotIntegrityError",
    "UnknownItemError",
    "UnknownModelError",
    "UnknownSnapshotError",
]

LabelSource = Literal["human", "auto", "oracle", "synthetic", "import"]
LabelAction = Literal["label", "correct", "undo", "accept", "retract"]
LABEL_SOURCES: tuple[LabelSource, ...] = ("human", "auto", "oracle", "synthetic", "import")
LeaseKind = Literal["label", "review"]


class ProjectNotFoundError(LabelloopError, LookupError):
    """No project has the given name or id."""


class ProjectExistsError(LabelloopError, ValueError):
    """A project with that name already exists."""


class UnknownItemError(LabelloopError, LookupError):
    """A label or query named an item the project does not have."""


class UnknownSnapshotError(LabelloopError, LookupError):
    """A snapshot id the project does not have."""


class UnknownModelError(LabelloopError, LookupError):
    """A model id no round recorded."""


class LabelConflictError(LabelloopError, RuntimeError):
    """The item's label changed since the caller last read it.

    Attributes:
        item_id: the item whose label moved on (None when a batch raced and
            the database did not say which).
        current_event_id: the event that is the item's label now, if known.
    """

    def __init__(self, message: str, *, item_id: int | None, current_event_id: int | None) -> None:
        super().__init__(message)
        self.item_id = item_id
        self.current_event_id = current_event_id


class LeaseConflictError(LabelConflictError):
    """The answer's lease is no longer valid, or its item changed since it was served."""


class SnapshotIntegrityError(LabelloopError, RuntimeError):
    """A snapshot rebuilt from its events no longer matches its content hash."""


@dataclass(frozen=True)
class ProjectRecord:
    """A project as stored: its id, name and configuration mapping."""

    id: int
    name: str
    config: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class ConfigChange:
    """One recorded change of a project setting."""

    id: int
    key: str
    old: Any
    new: Any
    who: str
    note: str
    created_at: datetime


@dataclass(frozen=True)
class _Image:
    """What the store knows of an image file, before and after it joins a pool."""

    sha256: str
    name: str
    uri: str
    width: int
    height: int
    mode: str
    format: str


@dataclass(frozen=True)
class NewItem(_Image):
    """An image to add to a project's pool, optionally with a known label."""

    size_bytes: int
    label: Any = None
    provenance: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class Item(_Image):
    """One image in a project's pool (built by keyword: its fields follow the image's)."""

    id: int
    project_id: int
    split: str | None
    provenance: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class LabelEvent:
    """One append-only label event; ``value`` None means "unlabeled from here on"."""

    id: int
    item_id: int
    seq: int
    value: Any
    source: str
    action: str
    annotator: str | None
    model_version: str | None
    confidence: float | None
    supersedes_id: int | None
    lease_id: int | None = None
    created_at: datetime


@dataclass(frozen=True)
class Snapshot:
    """A frozen labeled set: the label events a model was (or will be) trained on."""

    id: int
    project_id: int
    content_hash: str
    n_labels: int
    created_at: datetime
    note: str | None = None


@dataclass(frozen=True)
class ModelRecord:
    """A trained model and where its weights are."""

    id: int
    snapshot_id: int
    learner: str
    path: str | None
    metrics: dict[str, Any]
    created_at: datetime

    @property
    def version(self) -> str:
        """The version string label events carry, e.g. ``"m3"``."""
        return f"m{self.id}"


@dataclass(frozen=True)
class RoundRecord:
    """One finished active-learning round."""

    id: int
    number: int
    snapshot_id: int
    model_id: int | None
    strategy: str
    selected: list[int]
    metrics: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass(frozen=True)
class Lease:
    """An item held by one user until ``expires_at``."""

    id: int
    item_id: int
    user_id: int
    kind: LeaseKind
    head_event_id: int | None
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Served:
    """What an annotator or reviewer is handed: the item, its lease, the model's view.

    Attributes:
        lease: the lease to answer with.
        item: the item.
        current: the item's current label event (the auto label, in review).
        predicted: the current model's guess, if a model ranked the item.
        confidence: the model's probability for that guess.
        score: the strategy's informativeness of the item.
        rank: the item's place in the ranking (0 = most informative).
    """

    lease: Lease
    item: Item
    current: LabelEvent | None
    predicted: str | None
    confidence: float | None
    score: float | None
    rank: int | None
