"""The smallest drop a gate catches with a given power, under the gate's own sampling model.

All drops, tolerances and standard errors are in points (percent); accuracies ``p`` are fractions.

Absolute gate: a new run's accuracy on ``n`` images is approximately normal around ``p - drop`` with standard
error ``se = sqrt(p (1 - p) / n)``, and the cell fails when it lands below ``p - tolerance``; that happens with
probability ``Phi((drop - tolerance) / se)``, so the drop caught with ``power`` is
``tolerance + z_power * se``.

Significant gate: the drop must exceed the margin and be significant in a one-sided test at level ``a``. Holm
over ``m`` cells tests the smallest p-value at ``alpha / m``, so a single drop in an otherwise unchanged suite
is judged at ``a = alpha / m`` (conservative when several cells drop at once). Two sampling models:

- Paired (McNemar, the baseline stored per-image correctness on the same images): with a share ``d`` of images
  already discordant between baseline and run, a drop ``delta`` adds at least ``delta`` discordant images, and
  the test statistic is about ``delta * sqrt(n / (d + delta))``. Power ``pi`` needs
  ``delta^2 n = k^2 (d + delta)`` with ``k = z_(1-a) + z_pi``, a quadratic in ``delta``.
- Unpaired (exact binomial against a fixed baseline accuracy): ``delta = k * sqrt(p (1 - p) / n)``.

Aggregates use their delta-method standard error the same way.
"""

from __future__ import annotations

import math

from scipy.stats import norm

DEFAULT_POWER = 0.8


def _z(q: float) -> float:
    return float(norm.ppf(q))


def _binomial_se(p: float, n: int) -> float:
    """Points."""
    return 100.0 * math.sqrt(max(p * (1.0 - p), 0.0) / n)


def _level(alpha: float, family: int) -> float:
    return alpha / max(family, 1)


def detectable_drop_absolute(p: float, n: int, tolerance: float, power: float = DEFAULT_POWER) -> float:
    """The drop from accuracy ``p`` on ``n`` images that fails ``tolerance`` with probability ``power``.

    >>> round(detectable_drop_absolute(0.5, 10_000, 1.0), 3)
    1.421
    """
    if n <= 0:
        return math.inf
    return tolerance + _z(power) * _binomial_se(p, n)


def power_absolute(drop: float, p: float, n: int, tolerance: float) -> float:
    """The probability that the absolute gate fails a cell whose true accuracy fell by ``drop`` points."""
    if n <= 0:
        return 0.0
    se = _binomial_se(p, n)
    if se == 0:
        return 1.0 if drop > tolerance else 0.0
    return float(norm.cdf((drop - tolerance) / se))


def _paired_drop(k: float, n: int, discordance: float) -> float:
    """Points: the positive root of ``delta^2 n = k^2 (d + delta)`` (fractions inside)."""
    a = k * k / n
    delta = (a + math.sqrt(a * a + 4.0 * a * max(discordance, 0.0))) / 2.0
    return 100.0 * delta


def detectable_drop_significant(
    p: float,
    n: int,
    margin: float,
    alpha: float,
    family: int = 1,
    discordance: float | None = None,
    power: float = DEFAULT_POWER,
) -> float:
    """The drop the significant gate catches with ``power``, margin and Holm level included.

    Args:
        p: Baseline accuracy (fraction).
        n: Scored images.
        margin: The gate's margin in points; a smaller drop never fails.
        alpha: The suite's level.
        family: Cells in the Holm family; a lone drop is tested at ``alpha / family``.
        discordance: Share of images whose correctness already differs between baseline and run (paired
            McNemar model); None for the unpaired binomial model.
        power: Wanted detection probability.

    >>> round(detectable_drop_significant(0.5, 10_000, 0.0, 0.05), 3)
    1.243
    """
    if n <= 0:
        return math.inf
    k = _z(1.0 - _level(alpha, family)) + _z(power)
    drop = k * _binomial_se(p, n) if discordance is None else _paired_drop(k, n, discordance)
    return max(margin, drop)


def power_significant(
    drop: float, p: float, n: int, margin: float, alpha: float, family: int = 1, discordance: float | None = None
) -> float:
    """The probability that the significant gate fails a cell whose true accuracy fell by ``drop`` points."""
    if n <= 0 or drop <= margin:
        return 0.0
    paired = discordance is not None
    se = 100.0 * math.sqrt((max(discordance or 0.0, 0.0) + drop / 100.0) / n) if paired else _binomial_se(p, n)
    if se == 0:
        return 1.0
    return float(norm.cdf(drop / se - _z(1.0 - _level(alpha, family))))


def detectable_drop_score(
    standard_error: float,
    margin: float,
    sampling_factor: float,
    mode: str,
    alpha: float,
    power: float = DEFAULT_POWER,
) -> float:
    """The drop of a unified score (delta-method ``standard_error`` in points) its gate catches with ``power``."""
    if mode == "significant":
        return max(margin, (_z(1.0 - alpha) + _z(power)) * standard_error)
    return max(margin, sampling_factor * standard_error) + _z(power) * standard_error
