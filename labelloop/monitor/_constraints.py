"""Two constraints the shared ones do not cover: a number or a keyword, and a quantile pair."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real
from typing import Any

from labelloop.plugins import Constraint

__all__ = ["OrValue", "QuantilePair"]


@dataclass(frozen=True)
class OrValue(Constraint):
    """What ``inner`` accepts, or one literal ``value`` (``"auto"``, ``None``)."""

    inner: Constraint
    value: str | None = None
    hint: str = ""

    def accepts(self, value: object) -> bool:
        if value is None or isinstance(value, str):
            return value == self.value or self.inner.accepts(value)
        return self.inner.accepts(value)

    def describe(self) -> str:
        return f"{self.value!r} or {self.inner.describe()}"

    def convert(self, value: object) -> Any:
        return value if value == self.value else self.inner.convert(value)


@dataclass(frozen=True)
class QuantilePair(Constraint):
    """None, or a tuple ``(low, high)`` of quantiles with ``0 <= low < high <= 1``."""

    hint: str = ""

    def accepts(self, value: object) -> bool:
        if value is None:
            return True
        if not isinstance(value, tuple) or len(value) != 2:
            return False
        if not all(isinstance(q, Real) and not isinstance(q, bool) for q in value):
            return False
        return 0.0 <= float(value[0]) < float(value[1]) <= 1.0

    def describe(self) -> str:
        return "None or (low, high) with 0 <= low < high <= 1"
