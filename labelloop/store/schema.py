"""The database schema: one SQLAlchemy table class per stored concept.

Label events are append-only. An item's current label is derived: it is the
value of the item's event with the highest ``seq``. The ``(item_id, seq)``
uniqueness makes two writers racing to supersede the same event collide in
the database instead of forking an item's history.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Base",
    "ConfigChangeRow",
    "Created",
    "CredentialRow",
    "ItemFlagRow",
    "ItemKey",
    "ItemRow",
    "Key",
    "LabelEventRow",
    "LeaseRow",
    "MetadataValueRow",
    "ModelRow",
    "Moment",
    "MonitorReportRow",
    "ProjectKey",
    "ProjectRow",
    "QueueEntryRow",
    "RoundRow",
    "SnapshotEventRow",
    "SnapshotRow",
    "TrainingRunRow",
    "UserRow",
]


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


Key = Annotated[int, mapped_column(Integer, primary_key=True)]
"""A table's own integer key, ``id``."""
Created = Annotated[datetime, mapped_column(DateTime(timezone=True), default=utcnow)]
"""When a row was written (``created_at``), in UTC."""
Moment = Annotated[datetime | None, mapped_column(DateTime(timezone=True), default=None)]
"""A moment that may not have come yet (``resolved_at``, ``finished_at``)."""
ProjectKey = Annotated[int, mapped_column(ForeignKey("projects.id"))]
"""The project a row belongs to."""
ItemKey = Annotated[int, mapped_column(ForeignKey("items.id"))]
"""The item a row is about."""


class Base(DeclarativeBase):
    """Declarative base of every labelloop table."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012


class ProjectRow(Base):
    """A labeling project; ``config`` is the validated project configuration."""

    __tablename__ = "projects"

    id: Mapped[Key]
    name: Mapped[str] = mapped_column(String(200), unique=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[Created]


class ConfigChangeRow(Base):
    """One setting of a project changed: who, when, the old and the new value.

    ``key`` is the setting's dotted name (``monitor.drift_alpha``); ``old``
    and ``new`` hold the JSON values as ``{"value": ...}`` so that null is a
    value like any other.
    """

    __tablename__ = "config_changes"
    __table_args__ = (Index("ix_config_changes_project", "project_id", "id"),)

    id: Mapped[Key]
    project_id: Mapped[ProjectKey]
    key: Mapped[str] = mapped_column(String(200))
    old: Mapped[dict[str, Any]] = mapped_column(JSON)
    new: Mapped[dict[str, Any]] = mapped_column(JSON)
    who: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[Created]


class ItemRow(Base):
    """One image in a project's pool, stored once per content hash."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("project_id", "sha256", name="uq_items_project_sha256"),
        Index("ix_items_project_split_class", "project_id", "split_class", "split"),
        Index("ix_items_project_labeled", "project_id", "labeled", "head_event_id"),
    )

    id: Mapped[Key]
    project_id: Mapped[ProjectKey] = mapped_column(index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    uri: Mapped[str] = mapped_column(Text)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(Integer)
    split: Mapped[str | None] = mapped_column(String(8), default=None)
    # A cache of the item's last label event, kept in the same transaction as
    # the event: the event chain stays the truth, this makes queue reads cheap.
    head_event_id: Mapped[int | None] = mapped_column(Integer, default=None)
    labeled: Mapped[bool] = mapped_column(Boolean, default=False)
    split_class: Mapped[str | None] = mapped_column(Text, default=None)
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[Created]


class LabelEventRow(Base):
    """One append-only label event; ``value`` is None when the item became unlabeled."""

    __tablename__ = "label_events"
    __table_args__ = (
        UniqueConstraint("item_id", "seq", name="uq_label_events_item_seq"),
        Index("ix_label_events_project_item_seq", "project_id", "item_id", "seq"),
    )

    id: Mapped[Key]
    project_id: Mapped[ProjectKey]
    item_id: Mapped[ItemKey]
    seq: Mapped[int] = mapped_column(Integer)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    source: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    annotator: Mapped[str | None] = mapped_column(String(200), default=None)
    model_version: Mapped[str | None] = mapped_column(String(64), default=None)
    confidence: Mapped[float | None] = mapped_column(Float, default=None)
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("label_events.id"), unique=True, default=None
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    lease_id: Mapped[int | None] = mapped_column(ForeignKey("leases.id"), default=None)
    created_at: Mapped[Created]


class SnapshotRow(Base):
    """An immutable, content-hashed set of label events: one dataset version."""

    __tablename__ = "snapshots"

    id: Mapped[Key]
    project_id: Mapped[ProjectKey] = mapped_column(index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    n_labels: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[Created]


class SnapshotEventRow(Base):
    """Membership of one label event in one snapshot."""

    __tablename__ = "snapshot_events"

    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("label_events.id"), primary_key=True)


class ModelRow(Base):
    """A trained model: which learner, trained on which snapshot, stored where."""

    __tablename__ = "models"

    id: Mapped[Key]
    project_id: Mapped[ProjectKey] = mapped_column(index=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"))
    learner: Mapped[str] = mapped_column(String(64))
    path: Mapped[str | None] = mapped_column(Text, default=None)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[Created]


class RoundRow(Base):
    """One active-learning round: snapshot, fit, score, select, queue."""

    __tablename__ = "rounds"
    __table_args__ = (UniqueConstraint("project_id", "number", name="uq_rounds_project_number"),)

    id: Mapped[Key]
    project_id: Mapped[ProjectKey]
    number: Mapped[int] = mapped_column(Integer)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"), default=None)
    strategy: Mapped[str] = mapped_column(String(64))
    selected: Mapped[list[Any]] = mapped_column(JSON, default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # False while a large ranking is still being written, a chunk per
    # transaction; readers see only ready rounds.
    ready: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[Created]


class QueueEntryRow(Base):
    """An unlabeled item in a round's ranking, with the model's guess for it."""

    __tablename__ = "queue_entries"
    __table_args__ = (
        Index("ix_queue_entries_round_rank", "round_id", "rank"),
        # The monitor pairs each label with the prediction of the round that
        # served it: a lookup by item across rounds.
        Index("ix_queue_entries_item", "item_id"),
        # The data browser pages through a ranking by score or confidence.
        Index("ix_queue_entries_round_score", "round_id", "score", "item_id"),
        Index("ix_queue_entries_round_confidence", "round_id", "confidence", "item_id"),
    )

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    project_id: Mapped[ProjectKey] = mapped_column(index=True)
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float, default=None)
    predicted: Mapped[str | None] = mapped_column(Text, default=None)
    confidence: Mapped[float | None] = mapped_column(Float, default=None)


class UserRow(Base):
    """A person who labels, reviews or administers; the password is an argon2 hash."""

    __tablename__ = "users"

    id: Mapped[Key]
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[Created]


class CredentialRow(Base):
    """A browser session or an API token; only a SHA-256 of the secret is stored."""

    __tablename__ = "credentials"

    id: Mapped[Key]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    csrf_token: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[Created]
    expires_at: Mapped[Moment]
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class LeaseRow(Base):
    """An item handed to one person for a while, so nobody else gets it meanwhile.

    ``head_event_id`` is the item's label event when it was served: a label
    submitted against a lease whose item has moved on since is refused.
    """

    __tablename__ = "leases"
    __table_args__ = (
        # At most one open lease per item: two servers racing for the same
        # item collide here, whatever the database's isolation level.
        Index(
            "uq_leases_open_item",
            "item_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        Index("ix_leases_user", "project_id", "user_id", "outcome"),
        Index(
            "ix_leases_skipped",
            "item_id",
            "user_id",
            sqlite_where=text("outcome = 'skipped'"),
            postgresql_where=text("outcome = 'skipped'"),
        ),
    )

    id: Mapped[Key]
    project_id: Mapped[ProjectKey]
    item_id: Mapped[ItemKey]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    head_event_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[Created]
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[Moment]
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)


class TrainingRunRow(Base):
    """One background training run of a project, and how it went."""

    __tablename__ = "training_runs"

    id: Mapped[Key]
    project_id: Mapped[ProjectKey] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16))
    step: Mapped[str | None] = mapped_column(String(64), default=None)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"), default=None)
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)
    requested_by: Mapped[str | None] = mapped_column(String(100), default=None)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[Moment]
    worker: Mapped[str | None] = mapped_column(String(200), default=None)
    heartbeat_at: Mapped[Moment]


class MonitorReportRow(Base):
    """One finding of the monitor: a drift test, a stopping verdict, an outlier scan.

    ``kind`` names the check (``data_drift``, ``concept_drift``, ``outliers``,
    ``label_errors``, ``stopping``, ``metadata``); ``body`` is the check's own
    JSON report; ``alert`` is whether it asks for a person's attention.
    """

    __tablename__ = "monitor_reports"
    __table_args__ = (Index("ix_monitor_reports_project_kind", "project_id", "kind", "id"),)

    id: Mapped[Key]
    project_id: Mapped[ProjectKey]
    kind: Mapped[str] = mapped_column(String(32))
    alert: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"), default=None)
    created_at: Mapped[Created]


class ItemFlagRow(Base):
    """An item the monitor singled out: an outlier, a likely label error, a drifted image.

    A flag stays open until it is resolved (relabeled, reviewed, dismissed);
    at most one open flag per item and kind.
    """

    __tablename__ = "item_flags"
    __table_args__ = (
        Index(
            "uq_item_flags_open",
            "item_id",
            "kind",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
        Index("ix_item_flags_project_kind", "project_id", "kind"),
    )

    id: Mapped[Key]
    project_id: Mapped[ProjectKey]
    item_id: Mapped[ItemKey]
    kind: Mapped[str] = mapped_column(String(32))
    score: Mapped[float | None] = mapped_column(Float, default=None)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("monitor_reports.id"), default=None)
    created_at: Mapped[Created]
    resolved_at: Mapped[Moment]
    resolution: Mapped[str | None] = mapped_column(String(32), default=None)


class MetadataValueRow(Base):
    """One numeric metadata value of an item: as it came, and as cleaned.

    The original is never overwritten; ``cleaned`` and ``reason`` record what
    the cleaning did (nothing, clipped, imputed) and which report did it.
    """

    __tablename__ = "metadata_values"
    __table_args__ = (UniqueConstraint("item_id", "column", name="uq_metadata_values_item_column"),)

    id: Mapped[Key]
    project_id: Mapped[ProjectKey] = mapped_column(index=True)
    item_id: Mapped[ItemKey]
    column: Mapped[str] = mapped_column(String(200))
    original: Mapped[float | None] = mapped_column(Float, default=None)
    cleaned: Mapped[float | None] = mapped_column(Float, default=None)
    reason: Mapped[str | None] = mapped_column(String(32), default=None)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("monitor_reports.id"), default=None)


class ExternalTaskRow(Base):
    """A task of an outside labeling tool (Label Studio) and the item it shows.

    ``system`` names the tool, ``external_project`` its project; one tool's
    task shows one item, and an item may be shown by several tasks.
    """

    __tablename__ = "external_tasks"
    __table_args__ = (
        UniqueConstraint(
            "project_id", "system", "external_project", "task_id", name="uq_external_tasks"
        ),
    )

    id: Mapped[Key]
    project_id: Mapped[ProjectKey]
    system: Mapped[str] = mapped_column(String(32))
    external_project: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[ItemKey] = mapped_column(index=True)
    created_at: Mapped[Created]


class ExternalAnnotationRow(Base):
    """An outside tool's annotation and the label event it last wrote.

    ``digest`` is a hash of the annotation's content: a re-sent webhook with
    the same content writes nothing; a changed one writes a new event.
    """

    __tablename__ = "external_annotations"
    __table_args__ = (
        UniqueConstraint(
            "project_id",
            "system",
            "external_project",
            "annotation_id",
            name="uq_external_annotations",
        ),
    )

    id: Mapped[Key]
    project_id: Mapped[ProjectKey]
    system: Mapped[str] = mapped_column(String(32))
    external_project: Mapped[str] = mapped_column(String(64))
    annotation_id: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[ItemKey] = mapped_column(index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("label_events.id"), default=None)
    digest: Mapped[str] = mapped_column(String(64))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
