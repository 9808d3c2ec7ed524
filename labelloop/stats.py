"""Small statistics shared across packages, with nothing heavier than the standard library."""

from __future__ import annotations

import math

__all__ = ["wilson_interval"]


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default).

    Unlike the normal approximation it stays inside [0, 1] and is honest for
    small ``n``: 8 right of 10 gives [0.49, 0.94], not 0.80.

    Args:
        successes: how many were right.
        n: how many were tried; 0 gives ``(0, 1)``.
        z: the normal quantile of the confidence level.
    """
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)
