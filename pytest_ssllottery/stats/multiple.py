"""Family-wise error control across the cells of a suite (Holm-Bonferroni step-down)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, SupportsIndex

import numpy as np
import numpy.typing as npt

from pytest_ssllottery.errors import StatisticsError
from pytest_ssllottery.stats._checks import BoolArray, FloatArray, as_count, check_alpha

__all__ = ["HolmDecision", "HolmResult", "holm", "holm_decision_bounds"]

HolmDecision = Literal["reject", "accept", "undetermined"]


@dataclass(frozen=True, eq=False)
class HolmResult:
    """Result of :func:`holm`, aligned with the input p-values.

    Attributes:
        rejected: True where the null hypothesis is rejected at family-wise level alpha.
        adjusted: Holm-adjusted p-values (monotone in the sorted p-values, capped at 1);
            ``rejected == (adjusted <= alpha)`` up to floating-point rounding at the boundary.
    """

    rejected: BoolArray
    adjusted: FloatArray


def _check_pvalue(p: float, name: str) -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0:  # also rejects nan
        raise StatisticsError(f"{name} must be a p-value in [0, 1], found {p!r}")
    return p


def holm(pvalues: npt.ArrayLike, alpha: float = 0.05) -> HolmResult:
    """Holm-Bonferroni step-down procedure.

    Sort ``p_(1) <= ... <= p_(m)``. Reject ``H_(1), ..., H_(r)`` where ``r`` is the largest index with
    ``p_(j) <= alpha / (m - j + 1)`` for every ``j <= r``. Adjusted p-values:
    ``p~_(i) = min(1, max_{j <= i} (m - j + 1) p_(j))``. Controls the family-wise error rate at
    ``alpha`` under any dependence between the tests.

    Args:
        pvalues: One p-value per hypothesis (1-D, each in [0, 1]); may be empty.
        alpha: Family-wise significance level in (0, 1).
    """
    alpha = check_alpha(alpha)
    p = np.asarray(pvalues, dtype=np.float64)
    if p.ndim != 1:
        raise StatisticsError(f"pvalues must be one-dimensional, found shape {p.shape}")
    if not np.all((p >= 0.0) & (p <= 1.0)):
        raise StatisticsError(f"pvalues must all lie in [0, 1] (no nan), found {p.tolist()}")
    m = p.size
    order = np.argsort(p, kind="stable")
    sorted_p = p[order]
    multipliers = np.arange(m, 0, -1, dtype=np.float64)
    # Rejection uses the same comparison p <= alpha / (m - j + 1) as holm_decision_bounds.
    passes = sorted_p <= alpha / multipliers
    rejected_sorted = np.cumprod(passes).astype(np.bool_)
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate(multipliers * sorted_p)) if m else sorted_p
    rejected = np.empty(m, dtype=np.bool_)
    adjusted = np.empty(m, dtype=np.float64)
    rejected[order] = rejected_sorted
    adjusted[order] = adjusted_sorted
    return HolmResult(rejected=rejected, adjusted=adjusted)


def holm_decision_bounds(p: float, m: SupportsIndex, alpha: float = 0.05) -> HolmDecision:
    """Holm's decision on one hypothesis when only its p-value and the family size ``m`` are known.

    Returns ``"reject"`` if ``p <= alpha / m``, ``"accept"`` if ``p > alpha``, else ``"undetermined"``
    (the other p-values are needed).

    Proof. If ``p <= alpha/m``, every ``p_(j)`` sorted at or before it is ``<= p <= alpha/m <=
    alpha/(m-j+1)``, so the step-down reaches it and rejects. If ``p > alpha``, at its rank ``r`` the
    threshold is ``alpha/(m-r+1) <= alpha < p``, so the step-down stops at or before it.

    Args:
        p: The hypothesis' p-value in [0, 1].
        m: Number of hypotheses in the family (>= 1).
        alpha: Family-wise significance level in (0, 1).
    """
    alpha = check_alpha(alpha)
    p = _check_pvalue(p, "p")
    m_int = as_count(m, "m (family size)")
    if m_int < 1:
        raise StatisticsError(f"the family size m must be at least 1, found {m_int}")
    if p <= alpha / m_int:
        return "reject"
    if p > alpha:
        return "accept"
    return "undetermined"
