"""Input validation shared by the statistics modules.

Every check raises :class:`~pytest_ssllottery.errors.StatisticsError` with a message that names the
argument, says what was expected and what was found.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from typing import SupportsIndex

import numpy as np
import numpy.typing as npt

from pytest_ssllottery.errors import StatisticsError

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


def as_count(value: SupportsIndex, name: str) -> int:
    """Return ``value`` as a Python int, rejecting floats, bools and other non-integers."""
    if isinstance(value, (bool, np.bool_)):
        raise StatisticsError(f"{name} must be an integer count, found the boolean {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise StatisticsError(
            f"{name} must be an integer count, found {value!r} of type {type(value).__name__}"
        ) from None


def check_counts(k: SupportsIndex, n: SupportsIndex, *, what: str = "accuracy") -> tuple[int, int]:
    """Validate ``0 <= k <= n`` and ``n > 0`` and return them as ints."""
    k_int = as_count(k, "k (number of correct images)")
    n_int = as_count(n, "n (number of scored images)")
    if n_int <= 0:
        raise StatisticsError(
            f"cannot compute the {what} of a dataset with n = {n_int} scored images; "
            "expected n > 0 (check that the dataset is not empty and that its label-space contract "
            "does not exclude every image)"
        )
    if not 0 <= k_int <= n_int:
        raise StatisticsError(f"the number of correct images k = {k_int} must lie in [0, n] with n = {n_int}")
    return k_int, n_int


def check_confidence(confidence: float) -> float:
    """Validate a confidence level in the open interval (0, 1)."""
    confidence = float(confidence)
    if not 0.0 < confidence < 1.0:
        raise StatisticsError(f"confidence must lie strictly between 0 and 1 (for example 0.95), found {confidence!r}")
    return confidence


def check_alpha(alpha: float) -> float:
    """Validate a significance level in the open interval (0, 1)."""
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise StatisticsError(f"alpha must lie strictly between 0 and 1 (for example 0.05), found {alpha!r}")
    return alpha


def check_fraction(value: float, name: str) -> float:
    """Validate one accuracy given as a fraction in [0, 1]."""
    value = float(value)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        hint = " (accuracies are fractions in [0, 1]; divide percentages by 100)" if value > 1 else ""
        raise StatisticsError(f"{name} must be a fraction in [0, 1], found {value!r}{hint}")
    return value


def as_fraction_array(values: npt.ArrayLike, name: str) -> FloatArray:
    """Return a 1-D float array of fractions in [0, 1]."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise StatisticsError(f"{name} must be one-dimensional, found shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise StatisticsError(f"{name} must be finite, found {array.tolist()}")
    if np.any((array < 0.0) | (array > 1.0)):
        hint = " (divide percentages by 100)" if np.any(array > 1.0) else ""
        raise StatisticsError(f"{name} must be fractions in [0, 1], found {array.tolist()}{hint}")
    return array


def as_finite_array(values: npt.ArrayLike, name: str) -> FloatArray:
    """Return a 1-D array of finite floats."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise StatisticsError(f"{name} must be one-dimensional, found shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise StatisticsError(f"{name} must be finite (no nan or inf), found {array.tolist()}")
    return array


def as_bool_vector(values: npt.ArrayLike, name: str) -> BoolArray:
    """Return a 1-D bool array; integer input is accepted only if every value is 0 or 1."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise StatisticsError(f"{name} must be a one-dimensional correctness vector, found shape {array.shape}")
    if array.dtype == np.bool_:
        return array
    if array.size == 0:
        return np.zeros(0, dtype=np.bool_)
    if np.issubdtype(array.dtype, np.integer) and np.all((array == 0) | (array == 1)):
        return array.astype(np.bool_)
    raise StatisticsError(
        f"{name} must hold per-image correctness as booleans (or 0/1 integers), found dtype {array.dtype}"
    )


def check_same_keys(first: Mapping[str, object], second: Mapping[str, object], names: str) -> None:
    """Raise if two mappings do not have exactly the same keys."""
    if set(first) != set(second):
        only_first = sorted(set(first) - set(second))
        only_second = sorted(set(second) - set(first))
        raise StatisticsError(
            f"{names} must have the same keys; only in the first: {only_first}, only in the second: {only_second}"
        )
