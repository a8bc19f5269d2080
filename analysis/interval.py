"""How sure a fraction is: the Wilson score interval, which stays inside [0, 1] and is honest at small n."""

from __future__ import annotations

import math

Z_95 = 1.959963984540054
"""The standard normal quantile for a two-sided 95% interval."""
FEW_CASES = 5
"""Below this many units a cell's fraction says little: it is marked 'few cases'."""


def wilson_interval(right: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson 95% interval of `right` successes out of `n`; (0, 1) when there is nothing to judge."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= right <= n:
        raise ValueError(f"right must lie between 0 and n={n}, got {right}")
    p = right / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denominator = 1 + z * z / n
    low, high = (centre - spread) / denominator, (centre + spread) / denominator
    # the bounds are exact at the ends: floating point must not put 0 of n above 0 or n of n below 1
    return (0.0 if right == 0 else max(0.0, low)), (1.0 if right == n else min(1.0, high))
