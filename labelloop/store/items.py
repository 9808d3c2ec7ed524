"""The pool: importing images as items (deduplicated by content) and finding them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import select

from labelloop.store._events import append_event, item_row, project_rows, project_schema, to_item
from labelloop.store.database import StorePart
from labelloop.store.records import Item, LabelSource, NewItem
from labelloop.store.schema import ItemRow

__all__ = ["AddItemsResult", "Items"]


@dataclass(frozen=True)
class AddItemsResult:
    """What :meth:`Items.add_items` did: items added, how many labeled, duplicates skipped."""

    added: list[Item]
    duplicates: list[tuple[str, int]]
    labeled: int = 0


def _item_row(project_id: int, new: NewItem) -> ItemRow:
    # Every field of the new item is a column of its row, but the label: that becomes an event.
    image = {f.name: getattr(new, f.name) for f in fields(new) if f.name != "label"}
    return ItemRow(project_id=project_id, **image)


class Items(StorePart):
    """A project's images, on the store's session factories."""

    def add_items(
        self,
        project_id: int,
        items: Sequence[NewItem],
        *,
        source: LabelSource = "import",
        annotator: str | None = None,
    ) -> AddItemsResult:
        """Add images to the pool in one transaction, skipping known content.

        Items carrying a ``label`` get a first label event with ``source``.
        Every label is validated before anything is written, so an unknown
        class leaves the database untouched.
        """
        with self._db.write() as s:
            schema, val_fraction = project_schema(s, project_id)
            values = [None if it.label is None else schema.validate_value(it.label) for it in items]
            shas = [it.sha256 for it in items]
            known = {
                sha: item_id
                for sha, item_id in s.execute(
                    select(ItemRow.sha256, ItemRow.id).where(
                        ItemRow.project_id == project_id, ItemRow.sha256.in_(shas)
                    )
                )
            }
            added: list[ItemRow] = []
            duplicate_of: list[tuple[str, str]] = []
            pending: list[tuple[ItemRow, Any]] = []
            batch: dict[str, ItemRow] = {}
            for new, value in zip(items, values, strict=True):
                if new.sha256 in known or new.sha256 in batch:
                    duplicate_of.append((new.name, new.sha256))
                    continue
                row = _item_row(project_id, new)
                s.add(row)
                added.append(row)
                batch[new.sha256] = row
                if value is not None:
                    pending.append((row, value))
            s.flush()
            for row, value in pending:
                append_event(
                    s,
                    row,
                    value,
                    source=source,
                    action="label",
                    annotator=annotator,
                    val_fraction=val_fraction,
                    head=None,
                )
            known.update((sha, row.id) for sha, row in batch.items())
            duplicates = [(name, known[sha]) for name, sha in duplicate_of]
            return AddItemsResult([to_item(r) for r in added], duplicates, len(pending))

    def image_kinds(self, project_id: int) -> list[tuple[str, int, int]]:
        """The distinct ``(mode, height, width)`` of the project's images (one query)."""
        with self._db.read() as s:
            rows = s.execute(
                select(ItemRow.mode, ItemRow.height, ItemRow.width)
                .where(ItemRow.project_id == project_id)
                .distinct()
            ).all()
            return sorted((str(m), int(h), int(w)) for m, h, w in rows)

    def items(self, project_id: int) -> list[Item]:
        """Every item of the project, by id."""
        with self._db.read() as s:
            return [to_item(r) for r in project_rows(s, ItemRow, project_id)]

    def item(self, project_id: int, item_id: int) -> Item:
        """One item; :class:`UnknownItemError` if the project has no such item."""
        with self._db.read() as s:
            return to_item(item_row(s, project_id, item_id))

    def find_items(self, project_id: int, key: str) -> list[Item]:
        """Items whose id, content hash or import name equals ``key``."""
        with self._db.read() as s:
            query = select(ItemRow).where(ItemRow.project_id == project_id)
            cond = (ItemRow.sha256 == key) | (ItemRow.name == key)
            if key.isdigit() and int(key) < 2**63:  # the databases' integer range
                cond = cond | (ItemRow.id == int(key))
            return [to_item(r) for r in s.scalars(query.where(cond).order_by(ItemRow.id))]
