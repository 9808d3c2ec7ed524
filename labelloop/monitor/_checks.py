"""Parameter checks shared by the monitor's detectors, run at fit, never in a constructor."""

import math

import numpy as np

__all__ = ["check_int", "check_real"]


def check_int(name: str, value: object, *, low: int, error: type[ValueError]) -> None:
    """Raise ``error`` naming the parameter unless ``value`` is an integer >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise error(f"{name} must be an integer >= {low}; got {value!r}.")


def check_real(
    name: str,
    value: object,
    *,
    low: float,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
    error: type[ValueError],
) -> None:
    """Raise ``error`` naming the interval unless ``value`` is a finite number inside it."""
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int | float | np.integer | np.floating)
        and math.isfinite(float(value))
    )
    if ok:
        number = float(value)  # type: ignore[arg-type]
        ok = (number > low if low_open else number >= low) and (
            number < high if high_open else number <= high
        )
    if not ok:
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise error(f"{name} must be a finite number in {interval}; got {value!r}.")
