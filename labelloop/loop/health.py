"""The monitor run on a project: the public names of :mod:`labelloop.loop.monitoring`.

Kept so that ``from labelloop.loop.health import check_batch`` (the CLI, the
server, the round pipeline) reads as before; the checks live one per module
in :mod:`labelloop.loop.monitoring`.
"""

from labelloop.loop.monitoring import (
    BatchHealth,
    MonitorInputError,
    check_batch,
    check_concept_drift,
    check_label_errors,
    check_window,
    import_metadata,
    monitor_overview,
    observe_round,
    recent_label_weight,
    record_stopping,
    stopping_report,
)

__all__ = [
    "BatchHealth",
    "MonitorInputError",
    "check_batch",
    "check_concept_drift",
    "check_label_errors",
    "check_window",
    "import_metadata",
    "monitor_overview",
    "observe_round",
    "recent_label_weight",
    "record_stopping",
    "stopping_report",
]
