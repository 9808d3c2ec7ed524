"""Projects: their names, their configuration, and the record of its changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from labelloop.data.labels import LabelSchema
from labelloop.store._events import project_rows, to_record
from labelloop.store.database import StorePart
from labelloop.store.records import (
    ConfigChange,
    ProjectExistsError,
    ProjectNotFoundError,
    ProjectRecord,
)
from labelloop.store.schema import ConfigChangeRow, ProjectRow

__all__ = ["Projects"]


def _check_config(config: dict[str, Any]) -> None:
    """Refuse a configuration without a valid ``task`` and ``classes``."""
    LabelSchema(task=config["task"], classes=tuple(config["classes"]))


class Projects(StorePart):
    """Creating, finding and reconfiguring projects, on the store's session factories."""

    def create_project(self, name: str, config: dict[str, Any]) -> ProjectRecord:
        """Create a project; ``config`` must hold at least ``task`` and ``classes``."""
        _check_config(config)
        try:
            with self._db.write() as s:
                row = ProjectRow(name=name, config=config)
                s.add(row)
                s.flush()
                return to_record(ProjectRecord, row)
        except IntegrityError as exc:
            raise ProjectExistsError(
                f"a project named {name!r} already exists; choose another name"
            ) from exc

    def project(self, name: str) -> ProjectRecord:
        """The project called ``name``."""
        with self._db.read() as s:
            row = s.scalars(select(ProjectRow).where(ProjectRow.name == name)).one_or_none()
            if row is None:
                names = s.scalars(select(ProjectRow.name)).all()
                raise ProjectNotFoundError(f"no project named {name!r}; projects: {list(names)}")
            return to_record(ProjectRecord, row)

    def update_config(
        self,
        project_id: int,
        config: dict[str, Any],
        *,
        changes: Sequence[tuple[str, Any, Any]] = (),
        who: str = "",
        note: str = "",
    ) -> None:
        """Replace a project's configuration (validated by the caller) and record the changes.

        Args:
            project_id: the project.
            config: the whole new configuration mapping.
            changes: ``(dotted key, old value, new value)`` per changed setting,
                recorded in the same transaction.
            who: who changed them (a user name, ``cli:<login>``, ``labelloop``).
            note: why, when the change was not a person's (e.g. decided from data).
        """
        _check_config(config)
        with self._db.write() as s:
            row = s.get(ProjectRow, project_id)
            if row is None:
                raise ProjectNotFoundError(f"no project with id {project_id}")
            row.config = config
            for key, old, new in changes:
                s.add(
                    ConfigChangeRow(
                        project_id=project_id,
                        key=key,
                        old={"value": old},
                        new={"value": new},
                        who=who,
                        note=note,
                    )
                )

    def config_history(self, project_id: int) -> list[ConfigChange]:
        """Every recorded settings change of a project, oldest first."""
        with self._db.read() as s:
            rows = project_rows(s, ConfigChangeRow, project_id)
            return [
                to_record(ConfigChange, r, old=r.old.get("value"), new=r.new.get("value"))
                for r in rows
            ]
