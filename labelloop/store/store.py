"""The label store: every read and write of a project's data, one transaction each.

:class:`Store` opens the database; each concept is a part of its own module,
over the same session factories (:mod:`labelloop.store.database`):

==================  ==========================================================
``Projects``        projects and their configuration (:mod:`.projects`)
``Items``           the pool of images (:mod:`.items`)
``Labels``          the append-only label events (:mod:`.labels`)
``Snapshots``       frozen, content-hashed labeled sets (:mod:`.snapshots`)
``Rounds``          models, rounds and their rankings (:mod:`.rounds`)
==================  ==========================================================

Their methods are the store's own (``store.add_items``, ``store.undo``,
``store.add_round``): :class:`Store` is all five, on one set of session
factories, typed as they are declared there. Larger subsystems that callers
reach by name stay attributes: ``store.people``, ``store.leases``,
``store.training``, ``store.stats``, ``store.monitor``, ``store.external``
and ``store.catalog``.
"""

from __future__ import annotations

from labelloop.store.catalog import Catalog
from labelloop.store.database import Transactions, check_schema, migrate
from labelloop.store.external import ExternalLinks
from labelloop.store.items import AddItemsResult, Items
from labelloop.store.labels import LabelInput, Labels
from labelloop.store.monitoring import MonitorRecords
from labelloop.store.people import People
from labelloop.store.projects import Projects
from labelloop.store.queue import Queue
from labelloop.store.rounds import RankedEntry, RankedItem, RankingView, Rounds
from labelloop.store.snapshots import Snapshots
from labelloop.store.stats import Stats
from labelloop.store.training import TrainingRuns

__all__ = ["AddItemsResult", "LabelInput", "RankedEntry", "RankedItem", "RankingView", "Store"]


class Store(Projects, Items, Labels, Snapshots, Rounds):
    """All persistent state of labelloop projects behind one SQLAlchemy engine.

    Args:
        url: SQLAlchemy database URL.
        create: run migrations to create or upgrade the schema; otherwise the
            schema must already be current.
    """

    def __init__(self, url: str, *, create: bool = False) -> None:
        super().__init__(Transactions(url))
        self.url = url
        self.engine = self._db.engine
        if create:
            migrate(self.engine)
        else:
            check_schema(self.engine)
        self.people = People(self._db)
        self.leases = Queue(self._db)
        self.training = TrainingRuns(self._db)
        self.stats = Stats(self._db)
        self.monitor = MonitorRecords(self._db)
        self.external = ExternalLinks(self._db)
        self.catalog = Catalog(self._db)

    def close(self) -> None:
        """Release every pooled connection."""
        self._db.dispose()
