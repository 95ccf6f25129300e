"""Aggregate scores of one method over several datasets, with standard errors and bootstrap intervals.

Two aggregates are used:

* weighted average ``A = sum_i w_i p_i / sum_i w_i`` (weights default to the scored images ``n_i``,
  which makes ``A`` the micro accuracy over the union of the datasets);
* geometric mean ``G = (prod_i p_i)^(1/K)`` over the ``K`` datasets, unweighted.

Zeros in the geometric mean: if any accuracy is 0 then ``G = 0`` (its mathematical value). No epsilon
is added silently; pass ``floor`` to compute ``G`` of ``max(p_i, floor)`` instead.

Accuracies are fractions in [0, 1]. A per-dataset input is either a sequence (weights aligned by
position) or a mapping ``dataset -> value`` (weights must be a mapping with the same keys).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pytest_ssllottery.errors import StatisticsError
from pytest_ssllottery.stats._checks import (
    BoolArray,
    FloatArray,
    as_bool_vector,
    as_finite_array,
    as_fraction_array,
    check_confidence,
    check_same_keys,
)

__all__ = [
    "AggregateBootstrap",
    "BootstrapInterval",
    "bootstrap_aggregate_difference",
    "bootstrap_aggregates",
    "geometric_mean",
    "geometric_mean_standard_error",
    "unified_scores",
    "weighted_average",
    "weighted_average_standard_error",
]

PerDataset = Mapping[str, float] | Sequence[float] | npt.NDArray[np.floating] | npt.NDArray[np.integer]


@dataclass(frozen=True)
class BootstrapInterval:
    """Point estimate with a bootstrap percentile interval.

    Attributes:
        estimate: The statistic on the observed data (not the bootstrap mean).
        low: Lower percentile bound, ``quantile(samples, (1 - confidence) / 2)``.
        high: Upper percentile bound, ``quantile(samples, (1 + confidence) / 2)``.
        standard_error: Standard deviation of the bootstrap samples (``ddof = 1``).
    """

    estimate: float
    low: float
    high: float
    standard_error: float


@dataclass(frozen=True)
class AggregateBootstrap:
    """Bootstrap intervals of both aggregates (or of their difference between two methods)."""

    weighted_average: BootstrapInterval
    geometric_mean: BootstrapInterval
    n_resamples: int
    confidence: float


def _values_and_weights(
    values: PerDataset, weights: PerDataset | None, values_name: str
) -> tuple[FloatArray, FloatArray | None]:
    """Align values and optional weights (by key for mappings, by position otherwise)."""
    if isinstance(values, Mapping):
        keys = list(values)
        array = as_fraction_array([values[key] for key in keys], values_name)
        if weights is None:
            return array, None
        if not isinstance(weights, Mapping):
            raise StatisticsError(
                f"{values_name} is a mapping dataset -> value, so weights must be a mapping with the same keys"
            )
        check_same_keys(values, weights, f"{values_name} and weights")
        return array, _check_weights([weights[key] for key in keys], len(keys))
    if isinstance(weights, Mapping):
        raise StatisticsError(f"weights is a mapping, so {values_name} must be a mapping with the same keys")
    array = as_fraction_array(values, values_name)
    return array, None if weights is None else _check_weights(weights, array.size)


def _check_weights(weights: npt.ArrayLike, size: int) -> FloatArray:
    array = as_finite_array(weights, "weights")
    if array.size != size:
        raise StatisticsError(f"expected {size} weights (one per dataset), found {array.size}")
    if np.any(array < 0) or not array.sum() > 0:
        raise StatisticsError(f"weights must be non-negative with a positive sum, found {array.tolist()}")
    return array


def _check_nonempty(values: FloatArray, name: str) -> None:
    if values.size == 0:
        raise StatisticsError(f"cannot aggregate {name} over zero datasets; expected at least one")


def _check_floor(floor: float | None) -> float | None:
    if floor is None:
        return None
    floor = float(floor)
    if not 0.0 < floor <= 1.0:
        raise StatisticsError(f"floor must lie in (0, 1] (for example 1e-4), found {floor!r}")
    return floor


def weighted_average(acc: PerDataset, weights: PerDataset) -> float:
    """Weighted average ``sum_i w_i p_i / sum_i w_i`` of per-dataset accuracies.

    Args:
        acc: Accuracies (fractions) per dataset.
        weights: Non-negative weights with a positive sum, aligned with ``acc``. Pass the scored
            image counts ``n_i`` for the micro accuracy over all datasets.

    Raises:
        StatisticsError: On empty input, values outside [0, 1], bad or misaligned weights.
    """
    values, w = _values_and_weights(acc, weights, "acc")
    _check_nonempty(values, "accuracies")
    if w is None:
        raise StatisticsError("weights are required; pass the scored image counts n_i for the micro accuracy")
    return float(np.dot(w, values) / w.sum())


def geometric_mean(acc: PerDataset, floor: float | None = None) -> float:
    """Unweighted geometric mean ``exp(mean_i log p_i)`` of per-dataset accuracies.

    Args:
        acc: Accuracies (fractions) per dataset.
        floor: If given (in (0, 1]), each accuracy is replaced by ``max(p_i, floor)`` first.
            If ``None`` (default) and some ``p_i = 0``, the result is exactly 0.

    Raises:
        StatisticsError: On empty input or values outside [0, 1].
    """
    values, _ = _values_and_weights(acc, None, "acc")
    _check_nonempty(values, "accuracies")
    return float(_geometric_mean_rows(values[np.newaxis, :], _check_floor(floor))[0])


def unified_scores(
    accuracy_percent: Sequence[float], weights: Sequence[float], floor_percent: float | None = None
) -> dict[str, float]:
    """The two unified scores of per-dataset accuracies, in percent: the one place they are computed.

    ``floor_percent`` (e.g. 0.1) keeps one exact zero from zeroing the geometric mean.

    >>> unified_scores([80.0, 20.0], [3.0, 1.0])
    {'weighted_average': 65.0, 'geometric_mean': 40.0}
    """
    accuracies = np.array([value / 100.0 for value in accuracy_percent])
    floor = floor_percent / 100.0 if floor_percent else None
    return {
        "weighted_average": 100.0 * float(weighted_average(accuracies, np.array(weights))),
        "geometric_mean": 100.0 * float(geometric_mean(accuracies, floor)),
    }


def _geometric_mean_rows(values: FloatArray, floor: float | None) -> FloatArray:
    """Geometric mean of each row of a 2-D array; rows containing a 0 give 0."""
    if floor is not None:
        values = np.maximum(values, floor)
    with np.errstate(divide="ignore"):
        result: FloatArray = np.exp(np.log(values).mean(axis=1))
    return result


def _counts(n: PerDataset, acc: PerDataset) -> FloatArray:
    if isinstance(acc, Mapping):
        if not isinstance(n, Mapping):
            raise StatisticsError("acc is a mapping dataset -> value, so n must be a mapping with the same keys")
        check_same_keys(acc, n, "acc and n")
        array = as_finite_array([n[key] for key in acc], "n")
    else:
        if isinstance(n, Mapping):
            raise StatisticsError("n is a mapping, so acc must be a mapping with the same keys")
        array = as_finite_array(n, "n")
    if np.any(array <= 0):
        raise StatisticsError(f"every dataset needs n > 0 scored images, found n = {array.tolist()}")
    return array


def weighted_average_standard_error(acc: PerDataset, n: PerDataset, weights: PerDataset | None = None) -> float:
    """Analytic standard error of the weighted average, datasets independent.

    ``SE = sqrt(sum_i w_i^2 p_i (1 - p_i) / n_i) / sum_i w_i``.

    Args:
        acc: Accuracies (fractions) per dataset.
        n: Scored images per dataset (all > 0).
        weights: Weights aligned with ``acc``; ``None`` means ``w_i = n_i``.
    """
    values, w = _values_and_weights(acc, weights, "acc")
    _check_nonempty(values, "accuracies")
    counts = _counts(n, acc)
    if counts.size != values.size:
        raise StatisticsError(f"expected {values.size} image counts (one per dataset), found {counts.size}")
    w = counts if w is None else w
    return float(math.sqrt(float(np.sum(w**2 * values * (1.0 - values) / counts))) / w.sum())


def geometric_mean_standard_error(acc: PerDataset, n: PerDataset, floor: float | None = None) -> float:
    """Delta-method standard error of the geometric mean, datasets independent.

    ``d G / d p_i = G / (K p_i)`` and ``Var p_i = p_i (1 - p_i) / n_i`` give
    ``SE = G / K * sqrt(sum_i (1 - p_i) / (n_i p_i))``.

    With ``floor``, ``p_i`` is replaced by ``max(p_i, floor)`` in both ``G`` and the sum.

    Raises:
        StatisticsError: If some ``p_i = 0`` and no ``floor`` is given: ``G`` is not differentiable
            there; pass ``floor`` or use :func:`bootstrap_aggregates`.
    """
    values, _ = _values_and_weights(acc, None, "acc")
    _check_nonempty(values, "accuracies")
    counts = _counts(n, acc)
    if counts.size != values.size:
        raise StatisticsError(f"expected {values.size} image counts (one per dataset), found {counts.size}")
    checked_floor = _check_floor(floor)
    if checked_floor is not None:
        values = np.maximum(values, checked_floor)
    elif np.any(values == 0.0):
        raise StatisticsError(
            "the delta-method standard error of the geometric mean is undefined when an accuracy is 0; "
            "pass floor=... or use bootstrap_aggregates"
        )
    g = float(np.exp(np.log(values).mean()))
    return g / values.size * math.sqrt(float(np.sum((1.0 - values) / (counts * values))))


def _interval(estimate: float, samples: FloatArray, confidence: float) -> BootstrapInterval:
    half_alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(samples, [half_alpha, 1.0 - half_alpha])
    se = float(np.std(samples, ddof=1)) if samples.size > 1 else math.nan
    return BootstrapInterval(estimate=estimate, low=float(low), high=float(high), standard_error=se)


def _check_resamples(n_resamples: int) -> int:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 2:
        raise StatisticsError(f"n_resamples must be an integer >= 2, found {n_resamples!r}")
    return int(n_resamples)


def _bootstrap_weights(datasets: list[str], counts: FloatArray, weights: Mapping[str, float] | None) -> FloatArray:
    if weights is None:
        return counts
    check_same_keys({d: None for d in datasets}, weights, "the datasets of correct_by_dataset and weights")
    return _check_weights([weights[d] for d in datasets], len(datasets))


def _correct_vectors(correct_by_dataset: Mapping[str, npt.ArrayLike], name: str) -> dict[str, BoolArray]:
    if not correct_by_dataset:
        raise StatisticsError(f"{name} is empty; expected at least one dataset")
    vectors = {}
    for dataset in sorted(correct_by_dataset):
        vector = as_bool_vector(correct_by_dataset[dataset], f"{name}[{dataset!r}]")
        if vector.size == 0:
            raise StatisticsError(
                f"dataset {dataset!r} has n = 0 scored images; cannot bootstrap an accuracy over no images"
            )
        vectors[dataset] = vector
    return vectors


def bootstrap_aggregates(
    correct_by_dataset: Mapping[str, npt.ArrayLike],
    weights: Mapping[str, float] | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    floor: float | None = None,
) -> AggregateBootstrap:
    """Stratified bootstrap of the weighted average and the geometric mean of one method.

    Images are resampled with replacement within each dataset, datasets independently. For one
    correctness vector with ``k`` correct of ``n``, the number of correct images in a resample of
    ``n`` indices is exactly ``Binomial(n, k/n)``; as both aggregates depend on the resample only
    through these counts, drawing the counts is the same bootstrap in distribution, in O(1) per
    resample and dataset instead of O(n).

    Args:
        correct_by_dataset: ``dataset -> per-image correctness`` (bool, non-empty).
        weights: ``dataset -> weight`` for the weighted average; ``None`` means scored images ``n_i``.
        n_resamples: Number of bootstrap resamples (>= 2).
        seed: Seed of ``np.random.default_rng``; datasets are drawn in sorted-name order, so the
            result does not depend on the mapping's order.
        confidence: Level of the two-sided percentile intervals.
        floor: Passed to :func:`geometric_mean` for every resample.

    Returns:
        Percentile intervals and bootstrap standard errors of both aggregates.
    """
    confidence = check_confidence(confidence)
    resamples = _check_resamples(n_resamples)
    checked_floor = _check_floor(floor)
    vectors = _correct_vectors(correct_by_dataset, "correct_by_dataset")
    datasets = list(vectors)
    counts = np.array([v.size for v in vectors.values()], dtype=np.float64)
    correct = np.array([int(v.sum()) for v in vectors.values()], dtype=np.float64)
    w = _bootstrap_weights(datasets, counts, weights)
    rng = np.random.default_rng(seed)
    samples = np.empty((resamples, len(datasets)), dtype=np.float64)
    for column, (n_i, k_i) in enumerate(zip(counts, correct, strict=True)):
        samples[:, column] = rng.binomial(int(n_i), k_i / n_i, size=resamples) / n_i
    observed = correct / counts
    return AggregateBootstrap(
        weighted_average=_interval(float(np.dot(w, observed) / w.sum()), samples @ w / w.sum(), confidence),
        geometric_mean=_interval(
            float(_geometric_mean_rows(observed[np.newaxis, :], checked_floor)[0]),
            _geometric_mean_rows(samples, checked_floor),
            confidence,
        ),
        n_resamples=resamples,
        confidence=confidence,
    )


def bootstrap_aggregate_difference(
    a_correct_by_dataset: Mapping[str, npt.ArrayLike],
    b_correct_by_dataset: Mapping[str, npt.ArrayLike],
    weights: Mapping[str, float] | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    floor: float | None = None,
) -> AggregateBootstrap:
    """Paired stratified bootstrap of ``aggregate(a) - aggregate(b)`` for two methods on the same images.

    The same image indices are resampled for both methods. Per dataset, the resample enters only
    through the counts of the four joint outcomes (both right, only a right, only b right, both
    wrong), which are exactly ``Multinomial(n, observed joint frequencies)``; they are drawn directly.
    Then ``acc_a = (n11 + n10) / n`` and ``acc_b = (n11 + n01) / n``.

    Args:
        a_correct_by_dataset: ``dataset -> correctness of method a``.
        b_correct_by_dataset: ``dataset -> correctness of method b`` on the same images in the same
            order (same datasets, same lengths).
        weights: ``dataset -> weight``, shared by both methods; ``None`` means scored images ``n_i``.
        n_resamples: Number of bootstrap resamples (>= 2).
        seed: Seed of ``np.random.default_rng`` (datasets drawn in sorted-name order).
        confidence: Level of the two-sided percentile intervals.
        floor: Passed to :func:`geometric_mean` for both methods.

    Returns:
        Intervals of the differences ``a - b`` (negative: a is worse) of both aggregates.
    """
    confidence = check_confidence(confidence)
    resamples = _check_resamples(n_resamples)
    checked_floor = _check_floor(floor)
    a_vectors = _correct_vectors(a_correct_by_dataset, "a_correct_by_dataset")
    b_vectors = _correct_vectors(b_correct_by_dataset, "b_correct_by_dataset")
    check_same_keys(a_vectors, b_vectors, "a_correct_by_dataset and b_correct_by_dataset")
    datasets = list(a_vectors)
    counts = np.array([a_vectors[d].size for d in datasets], dtype=np.float64)
    w = _bootstrap_weights(datasets, counts, weights)
    rng = np.random.default_rng(seed)
    a_samples = np.empty((resamples, len(datasets)), dtype=np.float64)
    b_samples = np.empty_like(a_samples)
    a_observed = np.empty(len(datasets), dtype=np.float64)
    b_observed = np.empty_like(a_observed)
    for column, dataset in enumerate(datasets):
        a, b = a_vectors[dataset], b_vectors[dataset]
        if a.size != b.size:
            raise StatisticsError(
                f"dataset {dataset!r}: the two correctness vectors must cover the same images, "
                f"found lengths {a.size} and {b.size}"
            )
        n = a.size
        joint = np.array([np.sum(a & b), np.sum(a & ~b), np.sum(~a & b), np.sum(~a & ~b)], dtype=np.float64)
        draws = rng.multinomial(n, joint / n, size=resamples)
        a_samples[:, column] = (draws[:, 0] + draws[:, 1]) / n
        b_samples[:, column] = (draws[:, 0] + draws[:, 2]) / n
        a_observed[column] = (joint[0] + joint[1]) / n
        b_observed[column] = (joint[0] + joint[2]) / n
    total = w.sum()
    wa = _interval(float(np.dot(w, a_observed - b_observed) / total), (a_samples - b_samples) @ w / total, confidence)
    ga_obs, gb_obs = _geometric_mean_rows(np.vstack([a_observed, b_observed]), checked_floor)
    gm = _interval(
        float(ga_obs - gb_obs),
        _geometric_mean_rows(a_samples, checked_floor) - _geometric_mean_rows(b_samples, checked_floor),
        confidence,
    )
    return AggregateBootstrap(weighted_average=wa, geometric_mean=gm, n_resamples=resamples, confidence=confidence)
