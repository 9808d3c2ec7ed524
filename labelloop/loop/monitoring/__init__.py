"""The monitor run on a project, one module per check, mirroring :mod:`labelloop.monitor`.

The checks themselves are array code in :mod:`labelloop.monitor`; these
modules feed them a project's images, embeddings and events, and keep what
they find as reports and flags in the store, where the CLI, the API and the
dashboard read them:

- :mod:`.batch`: drift and outliers of an import batch, together;
- :mod:`.drift`: data drift of a batch or a stream window;
- :mod:`.outliers`: outliers of a batch;
- :mod:`.concept`: concept drift on the model's errors;
- :mod:`.label_errors`: label errors, on demand;
- :mod:`.metadata`: numeric metadata cleaning;
- :mod:`.stopping`: stopping evidence after each round;
- :mod:`.overview`: the latest of each, at a glance.

Detectors are chosen by name through :mod:`labelloop.monitor.registry`.
"""

from labelloop.loop.monitoring.batch import BatchHealth, check_batch
from labelloop.loop.monitoring.concept import check_concept_drift, recent_label_weight
from labelloop.loop.monitoring.drift import check_window, record_drift
from labelloop.loop.monitoring.errors import MonitorInputError
from labelloop.loop.monitoring.label_errors import (
    Progress,
    check_label_errors,
    label_error_inputs,
)
from labelloop.loop.monitoring.metadata import import_metadata
from labelloop.loop.monitoring.outliers import record_outliers
from labelloop.loop.monitoring.overview import monitor_overview
from labelloop.loop.monitoring.stopping import observe_round, record_stopping, stopping_report

__all__ = [
    "BatchHealth",
    "MonitorInputError",
    "Progress",
    "check_batch",
    "check_concept_drift",
    "check_label_errors",
    "check_window",
    "import_metadata",
    "label_error_inputs",
    "monitor_overview",
    "observe_round",
    "recent_label_weight",
    "record_drift",
    "record_outliers",
    "record_stopping",
    "stopping_report",
]
