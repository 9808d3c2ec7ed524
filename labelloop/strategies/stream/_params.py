"""Constructor parameters of stream selectors and budget managers: read back and checked.

Following scikit-learn, constructors only store their parameters; these helpers
check them when a stream starts and read them back for :meth:`get_params`.
"""

import inspect
from numbers import Integral, Real
from typing import Any

from labelloop.strategies.errors import InvalidParameterError

__all__ = ["Configurable", "check_budget", "check_seed", "check_share", "check_window"]


class Configurable:
    """Gives :meth:`get_params` and ``repr`` from the constructor's signature."""

    def get_params(self) -> dict[str, Any]:
        """Return the constructor parameters as stored, e.g. ``{"budget": 0.1, ...}``.

        Returns:
            A new dict from parameter name to value, sorted by name;
            ``type(self)(**params)`` builds an equal object.
        """
        names = sorted(inspect.signature(type(self)).parameters)
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        """Show the class and its parameters, e.g. ``BudgetManager(budget=0.1, window=100)``."""
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_params().items())
        return f"{type(self).__name__}({args})"


def _as_float(value: object) -> float | None:
    """``value`` as a float if it is a real number (bools are not), else None."""
    if isinstance(value, bool) or not isinstance(value, Real):
        return None
    return float(value)


def _as_int(value: object) -> int | None:
    """``value`` as an int if it is an integer (bools are not), else None."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        return None
    return int(value)


def check_budget(budget: object) -> float:
    """Return ``budget`` as a float if it is a share in (0, 1].

    Raises:
        InvalidParameterError: Otherwise (NaN included).
    """
    return check_share(
        "budget",
        budget,
        low=0.0,
        high=1.0,
        open_low=True,
        hint="It is the share of items that may be labeled; pass e.g. budget=0.1 for one in ten.",
    )


def check_window(window: object) -> int:
    """Return ``window`` as an int if it is an integer >= 1.

    Raises:
        InvalidParameterError: Otherwise.
    """
    number = _as_int(window)
    if number is None or number < 1:
        raise InvalidParameterError(
            f"window must be an integer >= 1, the number of recent decisions the budget "
            f"is kept over; got {window!r}. Pass e.g. window=100."
        )
    return number


def check_seed(random_state: object) -> int | None:
    """Return ``random_state`` if it is None or an integer >= 0.

    Raises:
        InvalidParameterError: Otherwise.
    """
    if random_state is None:
        return None
    number = _as_int(random_state)
    if number is None or number < 0:
        raise InvalidParameterError(
            f"random_state must be None or an integer >= 0; got {random_state!r}. "
            "Pass e.g. random_state=0 for reproducible decisions."
        )
    return number


def check_share(
    name: str,
    value: object,
    *,
    low: float,
    high: float,
    open_low: bool = False,
    open_high: bool = False,
    hint: str,
) -> float:
    """Return ``value`` as a float if it lies between ``low`` and ``high``.

    Args:
        name: The parameter's name, for the message.
        value: The stored parameter.
        low: Smallest allowed value, or its bound if ``open_low``.
        high: Largest allowed value, or its bound if ``open_high``.
        open_low: Whether ``low`` itself is refused.
        open_high: Whether ``high`` itself is refused.
        hint: What the parameter means and a value to pass, e.g. ``"Pass e.g. step=0.01."``.

    Raises:
        InvalidParameterError: If ``value`` is not a number in that interval (NaN included).
    """
    number = _as_float(value)
    if (
        number is None
        or not (number > low if open_low else number >= low)
        or not (number < high if open_high else number <= high)
    ):
        interval = f"{'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"
        raise InvalidParameterError(f"{name} must be a number in {interval}; got {value!r}. {hint}")
    return number
