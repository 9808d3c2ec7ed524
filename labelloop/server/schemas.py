"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, computed_field

from labelloop.store import LabelEvent, Role

__all__ = [
    "DB_INT_MAX",
    "BoxOut",
    "CorrectionIn",
    "DashboardOut",
    "DbId",
    "DetectionPredictionOut",
    "EventOut",
    "ItemOut",
    "LabelIn",
    "LoginIn",
    "NextOut",
    "PathId",
    "PredictionOut",
    "ProjectOut",
    "QueryId",
    "RecordOut",
    "ServedOut",
    "SessionOut",
    "TokenIn",
    "TokenOut",
    "TrainingOut",
    "TrainingRunOut",
    "UndoIn",
    "UserIn",
    "UserOut",
    "UserPatch",
]


DB_INT_MAX = 2**63 - 1
"""The largest id the databases store (a signed 64-bit integer)."""

DbId = Annotated[int, Field(ge=1, le=DB_INT_MAX)]
"""An id in a request body."""

PathId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]
"""An id in a request path."""

QueryId = Annotated[int | None, Query(ge=1, le=DB_INT_MAX)]
"""An optional id in a query string."""


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_In):
    """Credentials for a browser session."""

    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class RecordOut:
    """A response that is a store record as it is, all its fields in its order.

    A response class subclasses both the record and this, as a dataclass
    (``@dataclass(frozen=True) class ReportOut(MonitorReport, RecordOut)``):
    the fields are the record's, said once there; the docstring is the
    response's description. The API's schema lists every field as required,
    since an answer always carries them all, defaults included.
    """

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(
        json_schema_serialization_defaults_required=True
    )
    __dataclass_fields__: ClassVar[dict[str, Any]]  # a subclass is a dataclass

    @classmethod
    def of(cls, record: object) -> Self:
        """The response carrying ``record``'s fields."""
        return cls(**{f.name: getattr(record, f.name) for f in fields(cls)})


class FromRecord(BaseModel):
    """A response read field by field from a store record of the same names."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, record: object, **given: Any) -> Self:
        """From the store's record (a dataclass or ORM row with these attributes).

        Args:
            record: where each field is read, by its name.
            given: fields the record does not hold (a URL made from it), by name.
        """
        if not given:
            return cls.model_validate(record)
        read = (name for name in cls.model_fields if name not in given)
        values = {name: getattr(record, name) for name in read} | given
        return cls.model_validate(values, from_attributes=True)


class UserOut(FromRecord):
    """An account, without its password hash."""

    id: int
    username: str
    role: Role
    active: bool


class SessionOut(BaseModel):
    """A signed-in user and the CSRF token to send with every change."""

    user: UserOut
    csrf_token: str | None


class UserIn(_In):
    """A new account."""

    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=1000)
    role: Role = "annotator"


class UserPatch(_In):
    """Changes to an account."""

    role: Role | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=1000)


class TokenIn(_In):
    """A new API token's name, and how many days it works (90 unless said; at most ten years)."""

    name: str = Field(min_length=1, max_length=200)
    expires_in_days: int = Field(default=90, ge=1, le=3650)


class TokenOut(BaseModel):
    """A new API token: the secret is shown this once."""

    id: int
    name: str
    token: str
    expires_at: datetime | None


class TokenInfoOut(BaseModel):
    """An API token as its owner sees it later: never its secret."""

    id: int
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class ItemOut(FromRecord):
    """An image of the pool."""

    id: int
    name: str
    sha256: str
    width: int
    height: int
    split: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def image_url(self) -> str:
        """Where the image itself is served."""
        return f"/api/items/{self.id}/image"


@dataclass(frozen=True, kw_only=True)
class EventOut(LabelEvent, RecordOut):
    """One label event."""


class PredictionOut(BaseModel):
    """The current model's guess for an item."""

    label: str
    confidence: float


class BoxOut(BaseModel):
    """A box the model proposes, in pixels of the original image (top-left origin)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    x: float = Field(ge=0)
    y: float = Field(ge=0)
    width: float = Field(gt=0)
    height: float = Field(gt=0)
    label: str
    score: float = Field(description="the model's confidence in this box")
    classes: dict[str, float] = Field(
        default_factory=dict,
        description="the likeliest classes of the object and their probability "
        "(overlapping boxes of other classes merged into this one)",
    )


class DetectionPredictionOut(BaseModel):
    """The current model's proposed boxes for an item (detection projects)."""

    boxes: list[BoxOut]
    confidence: float | None = Field(
        description="the least certain box's score; None when the model proposes no box"
    )


class ServedOut(BaseModel):
    """An item leased to the caller, to label or to review."""

    lease_id: int
    expires_at: datetime
    kind: Literal["label", "review"]
    item: ItemOut
    current: EventOut | None
    prediction: PredictionOut | DetectionPredictionOut | None
    uncertainty: float | None = Field(
        description="the ranking strategy's score; higher = less sure"
    )
    rank: int | None


class NextOut(BaseModel):
    """The next item, or none when the queue is done; with labeling progress."""

    served: ServedOut | None
    progress: dict[str, int]


class LabelIn(_In):
    """An answer to a lease: a class name (classification) or a list of boxes (detection)."""

    lease_id: DbId
    value: Any


class LabelOut(BaseModel):
    """The recorded event, and the model's guess when the project shows it after answering."""

    event: EventOut
    prediction: PredictionOut | DetectionPredictionOut | None
    progress: dict[str, int]


class CorrectionIn(_In):
    """A correction outside the queue: refused with 409 unless the item is still at that event."""

    value: Any
    expected_event_id: DbId | None


class UndoIn(_In):
    """Undo the item's last event, if it is still ``expected_event_id``."""

    expected_event_id: DbId


class TrainingRunOut(FromRecord):
    """One training run."""

    id: int
    status: str
    trigger: str
    step: str | None
    progress: float
    message: str | None
    round_id: int | None
    requested_by: str | None
    started_at: datetime
    finished_at: datetime | None


class TrainingOut(BaseModel):
    """Training state: queued for a worker, running or idle, the latest runs, the serving model's
    metrics."""

    state: Literal["idle", "queued", "running"]
    runs: list[TrainingRunOut]
    labels_since_last_run: int
    retrain_every: int
    model_version: str | None
    model_metrics: dict[str, Any] | None


class ProjectOut(BaseModel):
    """The project, its configuration and its labeling progress."""

    name: str
    task: str
    classes: list[str]
    config: dict[str, Any]
    progress: dict[str, int]
    changes: list[dict[str, Any]] = []


class DashboardOut(BaseModel):
    """Everything the dashboard shows."""

    progress: dict[str, int]
    labels_over_time: list[dict[str, Any]]
    learning_curve: list[dict[str, Any]]
    class_balance: dict[str, dict[str, int]]
    training: TrainingOut
    auto_labels: dict[str, Any]
    annotators: list[dict[str, Any]]
