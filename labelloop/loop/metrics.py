"""What a round measured, typed: written by the round pipeline, read by the CLI, server and monitor.

The store keeps a round's (and its model's) metrics as JSON; this is the one
place that knows their names. :meth:`RoundMetrics.to_json` writes only what
the round measured, and :meth:`RoundMetrics.from_json` reads any stored row,
older or newer: names it does not know are kept in ``extra`` and written back
unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labelloop.store import RoundRecord

__all__ = ["RoundMetrics", "latest_measured"]


@dataclass
class RoundMetrics:
    """One round's measurements; a field is None where the round did not measure it.

    Attributes:
        n_labeled: items a person had labeled when the round began.
        n_pool: items in the pool.
        n_train: labels the validated model was fitted on.
        n_val: labels held out for validation.
        refit_on: labels the ranking model was fitted on (all of them after
            the refit, else ``n_train``).
        validation: the held-out metrics; classification has ``accuracy``,
            ``macro_f1``, ``ece`` and their intervals, detection ``map`` and
            its kin.
        calibration: the temperature fit's report (ECE before and after).
        model_health: whether the model's predictions collapsed to one class.
        confidence_histogram: the pool's and the validation side's confidences.
        monitor: what the stopping rules watch (stop-set predictions, pool uncertainty).
        synthesized: item ids of membership queries made this round.
        fallback_strategy: the cold-start strategy ranked instead of an untrusted model.
        unreadable: pool files that could not be read.
        outliers_for_review: outliers interleaved into the ranking for review.
        auto_labels_written: auto-label events written.
        extra: stored names this version does not know, kept as they were.
    """

    n_labeled: int = 0
    n_pool: int = 0
    n_train: int | None = None
    n_val: int | None = None
    refit_on: int | None = None
    validation: dict[str, Any] | None = None
    calibration: dict[str, Any] | None = None
    model_health: dict[str, Any] | None = None
    confidence_histogram: dict[str, Any] | None = None
    monitor: dict[str, Any] | None = None
    synthesized: list[int] | None = None
    fallback_strategy: str | None = None
    unreadable: int | None = None
    outliers_for_review: int | None = None
    auto_labels_written: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The measured fields (and ``extra``) as the store keeps them."""
        out = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "extra" and getattr(self, f.name) is not None
        }
        return {**self.extra, **out}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> RoundMetrics:
        """A stored row's metrics (None or ``{}`` reads as nothing measured)."""
        data = dict(data or {})
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        values = {name: data.pop(name) for name in known & set(data)}
        return cls(**values, extra=data)

    def validation_value(self, name: str) -> float | None:
        """One held-out metric (e.g. ``"accuracy"``), None when not measured."""
        value = (self.validation or {}).get(name)
        return None if value is None else float(value)


def latest_measured(rounds: Sequence[RoundRecord], name: str) -> tuple[RoundRecord, Any] | None:
    """The newest round that measured ``name`` (a :class:`RoundMetrics` field) and its value.

    Walks back from the newest round and reads only as far as it must.
    """
    for record in reversed(rounds):
        value = getattr(RoundMetrics.from_json(record.metrics), name)
        if value is not None:
            return record, value
    return None
