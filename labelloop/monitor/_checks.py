"""Parameter checks shared by the monitor's detectors, run at fit, never in a constructor."""

import math

import numpy as np

__all__ = ["check_int", "check_random_state", "check_real", "make_rng"]


def check_int(
    name: str, value: object, *, low: int, high: int | None = None, error: type[ValueError]
) -> int:
    """``value`` as an int; raise ``error`` naming it unless it is an integer in [low, high]."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or value < low
        or (high is not None and value > high)
    ):
        wanted = f">= {low}" if high is None else f"from {low} to {high}"
        raise error(f"{name} must be an integer {wanted}; got {value!r}.")
    return int(value)


def check_real(
    name: str,
    value: object,
    *,
    low: float,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
    error: type[ValueError],
) -> float:
    """``value`` as a float; raise ``error`` naming the interval unless ``value`` is in it."""
    number = math.nan
    if not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
    ok = math.isfinite(number)
    if ok:
        ok = (number > low if low_open else number >= low) and (
            number < high if high_open else number <= high
        )
    if not ok:
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise error(f"{name} must be a finite number in {interval}; got {value!r}.")
    return number


def check_random_state(value: object, *, error: type[ValueError]) -> int | None:
    """``value`` as a seed; raise ``error`` unless it is None or an integer >= 0."""
    if value is None:
        return None
    return check_int("random_state", value, low=0, error=error)


def make_rng(random_state: object, *, error: type[ValueError]) -> np.random.Generator:
    """A generator seeded by ``random_state`` after :func:`check_random_state` accepts it."""
    return np.random.default_rng(check_random_state(random_state, error=error))
