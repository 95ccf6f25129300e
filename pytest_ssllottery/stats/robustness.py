"""Effective robustness (Taori et al. 2020, "Measuring Robustness to Natural Distribution Shifts").

Across a population of methods, ``logit(variant accuracy)`` is fitted by least squares as a linear
function of ``logit(val accuracy)``. A method's effective robustness is its variant accuracy minus
the accuracy the fit predicts from its val accuracy::

    ER = acc_variant - sigmoid(slope * logit(acc_val) + intercept)

Accuracies are fractions; they are clipped to ``[epsilon, 1 - epsilon]`` before the logit
(default ``LOGIT_EPSILON = 1e-4``, logit ~ +-9.2), which only matters for accuracies of exactly 0 or 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
import numpy.typing as npt

from pytest_ssllottery.errors import StatisticsError
from pytest_ssllottery.stats._checks import FloatArray, as_fraction_array, check_fraction, check_same_keys

__all__ = ["LOGIT_EPSILON", "LogitFit", "effective_robustness", "fit_logit_linear", "logit", "sigmoid"]

LOGIT_EPSILON = 1e-4


@dataclass(frozen=True)
class LogitFit:
    """A line ``logit(variant) = slope * logit(val) + intercept``.

    Attributes:
        slope: Slope in logit space.
        intercept: Intercept in logit space.
        r_squared: Coefficient of determination in logit space (nan for a stored fit, or when the
            variant logits are all equal).
        n: Number of methods fitted (0 for a stored fit).
        epsilon: Clipping used for the logit.
    """

    slope: float
    intercept: float
    r_squared: float = math.nan
    n: int = 0
    epsilon: float = LOGIT_EPSILON


def _check_epsilon(epsilon: float) -> float:
    epsilon = float(epsilon)
    if not 0.0 < epsilon < 0.5:
        raise StatisticsError(f"epsilon must lie in (0, 0.5), found {epsilon!r}")
    return epsilon


@overload
def logit(p: float, epsilon: float = LOGIT_EPSILON) -> float: ...


@overload
def logit(p: FloatArray, epsilon: float = LOGIT_EPSILON) -> FloatArray: ...


def logit(p: float | FloatArray, epsilon: float = LOGIT_EPSILON) -> float | FloatArray:
    """``log(q / (1 - q))`` with ``q = clip(p, epsilon, 1 - epsilon)``."""
    epsilon = _check_epsilon(epsilon)
    if isinstance(p, np.ndarray):
        q = np.clip(p, epsilon, 1.0 - epsilon)
        result: FloatArray = np.log(q) - np.log1p(-q)
        return result
    q_scalar = min(max(float(p), epsilon), 1.0 - epsilon)
    return math.log(q_scalar) - math.log1p(-q_scalar)


def sigmoid(x: float) -> float:
    """``1 / (1 + exp(-x))``, computed without overflow."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def fit_logit_linear(
    val_acc: Mapping[str, float] | Sequence[float] | npt.NDArray[np.floating],
    variant_acc: Mapping[str, float] | Sequence[float] | npt.NDArray[np.floating],
    epsilon: float = LOGIT_EPSILON,
) -> LogitFit:
    """Least-squares line of ``logit(variant_acc)`` on ``logit(val_acc)`` across methods.

    ``slope = cov(u, v) / var(u)``, ``intercept = mean(v) - slope * mean(u)`` with ``u``, ``v`` the
    clipped logits; ``r^2 = 1 - SS_res / SS_tot``.

    Args:
        val_acc: Reference (ImageNet val) accuracies per method, fractions.
        variant_acc: Variant accuracies of the same methods (same keys, or aligned by position).
        epsilon: Clipping before the logit.

    Raises:
        StatisticsError: If fewer than 2 methods or all val accuracies are equal (slope undefined).
    """
    if isinstance(val_acc, Mapping) or isinstance(variant_acc, Mapping):
        if not (isinstance(val_acc, Mapping) and isinstance(variant_acc, Mapping)):
            raise StatisticsError("val_acc and variant_acc must both be mappings method -> accuracy, or both sequences")
        check_same_keys(val_acc, variant_acc, "val_acc and variant_acc")
        keys = list(val_acc)
        val = as_fraction_array([val_acc[k] for k in keys], "val_acc")
        variant = as_fraction_array([variant_acc[k] for k in keys], "variant_acc")
    else:
        val = as_fraction_array(val_acc, "val_acc")
        variant = as_fraction_array(variant_acc, "variant_acc")
    if val.size != variant.size:
        raise StatisticsError(f"val_acc and variant_acc must have the same length, found {val.size} and {variant.size}")
    if val.size < 2:
        raise StatisticsError(f"fitting a line needs at least 2 methods, found {val.size}")
    epsilon = _check_epsilon(epsilon)
    u, v = logit(val, epsilon), logit(variant, epsilon)
    uc = u - u.mean()
    su = float(np.dot(uc, uc))
    if su == 0.0:
        raise StatisticsError("every method has the same val accuracy (after clipping); the slope is undefined")
    slope = float(np.dot(uc, v - v.mean())) / su
    intercept = float(v.mean()) - slope * float(u.mean())
    ss_tot = float(np.sum((v - v.mean()) ** 2))
    ss_res = float(np.sum((v - (slope * u + intercept)) ** 2))
    r_squared = 1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan
    return LogitFit(slope=slope, intercept=intercept, r_squared=r_squared, n=int(val.size), epsilon=epsilon)


def effective_robustness(val_acc: float, variant_acc: float, fit: LogitFit | tuple[float, float]) -> float:
    """``variant_acc - sigmoid(slope * logit(val_acc) + intercept)`` (a fraction; > 0 is more robust).

    Args:
        val_acc: The method's reference accuracy, fraction.
        variant_acc: The method's variant accuracy, fraction.
        fit: A :class:`LogitFit` or a stored ``(slope, intercept)`` pair (clipped with
            ``LOGIT_EPSILON``).
    """
    if isinstance(fit, LogitFit):
        slope, intercept, epsilon = fit.slope, fit.intercept, fit.epsilon
    else:
        if len(fit) != 2:
            raise StatisticsError(f"a stored fit must be a (slope, intercept) pair, found {fit!r}")
        slope, intercept = float(fit[0]), float(fit[1])
        epsilon = LOGIT_EPSILON
    if not (math.isfinite(slope) and math.isfinite(intercept)):
        raise StatisticsError(f"the fit must have a finite slope and intercept, found {slope!r}, {intercept!r}")
    val = check_fraction(val_acc, "val_acc")
    variant = check_fraction(variant_acc, "variant_acc")
    return variant - sigmoid(slope * logit(val, epsilon) + intercept)
