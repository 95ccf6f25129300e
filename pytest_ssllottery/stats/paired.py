"""Tests that one method is worse than another (or than a stored baseline accuracy).

McNemar's exact test compares two correctness vectors on the same images. With
``b = #(a right, b wrong)`` and ``c = #(a wrong, b right)`` (the discordant pairs), under
``H0: P(a right, b wrong) = P(a wrong, b right)`` the count ``b`` is ``Binomial(b + c, 1/2)``
conditionally on ``b + c``. Concordant images carry no information about the difference.

Mid-p option: the exact test's p-value includes the whole probability of the observed count, which
makes it conservative (actual size below alpha, markedly so with few discordant pairs). The mid-p
value counts only half of it, ``P(X < x) + P(X = x) / 2``; its size is close to alpha without a
guarantee (Fagerland, Lydersen and Laake 2013, BMC Med Res Methodol 13:91, recommend the McNemar
mid-p test). The default is the exact test, so a failing gate is never caused by anti-conservatism.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, SupportsIndex

import numpy as np
import numpy.typing as npt
from scipy import stats

from pytest_ssllottery.errors import StatisticsError
from pytest_ssllottery.stats._checks import as_bool_vector, as_count, check_counts, check_fraction

__all__ = ["Alternative", "McNemarResult", "binomial_drop_test", "mcnemar_exact", "mcnemar_exact_from_counts"]

Alternative = Literal["two-sided", "less", "greater"]
_ALTERNATIVES = ("two-sided", "less", "greater")


@dataclass(frozen=True)
class McNemarResult:
    """Result of McNemar's exact test.

    Attributes:
        b: Images where a is right and b is wrong.
        c: Images where a is wrong and b is right.
        statistic: The binomial count the p-value is computed from: ``min(b, c)`` for
            ``"two-sided"`` (as statsmodels), ``b`` for the one-sided alternatives.
        pvalue: The p-value in [0, 1]; 1 when there are no discordant pairs.
        n: Number of paired images (0 when built from counts only).
        alternative: The alternative hypothesis tested.
        mid_p: Whether the mid-p value was computed.
    """

    b: int
    c: int
    statistic: int
    pvalue: float
    n: int = 0
    alternative: Alternative = "two-sided"
    mid_p: bool = False

    @property
    def difference(self) -> float:
        """Accuracy of a minus accuracy of b, ``(b - c) / n`` (nan when ``n`` is unknown)."""
        return (self.b - self.c) / self.n if self.n > 0 else float("nan")


def _check_alternative(alternative: str) -> Alternative:
    if alternative == "two-sided":
        return "two-sided"
    if alternative == "less":
        return "less"
    if alternative == "greater":
        return "greater"
    raise StatisticsError(f"alternative must be one of {_ALTERNATIVES}, found {alternative!r}")


def _lower_tail(x: int, n: int, p: float, mid_p: bool) -> float:
    """``P(X <= x)`` for ``X ~ Binomial(n, p)``, or the mid-p ``P(X < x) + P(X = x) / 2``.

    The mid-p value is computed as ``(P(X <= x) + P(X <= x - 1)) / 2`` (no pmf: scipy's overflows
    for some tiny ``p``).
    """
    value = float(stats.binom.cdf(x, n, p))
    if mid_p:
        value = 0.5 * (value + float(stats.binom.cdf(x - 1, n, p)))
    return min(1.0, max(0.0, value))


def mcnemar_exact_from_counts(
    b: SupportsIndex, c: SupportsIndex, alternative: Alternative = "two-sided", mid_p: bool = False
) -> McNemarResult:
    """McNemar's exact test from the discordant counts.

    With ``X ~ Binomial(b + c, 1/2)``:

    * ``"less"`` (a is worse than b): ``p = P(X <= b)``;
    * ``"greater"`` (a is better than b): ``p = P(X >= b)``;
    * ``"two-sided"``: ``p = min(1, 2 P(X <= min(b, c)))``.

    Args:
        b: Images where a is right and b is wrong.
        c: Images where a is wrong and b is right.
        alternative: ``"two-sided"``, ``"less"`` or ``"greater"``.
        mid_p: Return the mid-p value instead of the exact one (see the module docstring).
    """
    alt = _check_alternative(alternative)
    b_int = as_count(b, "b (a right, b wrong)")
    c_int = as_count(c, "c (a wrong, b right)")
    if b_int < 0 or c_int < 0:
        raise StatisticsError(f"discordant counts must be non-negative, found b = {b_int}, c = {c_int}")
    m = b_int + c_int
    if alt == "two-sided":
        statistic = min(b_int, c_int)
        pvalue = 1.0 if m == 0 else min(1.0, 2.0 * _lower_tail(statistic, m, 0.5, mid_p))
    else:
        statistic = b_int
        x = b_int if alt == "less" else c_int  # P(X >= b) = P(Binomial(m, 1/2) <= c) by symmetry
        pvalue = 1.0 if m == 0 else _lower_tail(x, m, 0.5, mid_p)
    return McNemarResult(b=b_int, c=c_int, statistic=statistic, pvalue=pvalue, alternative=alt, mid_p=mid_p)


def mcnemar_exact(
    a_correct: npt.ArrayLike,
    b_correct: npt.ArrayLike,
    alternative: Alternative = "two-sided",
    mid_p: bool = False,
) -> McNemarResult:
    """McNemar's exact test between two correctness vectors on the same images.

    Args:
        a_correct: Per-image correctness of method a (bool).
        b_correct: Per-image correctness of method b on the same images, in the same order.
        alternative: ``"less"`` tests that a is worse than b (the gate: a = current, b = baseline),
            ``"greater"`` that a is better, ``"two-sided"`` that they differ.
        mid_p: Return the mid-p value instead of the exact one.

    Raises:
        StatisticsError: If the vectors are empty, of different lengths, or not boolean.
    """
    a = as_bool_vector(a_correct, "a_correct")
    b = as_bool_vector(b_correct, "b_correct")
    if a.size != b.size:
        raise StatisticsError(
            f"a_correct and b_correct must cover the same images, found lengths {a.size} and {b.size}"
        )
    if a.size == 0:
        raise StatisticsError("cannot compare two methods on n = 0 images; expected non-empty correctness vectors")
    b_count = int(np.count_nonzero(a & ~b))
    c_count = int(np.count_nonzero(~a & b))
    result = mcnemar_exact_from_counts(b_count, c_count, alternative, mid_p)
    return McNemarResult(
        b=result.b,
        c=result.c,
        statistic=result.statistic,
        pvalue=result.pvalue,
        n=int(a.size),
        alternative=result.alternative,
        mid_p=mid_p,
    )


def binomial_drop_test(k: SupportsIndex, n: SupportsIndex, baseline_accuracy: float, mid_p: bool = False) -> float:
    """One-sided exact binomial test that the true accuracy is below a baseline accuracy.

    ``H0: p >= p0`` against ``H1: p < p0``; ``p-value = P(X <= k)`` with ``X ~ Binomial(n, p0)``
    (the same as ``scipy.stats.binomtest(k, n, p0, alternative="less")``).

    For baselines stored without per-image correctness. The baseline ``p0`` is treated as known
    exactly: its own sampling error is ignored, so the test is anti-conservative when the baseline
    was itself measured on a sample; prefer :func:`mcnemar_exact` when both correctness vectors exist.

    Args:
        k: Number of correct images now.
        n: Number of scored images now (> 0).
        baseline_accuracy: The baseline accuracy ``p0`` as a fraction in [0, 1].
        mid_p: Return ``P(X < k) + P(X = k) / 2`` instead.

    Returns:
        The one-sided p-value.
    """
    k_int, n_int = check_counts(k, n)
    p0 = check_fraction(baseline_accuracy, "baseline_accuracy")
    return _lower_tail(k_int, n_int, p0, mid_p)
