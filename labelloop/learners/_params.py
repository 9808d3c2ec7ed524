"""Checks of constructor parameters shared by the learners; each failure names the range."""

from labelloop.learners.errors import InvalidParameterError


def check_int(name: str, value: object, minimum: int) -> int:
    """Check that ``value`` is an ``int`` (not a ``bool``) of at least ``minimum``.

    Args:
        name: Parameter name, for the message.
        value: The value to check.
        minimum: Smallest allowed value.

    Returns:
        ``value`` as an ``int``.

    Raises:
        InvalidParameterError: If it is not an int ``>= minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidParameterError(f"{name} must be an int >= {minimum}, got {value!r}.")
    return value


def check_float(name: str, value: object, low: float, high: float, *, open_low: bool) -> float:
    """Check that ``value`` is a real number in ``(low, high)`` or ``[low, high)``.

    Args:
        name: Parameter name, for the message.
        value: The value to check.
        low: Lower end of the range.
        high: Upper end of the range, excluded.
        open_low: If true, ``low`` itself is excluded.

    Returns:
        ``value`` as a ``float``.

    Raises:
        InvalidParameterError: If it is not a number in the range.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if (number > low if open_low else number >= low) and number < high:
            return number
    bracket = "(" if open_low else "["
    raise InvalidParameterError(
        f"{name} must be a number in {bracket}{low}, {high}), got {value!r}."
    )


def check_n_samples(n_samples: int | None, available: int) -> int:
    """How many of a fixed set of samples (members, clones) to return.

    A fixed set cannot give more samples than it holds, so a larger request is
    capped: the loop asks every learner for the same number (``mc_samples``),
    and a 5-member ensemble then answers with its 5 members.

    Args:
        n_samples: Samples asked for, or ``None`` for all of them.
        available: Samples the learner holds.

    Returns:
        ``min(n_samples, available)``, or ``available`` if ``n_samples`` is ``None``.

    Raises:
        InvalidParameterError: If ``n_samples`` is not ``None`` or an int ``>= 1``.
    """
    if n_samples is None:
        return available
    return min(check_int("n_samples", n_samples, 1), available)
