"""Correlations between two scorings of the same methods (for example ImageNet val vs a variant).

Each function returns a :class:`Correlation` with the estimate, a two-sided p-value for
``H0: no association`` and a Fisher-z confidence interval ``tanh(atanh(r) -/+ z_{1-a/2} * se)``:

* Pearson ``r``: ``se = 1 / sqrt(n - 3)``;
* Spearman ``rho``: ``se = sqrt((1 + rho^2 / 2) / (n - 3))`` (Bonett and Wright 2000, Psychometrika 65);
* Kendall ``tau-b``: ``se = sqrt(0.437 / (n - 4))`` (Fieller, Hartley and Pearson 1957, Biometrika 44).

Degenerate input never raises and never warns; undefined fields are ``nan`` and ``reason`` says why:

* ``n < 2`` or a constant vector (all methods tied): everything ``nan``;
* ``n = 2``: the estimate is +-1 by construction; p-value and interval ``nan``;
* p-value needs ``n >= 3``; the interval needs ``n >= 4`` (Kendall: ``n >= 5``).

With ``|estimate| = 1`` the Fisher interval degenerates to ``(estimate, estimate)``.
Inputs are sequences aligned by position or mappings ``method -> score`` with the same keys.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from pytest_ssllottery.errors import StatisticsError
from pytest_ssllottery.stats._checks import FloatArray, as_finite_array, check_confidence, check_same_keys

__all__ = ["Correlation", "kendall_tau", "pearson_r", "spearman_rho"]

Scores = Mapping[str, float] | Sequence[float] | npt.NDArray[np.floating]
CorrelationMethod = Literal["pearson", "spearman", "kendall-b"]

_NAN = math.nan


@dataclass(frozen=True)
class Correlation:
    """A correlation coefficient with its p-value and Fisher-z interval.

    Attributes:
        estimate: The coefficient in [-1, 1], or nan when undefined.
        low: Lower interval bound, or nan.
        high: Upper interval bound, or nan.
        pvalue: Two-sided p-value of ``H0: no association``, or nan.
        n: Number of paired observations (methods).
        method: ``"pearson"``, ``"spearman"`` or ``"kendall-b"``.
        reason: Why some field is nan, or ``None`` when all are defined.
    """

    estimate: float
    low: float
    high: float
    pvalue: float
    n: int
    method: CorrelationMethod
    reason: str | None = None


def _paired(x: Scores, y: Scores) -> tuple[FloatArray, FloatArray]:
    if isinstance(x, Mapping) or isinstance(y, Mapping):
        if not (isinstance(x, Mapping) and isinstance(y, Mapping)):
            raise StatisticsError("x and y must both be mappings method -> score, or both sequences")
        check_same_keys(x, y, "x and y")
        keys = list(x)
        return as_finite_array([x[k] for k in keys], "x"), as_finite_array([y[k] for k in keys], "y")
    x_array, y_array = as_finite_array(x, "x"), as_finite_array(y, "y")
    if x_array.size != y_array.size:
        raise StatisticsError(f"x and y must have the same length, found {x_array.size} and {y_array.size}")
    return x_array, y_array


def _undefined_reason(x: FloatArray, y: FloatArray) -> str | None:
    if x.size < 2:
        return f"a correlation needs at least 2 methods, found {x.size}"
    for name, values in (("x", x), ("y", y)):
        if np.all(values == values[0]):
            return f"{name} is constant (every method has the same score), so the correlation is undefined"
    return None


def _pearson(x: FloatArray, y: FloatArray) -> float:
    xc, yc = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float(np.dot(xc, xc)) * float(np.dot(yc, yc)))
    return max(-1.0, min(1.0, float(np.dot(xc, yc)) / denominator))


def _t_pvalue(r: float, n: int) -> float:
    """Two-sided p-value of ``t = r sqrt((n - 2) / (1 - r^2))`` with ``n - 2`` degrees of freedom."""
    if abs(r) >= 1.0:
        return 0.0
    t = abs(r) * math.sqrt((n - 2) / (1.0 - r * r))
    return min(1.0, 2.0 * float(stats.t.sf(t, n - 2)))


def _kendall_tau_b(x: FloatArray, y: FloatArray) -> float:
    """``tau_b = (C - D) / sqrt((n0 - n1)(n0 - n2))`` by direct pair counting (O(n^2))."""
    dx = np.sign(x[:, np.newaxis] - x[np.newaxis, :])
    dy = np.sign(y[:, np.newaxis] - y[np.newaxis, :])
    upper = np.triu_indices(x.size, k=1)
    s = float(np.sum(dx[upper] * dy[upper]))
    untied_x = float(np.count_nonzero(dx[upper]))
    untied_y = float(np.count_nonzero(dy[upper]))
    return max(-1.0, min(1.0, s / math.sqrt(untied_x * untied_y)))


def _result(
    estimate: float,
    pvalue: float,
    n: int,
    method: CorrelationMethod,
    se: float,
    min_n_interval: int,
    confidence: float,
) -> Correlation:
    reason = None
    if n < 3:
        pvalue = _NAN
        reason = (
            f"only {n} methods: the correlation is +-1 by construction; a p-value needs at least 3 "
            f"and an interval at least {min_n_interval}"
        )
    if n < min_n_interval:
        reason = reason or f"the Fisher-z interval of {method} needs at least {min_n_interval} methods, found {n}"
        return Correlation(estimate, _NAN, _NAN, pvalue, n, method, reason)
    z = float(stats.norm.isf((1.0 - confidence) / 2.0))
    centre = math.atanh(estimate) if abs(estimate) < 1.0 else math.copysign(math.inf, estimate)
    low, high = math.tanh(centre - z * se), math.tanh(centre + z * se)
    return Correlation(estimate, low, high, pvalue, n, method, reason)


def pearson_r(x: Scores, y: Scores, confidence: float = 0.95) -> Correlation:
    """Pearson's ``r`` with the t-test p-value and the Fisher-z interval (``se = 1/sqrt(n-3)``).

    ``r = sum (x - mx)(y - my) / sqrt(sum (x - mx)^2 sum (y - my)^2)``; the p-value is that of
    ``t = r sqrt((n-2)/(1-r^2))`` on ``n - 2`` degrees of freedom (exact under bivariate normality).
    """
    confidence = check_confidence(confidence)
    xa, ya = _paired(x, y)
    reason = _undefined_reason(xa, ya)
    if reason is not None:
        return Correlation(_NAN, _NAN, _NAN, _NAN, xa.size, "pearson", reason)
    r = _pearson(xa, ya)
    n = xa.size
    p = _t_pvalue(r, n) if n >= 3 else _NAN
    return _result(r, p, n, "pearson", 1.0 / math.sqrt(n - 3) if n > 3 else _NAN, 4, confidence)


def spearman_rho(x: Scores, y: Scores, confidence: float = 0.95) -> Correlation:
    """Spearman's ``rho`` (Pearson's ``r`` of average ranks) with Bonett-Wright Fisher-z interval.

    The p-value uses the t approximation of :func:`pearson_r` applied to the ranks (as scipy).
    ``se = sqrt((1 + rho^2/2) / (n - 3))``.
    """
    confidence = check_confidence(confidence)
    xa, ya = _paired(x, y)
    reason = _undefined_reason(xa, ya)
    if reason is not None:
        return Correlation(_NAN, _NAN, _NAN, _NAN, xa.size, "spearman", reason)
    rho = _pearson(stats.rankdata(xa).astype(np.float64), stats.rankdata(ya).astype(np.float64))
    n = xa.size
    p = _t_pvalue(rho, n) if n >= 3 else _NAN
    se = math.sqrt((1.0 + rho * rho / 2.0) / (n - 3)) if n > 3 else _NAN
    return _result(rho, p, n, "spearman", se, 4, confidence)


def kendall_tau(x: Scores, y: Scores, confidence: float = 0.95) -> Correlation:
    """Kendall's ``tau-b`` with the Fieller-Hartley-Pearson Fisher-z interval.

    ``tau_b = (C - D) / sqrt((n0 - n1)(n0 - n2))`` with ``C``/``D`` concordant/discordant pairs,
    ``n0 = n(n-1)/2`` and ``n1``, ``n2`` the pairs tied in x, y. The p-value is
    ``scipy.stats.kendalltau``'s (exact without ties for small n, normal approximation otherwise).
    ``se = sqrt(0.437 / (n - 4))`` (derived without ties; approximate with ties).
    """
    confidence = check_confidence(confidence)
    xa, ya = _paired(x, y)
    reason = _undefined_reason(xa, ya)
    if reason is not None:
        return Correlation(_NAN, _NAN, _NAN, _NAN, xa.size, "kendall-b", reason)
    tau = _kendall_tau_b(xa, ya)
    n = xa.size
    p = _NAN
    if n >= 3:
        p = min(1.0, max(0.0, float(stats.kendalltau(xa, ya, variant="b").pvalue)))
    se = math.sqrt(0.437 / (n - 4)) if n > 4 else _NAN
    return _result(tau, p, n, "kendall-b", se, 5, confidence)
