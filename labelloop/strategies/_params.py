"""Checks for strategy parameters, run when ``select`` starts, never in a constructor."""

import math
from collections.abc import Collection

import numpy as np

from labelloop.strategies.errors import InvalidParameterError

__all__ = ["check_choice", "check_int", "check_real", "make_rng"]


def make_rng(random_state: object) -> np.random.Generator:
    """Return a generator seeded with ``random_state`` (None: fresh OS entropy).

    Raises:
        InvalidParameterError: If ``random_state`` is neither None nor an integer >= 0.
    """
    if random_state is not None and (
        isinstance(random_state, bool)
        or not isinstance(random_state, int | np.integer)
        or random_state < 0
    ):
        raise InvalidParameterError(
            f"random_state must be None or an integer >= 0; got {random_state!r}. "
            "Pass a seed such as random_state=0 for reproducible picks."
        )
    return np.random.default_rng(random_state)


def check_int(name: str, value: object, *, low: int, allow_none: bool = False) -> int | None:
    """Return ``value`` as an int if it is an integer >= ``low`` (or None when allowed).

    Raises:
        InvalidParameterError: Otherwise, naming the parameter and its range.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        none = " or None" if allow_none else ""
        raise InvalidParameterError(f"{name} must be an integer >= {low}{none}; got {value!r}.")
    return int(value)


def check_real(
    name: str,
    value: object,
    *,
    low: float,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float if it is a finite real number in the given interval.

    Raises:
        InvalidParameterError: Otherwise, naming the parameter and its interval.
    """
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
        raise InvalidParameterError(f"{name} must be a finite number in {interval}; got {value!r}.")
    return float(value)  # type: ignore[arg-type]


def check_choice(name: str, value: object, choices: Collection[str]) -> str:
    """Return ``value`` if it is one of ``choices``.

    Raises:
        InvalidParameterError: Otherwise, listing the choices.
    """
    if not isinstance(value, str) or value not in choices:
        raise InvalidParameterError(
            f"{name} must be one of {', '.join(sorted(choices))}; got {value!r}."
        )
    return value
