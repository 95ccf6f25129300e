"""Confidence intervals and standard errors for one accuracy ``k / n``.

The accuracy of a fixed model on ``n`` images drawn from a population is ``k ~ Binomial(n, p)``.
All functions take counts (``k`` correct out of ``n`` scored images) or a fraction ``p`` in [0, 1].
"""

from __future__ import annotations

import math
from typing import SupportsIndex

from scipy import stats

from pytest_ssllottery.errors import StatisticsError
from pytest_ssllottery.stats._checks import as_count, check_confidence, check_counts, check_fraction

__all__ = ["binomial_standard_error", "clopper_pearson", "sampling_tolerance", "wilson"]


def clopper_pearson(k: SupportsIndex, n: SupportsIndex, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided interval for a binomial proportion.

    ``lo = Beta.ppf(a/2; k, n-k+1)`` (0 when ``k = 0``) and ``hi = Beta.ppf(1-a/2; k+1, n-k)`` (1 when
    ``k = n``), with ``a = 1 - confidence``. Coverage is at least ``confidence`` for every ``p``.

    Args:
        k: Number of correct images, ``0 <= k <= n``.
        n: Number of scored images, ``n > 0``.
        confidence: Two-sided confidence level in (0, 1).

    Returns:
        ``(lo, hi)`` as fractions in [0, 1].

    Raises:
        StatisticsError: If ``n <= 0``, ``k`` is outside [0, n] or ``confidence`` is outside (0, 1).
    """
    k_int, n_int = check_counts(k, n)
    half_alpha = (1.0 - check_confidence(confidence)) / 2.0
    lo = 0.0 if k_int == 0 else float(stats.beta.ppf(half_alpha, k_int, n_int - k_int + 1))
    hi = 1.0 if k_int == n_int else float(stats.beta.isf(half_alpha, k_int + 1, n_int - k_int))
    return lo, hi


def wilson(k: SupportsIndex, n: SupportsIndex, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    With ``p = k/n`` and ``z`` the ``1 - a/2`` normal quantile::

        centre = (p + z^2/(2n)) / (1 + z^2/n)
        half   = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/(4n^2))

    The interval ``centre -/+ half`` is clipped to [0, 1] (it only leaves it by rounding).

    Raises:
        StatisticsError: If ``n <= 0``, ``k`` is outside [0, n] or ``confidence`` is outside (0, 1).
    """
    k_int, n_int = check_counts(k, n)
    z = float(stats.norm.isf((1.0 - check_confidence(confidence)) / 2.0))
    p = k_int / n_int
    z2n = z * z / n_int
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(p * (1.0 - p) / n_int + z2n / (4.0 * n_int))
    lo = 0.0 if k_int == 0 else max(0.0, centre - half)
    hi = 1.0 if k_int == n_int else min(1.0, centre + half)
    return lo, hi


def binomial_standard_error(p: float, n: SupportsIndex) -> float:
    """Standard error of an accuracy measured on ``n`` images: ``sqrt(p (1 - p) / n)``.

    Args:
        p: Accuracy as a fraction in [0, 1] (the observed ``k / n`` or an assumed true accuracy).
        n: Number of scored images, ``n > 0``.

    Raises:
        StatisticsError: If ``n <= 0`` or ``p`` is outside [0, 1].
    """
    n_int = as_count(n, "n (number of scored images)")
    if n_int <= 0:
        raise StatisticsError(
            f"cannot compute the standard error of an accuracy on n = {n_int} scored images; expected n > 0"
        )
    p = check_fraction(p, "p (accuracy)")
    return math.sqrt(p * (1.0 - p) / n_int)


def sampling_tolerance(p: float, n: SupportsIndex, confidence: float = 0.95) -> float:
    """Smallest drop distinguishable from binomial sampling noise: ``z_confidence * sqrt(p (1 - p) / n)``.

    ``z_confidence`` is the one-sided normal quantile (1.645 for 0.95), as the gate is one-sided.
    A gate's tolerance should never be smaller than this at the dataset's size.

    Args:
        p: Accuracy as a fraction (use the baseline accuracy).
        n: Number of scored images, ``n > 0``.
        confidence: One-sided confidence level in (0, 1).

    Returns:
        The tolerance as a fraction (multiply by 100 for accuracy points).
    """
    z = float(stats.norm.ppf(check_confidence(confidence)))
    return z * binomial_standard_error(p, n)
